"""The counter basket page: several lines, each taken now or shipped, one customer, split tenders.

"Check" prices the basket and shows each line's stock here and in the
network before any address is typed; "Sell" records it through
`counter.sell_basket` (one order per way of delivery, all in one
transaction). The page needs what creating an order through the API needs
for a session (orders.add_order), and acts at the clerk's store only.
"""

from __future__ import annotations

from decimal import Decimal

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer
from customers.selectors import search_filter
from inventory.selectors import availability
from loyalty import gift_cards
from loyalty.enrolment import ENROL_PERMISSIONS
from loyalty.models import LoyaltyAccount, StoreCreditBalance
from omni.actor import Actor
from omni.api.permissions import principal_may, rule
from omni.catalog.models import ChannelCode, LocationKind
from omni.catalog.scoping import check_location, location_of, locations_for
from omni.errors import DomainError
from omni.orders import counter
from omni.orders.forms import BASKET_DELIVERIES, BasketForm, BasketLineFormSet

TITLE = gettext_lazy("Counter basket: sell here and from the network")
# The same rule as creating an order through the API with a session.
SELL = rule("orders", "orders.add_order")
MAX_FOUND = 10


def basket_urls(model_admin) -> list:
    def view(request: HttpRequest) -> HttpResponse:
        return basket_view(model_admin, request)

    return [path("basket/", model_admin.admin_site.admin_view(view), name="orders_counter_basket")]


def _money(value) -> Decimal:
    return value if value is not None else Decimal("0.00")


def basket_view(model_admin, request: HttpRequest) -> HttpResponse:
    if not principal_may(request.user, SELL):
        raise PermissionDenied
    stores = locations_for(request.user).filter(kind=LocationKind.STORE)
    own = location_of(request.user)
    data = request.POST.copy() if request.method == "POST" else None
    if data is not None and data.get("pick"):
        data["customer"] = data["pick"]  # a customer picked from the search results
    if data is not None and "forget" in data:
        data["customer"] = ""
    form = BasketForm(data, stores=stores, initial={"store": own.pk if own else None})
    lines = BasketLineFormSet(data, prefix="line")
    context = {"found_customers": [], "rows": [], "parts": [], "due": None, "gift_card_balance": None}
    if data is not None and form.is_valid() and lines.is_valid():
        cleaned = form.cleaned_data
        store = cleaned["store"]
        try:
            check_location(request.user, store)
        except DomainError as error:
            raise PermissionDenied(error.detail) from error
        customer = cleaned["customer"]
        if cleaned["find"] and customer is None:
            context["found_customers"] = list(
                Customer.objects.filter(
                    search_filter(cleaned["find"]), merged_into__isnull=True, erased_at__isnull=True
                )
                .distinct()
                .order_by("last_name", "first_name", "pk")[:MAX_FOUND]
            )
            if not context["found_customers"]:
                messages.warning(request, _("Nobody found: enrol the customer below, or sell to a walk-in customer."))
        basket_lines = [
            counter.BasketLine(sku=row["sku"], quantity=row.get("quantity") or 1, delivery=row["delivery"])
            for row in lines.cleaned_data
            if row.get("sku")
        ]
        sold_cards = [cleaned["sell_gift_card"]] if cleaned["sell_gift_card"] else []
        tenders = counter.Tenders(
            points=cleaned["points"] or 0,
            store_credit=_money(cleaned["store_credit"]),
            gift_cards=[(cleaned["gift_card_code"], cleaned["gift_card"])] if cleaned["gift_card"] else [],
            card=_money(cleaned["paid_card"]),
            cash=_money(cleaned["paid_cash"]),
        )
        context.update(_preview(store, basket_lines, sold_cards, customer, cleaned["gift_card_code"]))
        if "sell" in data and not context.get("preview_error"):
            new_customer = None
            if cleaned["enrol"]:
                if not request.user.has_perms(ENROL_PERMISSIONS):
                    raise PermissionDenied
                new_customer = counter.NewCustomer(
                    first_name=cleaned["first_name"],
                    last_name=cleaned["last_name"],
                    card=cleaned["card"],
                    email=cleaned["email"],
                    phone=cleaned["phone"],
                    consents=form.consents(),
                    wording=form.wording(),
                )
            try:
                sale = counter.sell_basket(
                    store=store,
                    lines=basket_lines,
                    tenders=tenders,
                    customer=customer,
                    new_customer=new_customer,
                    address=form.address(),
                    gift_cards=sold_cards,
                    actor=Actor.of(request.user),
                )
            except DomainError as error:
                form.add_error(None, _describe(error))
            else:
                numbers = ", ".join(order.number for order in sale.orders)
                messages.success(request, _("Basket sold: orders %(numbers)s.") % {"numbers": numbers})
                for order in sale.orders:
                    for card in order.gift_cards_sold.all():
                        messages.info(
                            request,
                            _("Gift card %(code)s loaded with %(amount)s.")
                            % {"code": gift_cards.printed(card.code), "amount": card.initial_amount},
                        )
                first = sale.orders[0]
                return redirect(
                    f"{reverse('admin:orders_order_changelist')}?q={sale.reference}"
                    if len(sale.orders) > 1
                    else reverse("admin:orders_order_change", args=[first.pk])
                )
    context.update(
        {
            **model_admin.admin_site.each_context(request),
            "title": TITLE,
            "opts": model_admin.model._meta,
            "form": form,
            "lines": lines,
            "may_enrol": request.user.has_perms(ENROL_PERMISSIONS),
        }
    )
    return render(request, "admin/orders/basket.html", context)


