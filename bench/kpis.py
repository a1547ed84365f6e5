"""The KPI endpoint reads rollups: compared with reading the rollup rows by raw SQL (the floor) and with the
naive aggregation over the raw orders that the rollups replace (what the cost would be without them)."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncDate, TruncMonth

from bench.client import api_client
from bench.harness import Result, measure, measure_pair, timed_result
from kpis import services
from kpis.models import RollupDay
from kpis.rollups import period_end, period_start
from kpis.selectors import periods
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


def read_kpis(client, start: date, end: date, granularity: str) -> dict:
    """The KPI endpoint's answer for a range, through the API client; anything but 200 fails the run."""
    response = client.get(
        "/api/v1/kpis/", {"from": start.isoformat(), "to": end.isoformat(), "granularity": granularity}
    )
    assert response.status_code == 200, response.content
    return response.json()


def endpoint(client, start: date, end: date, granularity: str) -> Callable[[], None]:
    """One read of the KPI endpoint over a range, as a call to time."""
    return lambda: read_kpis(client, start, end, granularity)


def floor_sql(start: date, end: date, monthly: bool = False) -> None:
    """The rows the endpoint reads, read in plain SQL statements: what the endpoint cannot beat.

    The additive figures summed per period; the distinct counts of the whole
    periods already counted (`kpis_periodcount`); the whole range, when it is
    not one period, from each visitor's and buyer's last day
    (`kpis_lastseen`) if it ends on or after the last day rolled up; the
    others counted from the buyer and visitor rows (distinct values by GROUP
    BY, which PostgreSQL hashes).
    """
    pg = connection.vendor == "postgresql"
    period = "day"
    if monthly:
        period = "date_trunc('month', day)::date" if pg else "strftime('%%Y-%%m-01', day)"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {period}, SUM(orders), SUM(revenue), SUM(units), SUM(identified_orders), SUM(sessions), "
            "SUM(click_and_collect_orders), SUM(endless_aisle_revenue), SUM(points_issued), SUM(returned_units) "
            f"FROM kpis_dailyfigures WHERE day >= %s AND day <= %s GROUP BY {period}",
            [start, end],
        )
        cursor.fetchall()
        if not pg:
            return  # the smoke run on SQLite: counts nothing ahead
        grain = "month" if monthly else "day"
        spans = [
            (first, last)
            for first, last in periods(start, end, grain)
            if first == period_start(first, grain) and last == period_end(first, grain)
        ]
        whole = next(
            (g for g in ("day", "week", "month") if end == period_end(start, g) and start == period_start(start, g)),
            None,
        )
        cursor.execute(
            "SELECT granularity, start, visitors, buyers, omnichannel_buyers FROM kpis_periodcount "
            "WHERE channel_id IS NULL AND location_id IS NULL AND ((granularity = %s AND start = ANY(%s)) "
            "OR (granularity = %s AND start = %s))",
            [grain, [first for first, _ in spans], whole or "", start],
        )
        counted = {(g, first) for g, first, *_ in cursor.fetchall()}
        live = [(first, last) for first, last in periods(start, end, grain) if (grain, first) not in counted]
        # A range ending on or after the last day rolled up counts its whole from each one's last day (LastSeen).
        whole_seen = set()
        if (whole, start) not in counted:
            cursor.execute(
                "SELECT (SELECT MAX(day) FROM kpis_visitorday), (SELECT MAX(day) FROM kpis_buyerday), "
                "(SELECT COUNT(*) FROM kpis_lastseen WHERE kind = 'v' AND channel_id IS NULL AND location_id IS NULL "
                "AND last_day >= %s), (SELECT COUNT(*) FROM kpis_lastseen WHERE kind = 'b' AND channel_id IS NULL "
                "AND location_id IS NULL AND last_day >= %s), (SELECT COUNT(*) FROM kpis_lastseen WHERE kind = 'b' "
                "AND channel_id IS NULL AND location_id IS NULL AND last_day >= %s AND second_day >= %s)",
                [start, start, start, start],
            )
            last_visit, last_purchase, *_ = cursor.fetchone()
            whole_seen = {
                table
                for table, last_day in (("kpis_visitorday", last_visit), ("kpis_buyerday", last_purchase))
                if last_day is None or last_day <= end
            }
        days = " OR ".join(["(day >= %s AND day <= %s)"] * len(live))
        params = [day for span in live for day in span]
        tables = (("kpis_visitorday", "COALESCE(customer_id, visitor_key)"), ("kpis_buyerday", "customer_id"))
        for table, who in tables:
            sql, args = [], []
            if live:
                sql.append(
                    f"SELECT p, COUNT(*) FROM (SELECT {period} AS p, {who} FROM {table} WHERE {days} GROUP BY 1, 2) s "
                    "GROUP BY p"
                )
                args += params
            if (whole, start) not in counted and table not in whole_seen:
                sql.append(
                    f"SELECT NULL, COUNT(*) FROM (SELECT {who} FROM {table} WHERE day >= %s AND day <= %s GROUP BY 1) w"
                )
                args += [start, end]
            if sql:
                cursor.execute(" UNION ALL ".join(sql), args)
                cursor.fetchall()


