"""KPI read time at 10^7 and 10^8 touchpoint events, by simulation of what those events leave for the endpoint.

The KPI endpoint never reads the events: it reads the daily rollups
(`kpis/selectors.py`), and the events reach it only through
`kpis_visitorday`, one row per visitor, day, channel and store (the
rollup of a day makes them from that day's events, reading one month's
partition). So the size that matters to a KPI read is the number of
visitor-day rows the events make. A visitor's day here is
EVENTS_PER_VISITOR_DAY events (a session of page views), so 10^7 events
make 10^6 visitor-day rows and 10^8 make 10^7; this benchmark writes that
many visitor-day rows over the last year in SQL (anonymous visitors, each
seen on about VISITS_PER_VISITOR days of the year, on the web and the app),
counts every finished day, week and month ahead as the rollup does
(`services.count_periods`, timed: what a rebuild of the whole year adds; a
night counts only the periods that just finished), recounts every
visitor's last and first days (`services.recount_last_seen`: the rows are
written in SQL, not by the rollup that keeps them), and times the endpoint: a year by
month ending on the last day rolled up (every whole month counted ahead;
the year's distinct visitors, and this month's, counted from their last
days; the first month, begun in the middle, from each one's first day in
it, `SeenSpanCount`), the 12
calendar months to date by month (nothing counted live) and last month by
day. The baseline of each is the same read on the demo's own rollups,
before the synthetic rows.

The synthetic rows are deleted at the end, so the benchmarks after this one
read the demo as it was. PostgreSQL only.
"""

from __future__ import annotations

import os
import time
from datetime import date, timedelta

from django.db import connection, transaction

from bench.client import api_client
from bench.harness import Result, Timing, measure
from bench.kpis import endpoint, ensure_rollups
from kpis import selectors, services
from kpis.models import PeriodCount, SeenSpanCount, TouchpointEvent, VisitorDay
from omni.catalog.models import Channel

EVENTS_PER_VISITOR_DAY = 10
VISITS_PER_VISITOR = 5
# BENCH_CAPACITY_EVENTS=10000000 measures one size alone.
EVENT_ROWS = tuple(int(n) for n in os.environ.get("BENCH_CAPACITY_EVENTS", "10000000,100000000").split(","))
# Synthetic visitors' keys, far below the rollup's own (a 64-bit hash made negative): easy to find and delete.
KEY_BASE = -(10**17)


def synthetic() -> int:
    return VisitorDay.objects.filter(visitor_key__lte=KEY_BASE).count()


