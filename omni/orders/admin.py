from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from customers.models import Customer, Message
from inventory.selectors import availability
from loyalty.pricing import LineIn, quote_basket
from omni.actor import Actor
from omni.admin import ReadOnlyAdmin
from omni.catalog.models import Channel
from omni.catalog.scoping import StoreScopedAdmin, location_of, locations_for
from omni.errors import DomainError
from omni.money import format_moment
from omni.orders import notices, selectors, services
from omni.orders.admin_basket import basket_urls
from omni.orders.admin_handover import handover_urls
from omni.orders.forms import EndlessAisleForm
from omni.orders.models import Allocation, Order, OrderEvent, OrderLine, Payment


class ReadOnlyInline(admin.TabularInline):
    """Lines and payments of an order are what was sold and paid: shown, never edited here."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return [field for field in self.get_fields(request, obj)]

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class OrderLineInline(ReadOnlyInline):
    model = OrderLine
    fields = ["variant", "quantity", "unit_price", "discount", "line_total"]


class PaymentInline(ReadOnlyInline):
    model = Payment
    fields = ["tender", "amount"]


class OrderEventInline(admin.TabularInline):
    model = OrderEvent
    extra = 0
    fields = ["created_at", "type", "from_status", "to_status", "user", "api_client"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class PickupTaskFilter(admin.SimpleListFilter):
    """The clerk's pick-up tasks at their store (any store for head office), as on the home page."""

    title = _("pick-up task")
    parameter_name = "pickup"

    def lookups(self, request, model_admin):
        return [("to_prepare", _("To prepare")), ("overdue", _("Overdue"))]

    def queryset(self, request, queryset):
        store = location_of(request.user)
        if self.value() == "to_prepare":
            return selectors.pickups_to_prepare(queryset, store)
        if self.value() == "overdue":
            return selectors.pickups_overdue(queryset, store)
        return queryset


class MessageInline(ReadOnlyInline):
    """The receipts and notices sent to the customer about this order, with how their sending went."""

    model = Message
    fields = ["created_at", "kind", "channel", "to", "status", "attempts", "sent_at", "last_error"]
    verbose_name_plural = _("messages to the customer")


