"""Reads of orders: lists and details at a fixed number of queries."""

from __future__ import annotations

from django.db.models import Count, F, Max, Min, Prefetch, QuerySet
from django.utils import timezone

from loyalty.parity import TILL_DRIFT, Difference
from omni.orders.models import Allocation, Order, OrderLine, OrderStatus


def orders() -> QuerySet[Order]:
    """Orders with everything their API answer shows (five queries for any page)."""
    return Order.objects.select_related("channel", "location", "pickup_location").prefetch_related(
        Prefetch(
            "lines",
            queryset=OrderLine.objects.select_related("variant").prefetch_related(
                Prefetch("allocations", queryset=Allocation.objects.select_related("location"))
            ),
        ),
        "payments",
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
        charged = str(row["low"]) if row["low"] == row["high"] else f"{row['low']}–{row['high']}"
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
