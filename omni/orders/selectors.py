"""Reads of orders: lists and details at a fixed number of queries."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Count, Exists, F, Max, Min, OuterRef, Prefetch, QuerySet
from django.utils import timezone

from loyalty.parity import TILL_DRIFT, Difference
from omni import versions
from omni.catalog.models import Location
from omni.money import to_cents
from omni.orders.models import (
    Allocation,
    FulfilmentType,
    Order,
    OrderEvent,
    OrderEventType,
    OrderLine,
    OrderStatus,
)

PICKUP_FULFILMENTS = [FulfilmentType.CLICK_AND_COLLECT, FulfilmentType.SHIP_TO_STORE]


def number_of_sale(channel_id: int, external_id: str) -> str | None:
    """The number of the order a channel recorded under `external_id`, if any: one plain query, asked by every
    order that carries an external id (a till's receipt, a site's order id) before anything is written. Asked
    first in the order's `versions.one_read()` block, it carries the block's read of the version tokens."""
    rows = versions.read_with_tokens(
        f"SELECT number FROM {Order._meta.db_table} WHERE channel_id = %s AND external_id = %s",
        [channel_id, external_id],
    )
    return rows[0][0] if rows else None


def orders() -> QuerySet[Order]:
    """Orders with everything their API answer shows (six queries for any page)."""
    return Order.objects.select_related("channel", "location", "pickup_location").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("variant").prefetch_related(
                Prefetch("allocations", queryset=Allocation.objects.select_related("location"))
            ),
        ),
        "payments",
        "gift_cards_sold",
    )


def till_drift(channel: str | None = None) -> list[Difference]:
    """Lines a till or marketplace recorded at another price than Omni's for that channel (one query).

    Grouped by channel, SKU and Omni's price: how many lines, the prices charged
    and the last day it happened. Cancelled orders are left out.
    """
    lines = (
        OrderLine.objects.filter(omni_unit_price__isnull=False)
        .exclude(unit_price=F("omni_unit_price"))
        .exclude(order__status=OrderStatus.CANCELLED)
    )
    if channel:
        lines = lines.filter(order__channel__code=channel)
    rows = (
        lines.values("order__channel__code", "variant__sku", "omni_unit_price")
        .annotate(n=Count("pk"), low=Min("unit_price"), high=Max("unit_price"), last=Max("order__created_at"))
        .order_by("variant__sku", "order__channel__code", "omni_unit_price")
    )
    found = []
    for row in rows:
        code, sku, omni = row["order__channel__code"], row["variant__sku"], row["omni_unit_price"]
        # Min and Max of a decimal column come back without their cents on SQLite (27 for 27.00).
        low, high = to_cents(row["low"]), to_cents(row["high"])
        charged = str(low) if low == high else f"{low}–{high}"
        found.append(
            Difference(
                kind=TILL_DRIFT,
                subject=f"{sku} on {code}: charged {charged} instead of {omni}",
                channels=[code],
                detail=f"{row['n']} line(s) recorded at another price than Omni's {omni} on {code}, "
                f"the last on {timezone.localdate(row['last']).isoformat()}",
                rule=sku,
            )
        )
    return found


def _at(queryset: QuerySet[Order], store: Location | None) -> QuerySet[Order]:
    return queryset if store is None else queryset.filter(pickup_location=store)


def pickups_to_prepare(queryset: QuerySet[Order], store: Location | None) -> QuerySet[Order]:
    """Pick-up orders at `store` (None: any store) not yet ready: to take off the shelf, or on their way."""
    return _at(queryset, store).filter(
        fulfilment_type__in=PICKUP_FULFILMENTS,
        status__in=[OrderStatus.PLACED, OrderStatus.SHIPPED],
    )


def pickups_overdue(
    queryset: QuerySet[Order], store: Location | None, *, now: datetime | None = None
) -> QuerySet[Order]:
    """Pick-ups at `store` (None: any store) ready longer than PICKUP_OVERDUE_DAYS and not collected."""
    since = (now or timezone.now()) - timedelta(days=settings.PICKUP_OVERDUE_DAYS)
    ready_recently = OrderEvent.objects.filter(
        order=OuterRef("pk"), type=OrderEventType.READY_FOR_PICKUP, created_at__gt=since
    )
    return _at(queryset, store).filter(status=OrderStatus.READY_FOR_PICKUP).exclude(Exists(ready_recently))
