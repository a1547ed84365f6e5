"""Reads of orders: lists and details at a fixed number of queries."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from omni.orders.models import Allocation, Order, OrderLine


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