@admin.register(Order)
class OrderAdmin(StoreScopedAdmin, admin.ModelAdmin):
    """Orders are read-only rows: they are placed by the endless aisle, the API and the imports, and
    moved on only by the actions below (and the hand-over page), which call the order services and
    write their events, stock and points movements."""

    store_lookups = ["location", "pickup_location"]
    actions = ["mark_ready_for_pickup", "mark_shipped", "mark_collected", "mark_cancelled"]

    # What a clerk reads first (who, what state, how much) on the left, the date written short: at
    # 1366 px the total was off screen behind the filters.
    list_display = [
        "number",
        "placed_at",
        "customer",
        "status",
        "total",
        "fulfilment_type",
        "channel",
        "location",
    ]
    list_filter = [
        PickupTaskFilter,
        "channel",
        "status",
        "fulfilment_type",
        "is_endless_aisle",
        "location",
        "created_at",
    ]
    search_fields = ["number", "external_id", "customer__email", "customer__last_name"]
    list_select_related = ["channel", "location", "customer"]
    autocomplete_fields = ["customer", "location", "pickup_location"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, PaymentInline, OrderEventInline, MessageInline]
    readonly_fields = ["receipt"]
    show_full_result_count = False
    change_list_template = "admin/orders/order/change_list.html"

    @admin.display(description=_("created"), ordering="created_at")
    def placed_at(self, obj: Order) -> str:
        return format_moment(obj.created_at)

    def has_add_permission(self, request):
        return False  # an order is placed through the endless aisle, with its lines and payments

    def has_change_permission(self, request, obj=None):
        return False  # no raw edits of totals or statuses: the actions move an order on

    def has_delete_permission(self, request, obj=None):
        return False

    def has_place_permission(self, request) -> bool:
        return request.user.has_perm("orders.add_order")

    def has_move_permission(self, request) -> bool:
        return request.user.has_perm("orders.change_order")

    def _apply_to_each(self, request, queryset, event: str) -> None:
        done, refused = 0, []
        for order in queryset.order_by("pk"):
            try:
                services.apply_event(order=order, event=event, actor=Actor.of(request.user))
            except DomainError as error:
                refused.append(f"{order.number}: {error.detail}")
            else:
                done += 1
        if done:
            self.message_user(request, _("%(n)d orders updated.") % {"n": done}, messages.SUCCESS)
        for line in refused:
            self.message_user(request, line, messages.ERROR)

    @admin.action(description=_("Mark ready for pick-up"), permissions=["move"])
    def mark_ready_for_pickup(self, request, queryset):
        self._apply_to_each(request, queryset, "ready_for_pickup")

    @admin.action(description=_("Mark shipped"), permissions=["move"])
    def mark_shipped(self, request, queryset):
        self._apply_to_each(request, queryset, "shipped")

    @admin.action(description=_("Mark collected"), permissions=["move"])
    def mark_collected(self, request, queryset):
        self._apply_to_each(request, queryset, "collected")

    @admin.action(description=_("Cancel (releases stock, takes back points)"), permissions=["move"])
    def mark_cancelled(self, request, queryset):
        self._apply_to_each(request, queryset, "cancelled")

    def get_urls(self):
        return [
            path("endless-aisle/", self.admin_site.admin_view(self.endless_aisle_view), name="orders_endless_aisle"),
            *handover_urls(self),
            *basket_urls(self),
            path("<int:pk>/receipt/", self.admin_site.admin_view(self.receipt_view), name="orders_order_receipt"),
            *super().get_urls(),
        ]

    @admin.display(description=_("receipt"))
    def receipt(self, obj: Order):
        url = reverse("admin:orders_order_receipt", args=[obj.pk])
        return format_html('<a href="{}" target="_blank" id="print-receipt">{}</a>', url, _("Print the receipt"))

    def receipt_view(self, request, pk: int):
        """The order's receipt as a page to print (print CSS: the buttons are left off the paper)."""
        order = get_object_or_404(self.get_queryset(request).select_related("channel", "location", "customer"), pk=pk)
        if not self.has_view_permission(request, order):
            raise PermissionDenied
        context = {
            **notices.receipt_context(order),
            "title": _("Receipt %(number)s") % {"number": order.number},
            "back_url": reverse("admin:orders_order_change", args=[order.pk]),
        }
        return TemplateResponse(request, "receipts/order.html", context)

    def endless_aisle_view(self, request):
        """Check where the network has an item, then place the order for the customer, in one form."""
        if not self.has_place_permission(request):
            raise PermissionDenied
        initial = {"customer": request.GET.get("customer"), "sku": request.GET.get("sku")}
        own = location_of(request.user)
        if own is not None:
            initial["store"] = own.pk
        form = EndlessAisleForm(request.POST or None, initial=initial)
        form.fields["store"].queryset = locations_for(request.user).filter(kind="store")
        found, quote = None, None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            store = data["store"]
            channel = Channel.objects.get(code="store")
            near = (float(store.latitude), float(store.longitude))
            found = next(iter(availability([data["sku"]], channel.code, near=near, location=store)), None)
            customer = Customer.objects.filter(pk=data["customer"]).first() if data["customer"] else None
            try:
                quote = quote_basket(channel=channel, lines=[LineIn(data["sku"], data["quantity"])])
                if "place" in request.POST:
                    pickup = store if data["fulfilment"] != "ship_to_home" else None
                    order = services.record_order(
                        channel=channel,
                        location=store,
                        customer=customer,
                        lines=[LineIn(data["sku"], data["quantity"])],
                        fulfilment=services.FulfilmentIn(
                            type=data["fulfilment"], pickup_location=pickup, address=form.address_dict()
                        ),
                        payments=[services.PaymentIn(tender=data["tender"], amount=quote.total)],
                        actor=Actor.of(request.user),
                    )
                    messages.success(request, _("Order %(number)s placed.") % {"number": order.number})
                    return redirect(reverse("admin:orders_order_change", args=[order.pk]))
            except DomainError as error:
                form.add_error(None, error.detail)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Endless aisle: order from the network"),
            "opts": self.model._meta,
            "form": form,
            "found": found,
            "quote": quote,
        }
        return render(request, "admin/orders/endless_aisle.html", context)


@admin.register(Allocation)
class AllocationAdmin(StoreScopedAdmin, ReadOnlyAdmin):
    """Where an order line's units come from: written by the order services only."""

    store_lookups = ["location"]

    list_display = ["line", "location", "quantity"]
    list_select_related = ["line", "line__order", "location"]
    raw_id_fields = ["line"]


from omni.orders import admin_receipts  # noqa: E402,F401  (the receipt import pages)