def add_visitor_days(rows: int, start: date, days: int) -> float:
    """Top the synthetic visitor-day rows up to `rows`; seconds it took."""
    have = synthetic()
    if have >= rows:
        return 0.0
    channels = list(Channel.objects.filter(code__in=["web", "app"]).values_list("pk", flat=True)) or [
        Channel.objects.values_list("pk", flat=True).first()
    ]
    visitors = max(1, rows // VISITS_PER_VISITOR)
    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO kpis_visitorday (day, channel_id, location_id, customer_id, visitor_key)
            SELECT %s::date + (n * 7919 %% %s)::int, (%s::bigint[])[1 + n %% %s], NULL, NULL,
                   %s - (n * 104729 %% %s)
            FROM generate_series(%s::bigint, %s::bigint) AS n
            """,
            [start, days, channels, len(channels), KEY_BASE, visitors, have, rows - 1],
        )
        cursor.execute("ANALYZE kpis_visitorday")
    return time.perf_counter() - began


def recount_last_seen() -> float:
    """Every visitor's and buyer's last and first days counted again from the rollup rows; seconds it took."""
    began = time.perf_counter()
    services.recount_last_seen()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE kpis_lastseen")
        cursor.execute("ANALYZE kpis_seenspancount")
    return time.perf_counter() - began


def count_ahead(start: date, end: date) -> float:
    """Count every finished period again, as after a rebuild of the range; seconds it took."""
    began = time.perf_counter()
    PeriodCount.objects.all().delete()
    services.count_periods(start=start, end=end)
    return time.perf_counter() - began


def run(*, repeat: int, smoke: bool) -> list[Result]:
    if connection.vendor != "postgresql":
        return []
    first, last, _ = ensure_rollups()
    year_start = max(first, last - timedelta(days=364))
    month_end = last.replace(day=1) - timedelta(days=1)
    month_start = max(first, month_end.replace(day=1))
    # The 12 calendar months to date (this one included), from the 1st: every month but this one counted ahead.
    months_start = max(first, (last.replace(day=1) - timedelta(days=334)).replace(day=1))
    client = api_client()

    def reads(times: int) -> tuple[Timing, Timing, Timing]:
        year = measure(endpoint(client, year_start, last, "month"), warmup=1, repeat=times)
        month = measure(endpoint(client, month_start, month_end, "day"), warmup=1, repeat=times)
        months = measure(endpoint(client, months_start, last, "month"), warmup=1, repeat=times)
        return year, month, months

    sizes = (10**4, 10**5) if smoke else EVENT_ROWS
    real_rows = VisitorDay.objects.count()
    real_events = TouchpointEvent.objects.count()
    base_counted = count_ahead(year_start, last)
    base_year, base_month, base_months = reads(3 if smoke else 10)
    results = []
    try:
        for events in sizes:
            rows = events // EVENTS_PER_VISITOR_DAY
            written = add_visitor_days(rows, year_start, (last - year_start).days + 1)
            counted = count_ahead(year_start, last)
            last_seen = recount_last_seen()
            year, month, months = reads(3 if smoke else 5)
            notes = (
                f"{rows:,} synthetic visitor-day rows ({events:,} events at {EVENTS_PER_VISITOR_DAY} per visitor-day)"
                f" beside the demo's {real_rows:,} ({real_events:,} events); written in {written:.0f} s; "
                f"every finished period counted ahead in {counted:.1f} s; every last day recounted in "
                f"{last_seen:.1f} s ({SeenSpanCount.objects.count():,} rows of first days kept); "
                f"load average {os.getloadavg()[0]:.1f}"
            )
            # Whether the year's whole came from the last days (it does when the year ends on the last day rolled up).
            year_scope = selectors.Scope(start=year_start, end=last)
            whole_from_last_seen = sorted(selectors._last_seen(year_scope, [year_start])[year_start])
            notes += f"; the year's whole from LastSeen: {', '.join(whole_from_last_seen) or 'no (counted live)'}"
            extra = {
                "whole_from_last_seen": whole_from_last_seen,
                "visitor_day_rows": rows,
                "count_periods_seconds": counted,
                "write_seconds": written,
                "recount_last_seen_seconds": last_seen,
            }
            extra["load_average"] = os.getloadavg()[0]
            size = f"10^{len(str(events)) - 1} events (simulated)"
            results.append(
                Result(
                    name=f"kpis endpoint, a year by month, {size}",
                    figure=year.median_ms,
                    unit="ms (median)",
                    p95=year.p95_ms,
                    baseline=base_year.median_ms,
                    baseline_p95=base_year.p95_ms,
                    baseline_name="the same read on the demo's own rollups",
                    notes=notes,
                    extra=extra,
                )
            )
            results.append(
                Result(
                    name=f"kpis endpoint, last month by day, {size}",
                    figure=month.median_ms,
                    unit="ms (median)",
                    p95=month.p95_ms,
                    baseline=base_month.median_ms,
                    baseline_p95=base_month.p95_ms,
                    baseline_name="the same read on the demo's own rollups",
                    notes=notes,
                    extra=extra,
                )
            )
            results.append(
                Result(
                    name=f"kpis endpoint, the 12 calendar months to date by month, {size}",
                    figure=months.median_ms,
                    unit="ms (median)",
                    p95=months.p95_ms,
                    baseline=base_months.median_ms,
                    baseline_p95=base_months.p95_ms,
                    baseline_name="the same read on the demo's own rollups",
                    notes=notes,
                    extra=extra,
                )
            )
            results.append(
                Result(
                    name=f"kpi periods of a year all counted ahead (as after a rebuild of the year), {size}",
                    figure=counted,
                    unit="s",
                    baseline=base_counted,
                    baseline_name="the same count on the demo's own rollups",
                    notes=notes,
                )
            )
            print(*(result.line() for result in results[-4:]), sep="\n", flush=True)
    finally:
        with transaction.atomic():
            VisitorDay.objects.filter(visitor_key__lte=KEY_BASE).delete()
        count_ahead(year_start, last)
        recount_last_seen()
    return results