def _describe(error: DomainError) -> str:
    """The service's message, with the field messages it names (the clerk reads them all)."""
    fields = error.extra.get("errors") or {}
    details = [f"{', '.join(str(m) for m in messages_)}" for messages_ in fields.values()]
    return " ".join([error.detail, *details]) if details else error.detail


def _preview(store, basket_lines, sold_cards, customer: Customer | None, gift_card_code: str) -> dict:
    """Each line's stock here and in the network, the parts and their totals, the customer's balances.

    One availability statement for every SKU of the basket, whatever the number of lines.
    """
    near = (float(store.latitude), float(store.longitude)) if store.latitude is not None else None
    found = {
        entry.sku: entry
        for entry in availability([line.sku for line in basket_lines], ChannelCode.STORE, near=near, location=store)
    }
    rows = []
    for line in basket_lines:
        entry = found.get(line.sku)
        here = next((place.available for place in entry.locations if place.code == store.code), 0) if entry else 0
        rows.append(
            {
                "line": line,
                "product": entry.product if entry else "",
                "here": here,
                "network": entry.network_available if entry else 0,
                "short_here": line.delivery == "carry_out" and here < line.quantity,
            }
        )
    result: dict = {"rows": rows, "customer_chosen": customer}
    account = LoyaltyAccount.objects.filter(customer=customer).first() if customer is not None else None
    if customer is not None:
        result["points_balance"] = account.balance if account is not None else 0
        credit = StoreCreditBalance.objects.filter(customer=customer).values_list("balance", flat=True).first()
        result["store_credit_balance"] = credit or Decimal("0.00")
    if gift_card_code:
        card = gift_cards.card_by_code(gift_card_code)
        result["gift_card_balance"] = card.balance if card is not None else None
        result["gift_card_unknown"] = card is None
    if not basket_lines and not sold_cards:
        return result
    try:
        priced = counter.price(lines=basket_lines, gift_cards=sold_cards, account=account)
    except DomainError as error:
        result["preview_error"] = _describe(error)
        return result
    labels = dict(BASKET_DELIVERIES)
    result["parts"] = [{"label": labels[part.delivery], "part": part} for part in priced.parts]
    result["due"] = priced.total
    return result
