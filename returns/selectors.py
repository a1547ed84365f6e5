"""Reads of returns: the API's lists, the clerk's view of an order, and the return figures.

Figures count received returns on the Rome day they were received; the rates
divide returned units by the units sold (orders not cancelled) created in the
same period. "Online" is every channel but the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from omni.catalog.models import ChannelCode, LocationKind
from omni.money import summed_cents
from omni.orders.models import Order, OrderLine, OrderStatus
from returns.models import OPEN_OR_RECEIVED, Refund, Return, ReturnLine, ReturnStatus
from returns.reference import reason_label


def returns() -> QuerySet[Return]:
    """Returns with everything their API answer shows (four queries for any page)."""
    return Return.objects.select_related("order", "order__channel", "location", "exchange_order").prefetch_related(
        "exchange_order__payments",
        Prefetch("lines", queryset=ReturnLine.objects.select_related("variant", "reason")),
        Prefetch("refunds", queryset=Refund.objects.order_by("pk")),
    )


@dataclass(frozen=True)
class ReturnableLine:
    """An order line as the clerk sees it: bought, already returned, still returnable."""

    line: OrderLine
    sku: str
    product: str
    bought: int
    returned: int

    @property
    def returnable(self) -> int:
        return max(self.bought - self.returned, 0)


def returnable_lines(order: Order) -> list[ReturnableLine]:
    """The lines of an order with what requested and received returns already took (two queries)."""
    lines = list(order.lines.select_related("variant", "variant__product").order_by("pk"))
    counted = dict(
        ReturnLine.objects.filter(order_line__order=order, ret__status__in=OPEN_OR_RECEIVED)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
        .values_list("order_line_id", "units")
    )
    return [
        ReturnableLine(
            line=line,
            sku=line.variant.sku,
            product=line.variant.product.name,
            bought=line.quantity,
            returned=counted.get(line.pk) or 0,
        )
        for line in lines
    ]


# --- Figures ---------------------------------------------------------------------------------------------------------


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """[start 00:00, the day after end 00:00) in Rome time."""
    zone = timezone.get_current_timezone()
    low = timezone.make_aware(datetime.combine(start, time.min), zone)
    high = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min), zone)
    return low, high


def received_between(start: date, end: date, location: int | None = None) -> QuerySet[Return]:
    """Returns received in the days; with `location`, only those received there."""
    low, high = _bounds(start, end)
    rows = Return.objects.filter(status=ReturnStatus.RECEIVED, received_at__gte=low, received_at__lt=high)
    return rows if location is None else rows.filter(location_id=location)


def daily_return_figures(start: date, end: date) -> list[dict[str, Any]]:
    """Received returns per Rome day, order channel, receiving location and selling store (one query).

    Rows: day, channel_id, location_id, order_location_id, returns, units,
    amount (the returned value: money refunded plus the points' value).
    """
    rows = (
        received_between(start, end)
        .annotate(day=TruncDate("received_at", tzinfo=ZoneInfo(settings.TIME_ZONE)))
        .values("day", "order__channel_id", "location_id", "order__location_id")
        .annotate(returns=Count("pk"), units=Sum("units"), amount=Sum("returned_value"))
        .order_by("day", "order__channel_id", "location_id", "order__location_id")
    )
    return [
        {
            "day": row["day"],
            "channel_id": row["order__channel_id"],
            "location_id": row["location_id"],
            "order_location_id": row["order__location_id"],
            "returns": row["returns"],
            "units": row["units"] or 0,
            "amount": summed_cents(row["amount"]),
        }
        for row in rows
    ]


@dataclass(frozen=True)
class RateRow:
    key: str
    label: str
    sold: int
    returned: int
    returns: int
    amount: Decimal

    @property
    def rate(self) -> Decimal | None:
        """Returned units per unit sold, as a percentage with one decimal; None when nothing was sold."""
        if not self.sold:
            return None
        return (Decimal(self.returned) * 100 / self.sold).quantize(Decimal("0.1"))


def _sold_lines(start: date, end: date, location: int | None = None) -> QuerySet[OrderLine]:
    """Lines sold in the days; with `location`, those sold by that store."""
    low, high = _bounds(start, end)
    lines = OrderLine.objects.filter(order__created_at__gte=low, order__created_at__lt=high).exclude(
        order__status=OrderStatus.CANCELLED
    )
    return lines if location is None else lines.filter(order__location_id=location)


def _returned_lines(start: date, end: date, location: int | None = None) -> QuerySet[ReturnLine]:
    """Lines returned in the days; with `location`, those received there."""
    low, high = _bounds(start, end)
    lines = ReturnLine.objects.filter(
        ret__status=ReturnStatus.RECEIVED, ret__received_at__gte=low, ret__received_at__lt=high, quantity__gt=0
    )
    return lines if location is None else lines.filter(ret__location_id=location)


def _rates(sold: dict[Any, int], returned: dict[Any, dict[str, Any]], labels: dict[Any, str]) -> list[RateRow]:
    keys = sorted(set(sold) | set(returned), key=lambda k: labels.get(k, str(k)))
    return [
        RateRow(
            key=str(key),
            label=labels.get(key, str(key)),
            sold=sold.get(key, 0),
            returned=returned.get(key, {}).get("units") or 0,
            returns=returned.get(key, {}).get("returns") or 0,
            amount=summed_cents(returned.get(key, {}).get("amount")),
        )
        for key in keys
    ]


def return_rate_by_channel(start: date, end: date, *, location: int | None = None) -> list[RateRow]:
    """Per order channel: units sold, units returned (wherever received), the rate (two queries)."""
    sold = dict(
        _sold_lines(start, end, location)
        .values("order__channel__code")
        .annotate(n=Sum("quantity"))
        .values_list("order__channel__code", "n")
    )
    returned = {
        row["ret__order__channel__code"]: row
        for row in _returned_lines(start, end, location)
        .values("ret__order__channel__code")
        .annotate(units=Sum("quantity"), returns=Count("ret", distinct=True), amount=Sum("returned_value"))
    }
    return _rates(sold, returned, {code: str(label) for code, label in ChannelCode.choices})


def return_rate_by_product(start: date, end: date, *, limit: int = 50, location: int | None = None) -> list[RateRow]:
    """Per product: units sold and returned, the most returned first (two queries)."""
    returned = {
        row["variant__product__code"]: row
        for row in _returned_lines(start, end, location)
        .values("variant__product__code", "variant__product__name")
        .annotate(units=Sum("quantity"), returns=Count("ret", distinct=True), amount=Sum("returned_value"))
        .order_by("-units")[:limit]
    }
    sold = dict(
        _sold_lines(start, end, location)
        .filter(variant__product__code__in=list(returned))
        .values("variant__product__code")
        .annotate(n=Sum("quantity"))
        .values_list("variant__product__code", "n")
    )
    labels = {code: f"{code} · {row['variant__product__name']}" for code, row in returned.items()}
    rows = _rates(sold, returned, labels)
    return sorted(rows, key=lambda r: -r.returned)


def returns_by_reason(start: date, end: date, *, location: int | None = None) -> list[RateRow]:
    """Per reason: returned units and their share of all returned units (in `sold`, the total; one query)."""
    rows = list(
        _returned_lines(start, end, location)
        .values("reason__code", "reason__label")
        .annotate(units=Sum("quantity"), returns=Count("ret", distinct=True), amount=Sum("returned_value"))
        .order_by("-units", "reason__code")
    )
    total = sum(row["units"] or 0 for row in rows)
    return [
        RateRow(
            key=row["reason__code"],
            label=reason_label(row["reason__code"], row["reason__label"]),
            sold=total,
            returned=row["units"] or 0,
            returns=row["returns"],
            amount=summed_cents(row["amount"]),
        )
        for row in rows
    ]


def return_rate_by_store(start: date, end: date, *, location: int | None = None) -> list[RateRow]:
    """Per receiving location: returns taken back there, against the units that store sold (two queries)."""
    returned = {
        row["location__code"]: {**row, "units": row["units"], "returns": row["returns"]}
        for row in received_between(start, end, location)
        .values("location__code", "location__name")
        .annotate(units=Sum("units"), returns=Count("pk"), amount=Sum("returned_value"))
    }
    sold = dict(
        _sold_lines(start, end, location)
        .filter(order__location__isnull=False)
        .values("order__location__code")
        .annotate(n=Sum("quantity"))
        .values_list("order__location__code", "n")
    )
    labels = {code: f"{code} · {row['location__name']}" for code, row in returned.items()}
    return _rates(sold, returned, labels)


@dataclass(frozen=True)
class OnlineReturnedInStore:
    online_returns: int
    in_store: int

    @property
    def share(self) -> Decimal | None:
        """Percentage of the online orders' returns that were taken back in a store."""
        if not self.online_returns:
            return None
        return (Decimal(self.in_store) * 100 / self.online_returns).quantize(Decimal("0.1"))


def online_returned_in_store(start: date, end: date, *, location: int | None = None) -> OnlineReturnedInStore:
    """Of the received returns of online orders, how many came back through a store (one query)."""
    figures = (
        received_between(start, end, location)
        .exclude(order__channel__code=ChannelCode.STORE)
        .aggregate(
            online=Count("pk"),
            in_store=Count("pk", filter=Q(location__kind=LocationKind.STORE)),
        )
    )
    return OnlineReturnedInStore(online_returns=figures["online"] or 0, in_store=figures["in_store"] or 0)