def recount_sql(start: date, end: date, monthly: bool = False) -> None:
    """The distinct counts of every period and of the whole range recounted with COUNT(DISTINCT) (GROUPING
    SETS), as the endpoint did before finished periods were counted ahead (the earlier floor)."""
    pg = connection.vendor == "postgresql"
    period = "day"
    if monthly:
        period = "date_trunc('month', day)::date" if pg else "strftime('%%Y-%%m-01', day)"
    # Elsewhere than PostgreSQL (the smoke run on SQLite) the periods only, as in floor_sql.
    both = f"GROUPING SETS (({period}), ())" if pg else period
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {period}, COUNT(DISTINCT COALESCE(customer_id, visitor_key)) FROM kpis_visitorday "
            f"WHERE day >= %s AND day <= %s GROUP BY {both}",
            [start, end],
        )
        cursor.fetchall()
        cursor.execute(
            f"SELECT {period}, COUNT(DISTINCT customer_id) FROM kpis_buyerday WHERE day >= %s AND day <= %s "
            f"GROUP BY {both}",
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

    lines = OrderLine.objects.count()
    notes = f"{lines:,} order lines; rollups of {first}..{last}"
    if rebuild_seconds is not None:
        notes += f", rebuilt in {rebuild_seconds:.1f} s"
    month_api, month_floor = measure_pair(
        endpoint(client, month_start, month_end, "day"), lambda: floor_sql(month_start, month_end), repeat=repeat
    )
    year_api, year_floor = measure_pair(
        endpoint(client, year_start, last, "month"), lambda: floor_sql(year_start, last, monthly=True), repeat=repeat
    )
    # The recount of every period and the naive read take seconds on a large history: a few runs only.
    recount_repeat = 3 if lines > 1_000_000 else max(3, repeat // 5)
    month_recount = measure(lambda: recount_sql(month_start, month_end), warmup=1, repeat=recount_repeat)
    year_recount = measure(lambda: recount_sql(year_start, last, monthly=True), warmup=1, repeat=recount_repeat)
    naive_repeat = 3 if lines > 1_000_000 else max(3, repeat // 5)
    year_naive = measure(lambda: naive(year_start, last, monthly=True), warmup=1, repeat=naive_repeat)
    target = "under 300 ms and within 2x the rollup read"
    return [
        timed_result(
            "kpis endpoint, last month by day (API)",
            month_api,
            month_floor,
            "raw SQL over the same rollup rows",
            target=target,
            notes=notes,
        ),
        timed_result(
            "kpis endpoint, a year by month (API)",
            year_api,
            year_floor,
            "raw SQL over the same rollup rows",
            target=target,
            notes=notes,
        ),
        timed_result(
            "kpis endpoint, last month by day (API), against recounting every period",
            month_api,
            month_recount,
            "every period and the whole recounted with COUNT(DISTINCT) (the earlier floor)",
            target="below 1",
            notes=f"{notes}; recount timed {recount_repeat} times",
        ),
        timed_result(
            "kpis endpoint, a year by month (API), against recounting every period",
            year_api,
            year_recount,
            "every period and the whole recounted with COUNT(DISTINCT) (the earlier floor)",
            target="below 1",
            notes=f"{notes}; recount timed {recount_repeat} times",
        ),
        timed_result(
            "naive aggregation over raw orders, a year by month",
            year_naive,
            year_api,
            "kpis endpoint, the same year by month (API)",
            target="ratio grows with the history; the endpoint stays flat",
            notes=f"{notes}; naive read timed {naive_repeat} times",
        ),
    ]
