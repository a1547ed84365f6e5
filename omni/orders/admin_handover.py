"""The click & collect hand-over page: today's pick-ups at my store, mark ready, mark collected.

One page per pick-up store, in three groups: orders to prepare, orders
ready and waiting for the customer, orders collected today. Each button
posts one event through `apply_event`, the same service the API calls;
a clerk sees and moves only the orders of their own store, whatever id
is posted.
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from customers.models import Customer, Identifier, IdentifierKind
from customers.selectors import search_filter
from omni.actor import Actor
from omni.catalog.models import Location, LocationKind
from omni.catalog.scoping import location_of, locations_for
from omni.errors import DomainError
from omni.orders import services
from omni.orders.models import FulfilmentType, Order, OrderEvent, OrderEventType, OrderLine, OrderStatus

PICKUP_FULFILMENTS = [FulfilmentType.CLICK_AND_COLLECT, FulfilmentType.SHIP_TO_STORE]
HANDOVER_EVENTS = {OrderEventType.READY_FOR_PICKUP, OrderEventType.COLLECTED}
TITLE = gettext_lazy("Click & collect hand-over")


def handover_urls(model_admin) -> list:
    """The page's URL, to be listed in the order admin's `get_urls`."""

    def view(request: HttpRequest) -> HttpResponse:
        return handover_view(model_admin, request)

    return [path("handover/", model_admin.admin_site.admin_view(view), name="orders_handover")]


def pickup_stores(user) -> QuerySet[Location]:
    """The stores whose pick-ups this user may hand over: their own, or every store for head office."""
    return locations_for(user).filter(kind=LocationKind.STORE)


OPEN_PICKUP_STATUSES = [OrderStatus.PLACED, OrderStatus.SHIPPED, OrderStatus.READY_FOR_PICKUP]


def count_open_pickups(stores: list[Location]) -> None:
    """Set `open_pickups` on each store: its pick-ups not yet collected (one query, for the store selector)."""
    counts = dict(
        Order.objects.filter(
            pickup_location__in=stores, fulfilment_type__in=PICKUP_FULFILMENTS, status__in=OPEN_PICKUP_STATUSES
        )
        .values("pickup_location")
        .annotate(n=Count("pk"))
        .values_list("pickup_location", "n")
    )
    for store in stores:
        store.open_pickups = counts.get(store.pk, 0)


def chosen_store(request: HttpRequest, stores: list[Location]) -> Location | None:
    """The store asked for in `?store=`, else the user's own, else the first with pick-ups waiting (counted by
    `count_open_pickups`: head office lands where there is work), else the first one they may see."""
    wanted = request.POST.get("store") or request.GET.get("store")
    by_pk = {str(store.pk): store for store in stores}
    if wanted in by_pk:
        return by_pk[wanted]
    own = location_of(request.user)
    if own is not None and str(own.pk) in by_pk:
        return by_pk[str(own.pk)]
    waiting = [store for store in stores if getattr(store, "open_pickups", 0)]
    return (waiting or stores or [None])[0]


def event_time(event: str) -> Subquery:
    """When the order last had `event`, as a column (one subquery, no extra round trip)."""
    latest = OrderEvent.objects.filter(order=OuterRef("pk"), type=event).order_by("-created_at", "-pk")
    return Subquery(latest.values("created_at")[:1])


def pickups_at(store: Location, term: str = "") -> QuerySet[Order]:
    """Pick-up orders at `store` with what the page shows, in a fixed number of queries."""
    orders = (
        Order.objects.filter(pickup_location=store, fulfilment_type__in=PICKUP_FULFILMENTS)
        .select_related("customer")
        .annotate(
            ready_at=event_time(OrderEventType.READY_FOR_PICKUP),
            collected_at=event_time(OrderEventType.COLLECTED),
        )
        .prefetch_related(
            Prefetch("lines", queryset=OrderLine.objects.select_related("variant__product").order_by("pk")),
            "payments",
            Prefetch(
                "customer__identifiers",
                queryset=Identifier.objects.filter(kind=IdentifierKind.CARD).order_by("pk"),
                to_attr="cards",
            ),
        )
    )
    term = term.strip()
    if term:
        customers = Customer.objects.filter(search_filter(term)).values("pk")
        orders = orders.filter(Q(number__iexact=term) | Q(external_id=term) | Q(customer__in=customers))
    return orders


def handover_groups(store: Location, term: str = "") -> dict[str, list[Order]]:
    """To prepare (oldest first), ready for pick-up (longest wait first), collected today (latest first)."""
    start_of_day = timezone.make_aware(datetime.combine(timezone.localdate(), time.min))
    orders = list(
        pickups_at(store, term)
        .filter(Q(status__in=OPEN_PICKUP_STATUSES) | Q(status=OrderStatus.COLLECTED, collected_at__gte=start_of_day))
        .order_by("created_at", "pk")
    )
    groups: dict[str, list[Order]] = {
        "to_prepare": [order for order in orders if order.status in (OrderStatus.PLACED, OrderStatus.SHIPPED)],
        "ready": sorted(
            (order for order in orders if order.status == OrderStatus.READY_FOR_PICKUP),
            key=lambda order: order.ready_at or order.created_at,
        ),
        "collected": sorted(
            (order for order in orders if order.status == OrderStatus.COLLECTED),
            key=lambda order: order.collected_at,
            reverse=True,
        ),
    }
    now = timezone.now()
    for order in orders:
        order.paid = sum((payment.amount for payment in order.payments.all()), Decimal("0.00"))
        order.card = order.customer.cards[0].value if order.customer is not None and order.customer.cards else ""
        order.waiting = now - order.ready_at if order.ready_at else None
        allowed = services.allowed_events(order)
        order.can_mark_ready = OrderEventType.READY_FOR_PICKUP in allowed
        order.can_mark_collected = OrderEventType.COLLECTED in allowed
        # A ship-to-store order not yet shipped is still on its way from the warehouse.
        order.is_on_its_way = (
            order.status == OrderStatus.PLACED and order.fulfilment_type == FulfilmentType.SHIP_TO_STORE
        )
    return groups


def handover_view(model_admin, request: HttpRequest) -> HttpResponse:
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    stores = list(pickup_stores(request.user))
    if len(stores) > 1 and request.method != "POST":  # the selector shows what waits at each store
        count_open_pickups(stores)
    store = chosen_store(request, stores)
    if request.method == "POST":
        return _apply(model_admin, request, store)
    term = request.GET.get("q", "").strip()[:100]
    context = {
        **model_admin.admin_site.each_context(request),
        "title": TITLE,
        "opts": model_admin.model._meta,
        "stores": stores,
        "store": store,
        "term": term,
        "can_change": model_admin.has_move_permission(request),
        "groups": handover_groups(store, term) if store is not None else None,
    }
    return render(request, "admin/orders/handover.html", context)


def _apply(model_admin, request: HttpRequest, store: Location | None) -> HttpResponse:
    """Mark one order ready or collected; only an order picked up at a store the user may act for."""
    if not model_admin.has_move_permission(request):
        raise PermissionDenied
    event = request.POST.get("event", "")
    order_id = request.POST.get("order", "")
    if store is None or event not in HANDOVER_EVENTS or not order_id.isdigit():
        raise Http404
    order = Order.objects.filter(
        pk=int(order_id), pickup_location=store, fulfilment_type__in=PICKUP_FULFILMENTS
    ).first()
    if order is None:
        raise Http404
    try:
        services.apply_event(order=order, event=event, actor=Actor.of(request.user))
    except DomainError as error:
        messages.error(
            request,
            _("Order %(number)s was not changed: %(reason)s") % {"number": order.number, "reason": error.detail},
        )
    else:
        if event == OrderEventType.READY_FOR_PICKUP:
            text = _("Order %(number)s is ready for pick-up: the customer can come and collect it.")
        else:
            text = _("Order %(number)s handed over to the customer.")
        messages.success(request, text % {"number": order.number})
    query = {"store": store.pk}
    if request.POST.get("q"):
        query["q"] = request.POST["q"][:100]
    return redirect(f"{reverse('admin:orders_handover')}?{urlencode(query)}")
