"""The KPI endpoint reads rollups: compared with reading the rollup rows by raw SQL (the floor) and with the
naive aggregation over the raw orders that the rollups replace (what the cost would be without them)."""

from __future__ import annotations

import time
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth

from bench.client import api_client
from bench.harness import Result, measure, timed_result
from kpis import services
from kpis.models import RollupDay
from omni.orders.models import Order, OrderLine

ROME = ZoneInfo("Europe/Rome")


def ensure_rollups() -> tuple[date, date, float | None]:
    """The demo year rolled up once (as `make demo` does with rebuild_kpis); seconds it took, if it ran."""
    bounds = Order.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    first, last = bounds["first"].astimezone(ROME).date(), bounds["last"].astimezone(ROME).date()
    if RollupDay.objects.filter(day=last).exists():
        return first, last, None
    began = time.perf_counter()
    services.rebuild(start=first, end=last)
    return first, last, time.perf_counter() - began


def floor_sql(start: date, end: date) -> None:
    """The rollup rows summed per day in one plain SQL statement: what the endpoint cannot beat."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT day, SUM(orders), SUM(revenue), SUM(units), SUM(identified_orders), SUM(sessions), "
            "SUM(click_and_collect_orders), SUM(endless_aisle_revenue), SUM(points_issued), SUM(returned_units) "
            "FROM kpis_dailyfigures WHERE day >= %s AND day <= %s GROUP BY day",
            [start, end],
        )
        cursor.fetchall()
        cursor.execute(
            "SELECT day, COUNT(DISTINCT customer_id) FROM kpis_buyerday WHERE day >= %s AND day <= %s GROUP BY day",
            [start, end],
        )
        cursor.fetchall()


def naive(start: date, end: date, monthly: bool) -> None:
    """The same figures straight from orders and lines, as a report without rollups would compute them."""
    from datetime import datetime
    from datetime import time as clock

    low = datetime.combine(start, clock.min, ROME)
    high = datetime.combine(end + timedelta(days=1), clock.min, ROME)
    period = TruncMonth("created_at", tzinfo=ROME) if monthly else TruncDate("created_at", tzinfo=ROME)
    live = Order.objects.filter(created_at__gte=low, created_at__lt=high).exclude(status="cancelled").order_by()
    list(
        live.annotate(p=period)
        .values("p")
        .annotate(
            n=Count("pk"),
            amount=Sum("total"),
            identified=Count("pk", filter=Q(customer__isnull=False)),
            buyers=Count("customer", distinct=True),
            collect=Count("pk", filter=Q(fulfilment_type="click_and_collect")),
            aisle=Sum("total", filter=Q(is_endless_aisle=True)),
        )
    )
    line_period = (
        TruncMonth("order__created_at", tzinfo=ROME) if monthly else TruncDate("order__created_at", tzinfo=ROME)
    )
    list(
        OrderLine.objects.filter(order__in=live.values("pk"))
        .annotate(p=line_period)
        .values("p")
        .annotate(units=Sum("quantity"))
        .order_by()
    )


def run(*, repeat: int, smoke: bool) -> list[Result]:
    if not Order.objects.exists():
        return []
    first, last, rebuild_seconds = ensure_rollups()
    client = api_client()
    month_end = last.replace(day=1) - timedelta(days=1)
    month_start = max(first, month_end.replace(day=1))
    year_start = max(first, last - timedelta(days=364))

    def endpoint(start: date, end: date, granularity: str):
        def call():
            response = client.get(
                "/api/v1/kpis/", {"from": start.isoformat(), "to": end.isoformat(), "granularity": granularity}
            )
            assert response.status_code == 200, response.content

        return call

    notes = f"rollups of {first}..{last}"
    if rebuild_seconds is not None:
        notes += f", rebuilt in {rebuild_seconds:.1f} s"
    month_api = measure(endpoint(month_start, month_end, "day"), repeat=repeat)
    month_floor = measure(lambda: floor_sql(month_start, month_end), repeat=repeat)
    year_api = measure(endpoint(year_start, last, "month"), repeat=repeat)
    year_naive = measure(lambda: naive(year_start, last, monthly=True), repeat=max(3, repeat // 5))
    return [
        timed_result(
            "kpis endpoint, last month by day (API)",
            month_api,
            month_floor,
            "raw SQL over the same rollup rows",
            target="a few ms over the floor (HTTP, auth, serialisation)",
            notes=notes,
        ),
        timed_result(
            "naive aggregation over raw orders, a year by month",
            year_naive,
            year_api,
            "kpis endpoint, the same year by month (API)",
            target="ratio grows with the history; the endpoint stays flat",
            notes=notes,
        ),
    ]
