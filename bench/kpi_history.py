"""The KPI endpoint at 10^7 order lines: the demo's year copied in SQL, rolled up by the real rollup, read
through the real API.

Seeding that many lines (`seed_demo` near scale 540) would take most of a
day on two cores, the orders slowing inside the seeding's one transaction.
Here the seeded year is copied instead, until its order lines reach
BENCH_KPI_LINES (10^7 by default). Each copy has customers of its own (the
copied orders' customers and their naming identifiers, copied), its orders
(same channel, store, status, fulfilment, totals and times; a number of
their own, no external id) and their lines. The history keeps the demo's
shape (its seasons, its channel mix, its share of identified buyers) at the
size of a retailer that many times larger, and every copy's buyers are
distinct people, so the buyer-day rows and the last days grow with it.

Then the year is rolled up by `kpis.services.rebuild`, the code that
`make demo` and the nightly task run (timed: a rebuild of the whole year,
which a night never does), and read through the API: a year by month and
last month by day, each against the same read on the demo's own year before
the copies; and the naive aggregation over the raw orders against the
endpoint.

Not copied: touchpoint events (the visitor side at 10^7 and 10^8 events is
`bench.capacity`), payments, allocations, points and returns, which no
order figure of the rollup reads (points come from the loyalty ledger,
returned units from the returns).

Everything is written in one transaction that is rolled back at the end
(the rollup's rows and the tables' statistics with it), so the benchmarks
after this one read the demo as it was, and an interrupted run leaves
nothing. The endpoint is called in this process, on the same connection,
so it reads the copies. PostgreSQL only (sequences, temporary tables).
"""

from __future__ import annotations

import math
import os
import time
from datetime import date, timedelta
from decimal import Decimal

from django.db import connection, transaction
from django.db.models import Sum

from bench.client import api_client
from bench.harness import Result, Timing, measure
from bench.kpis import endpoint, ensure_rollups, naive, read_kpis
from customers.models import Customer, Identifier
from customers.selectors import NAMING_KINDS
from kpis import services
from kpis.models import DailyFigures
from kpis.rollups import day_bounds
from omni.orders.models import Order, OrderLine

LINES = int(os.environ.get("BENCH_KPI_LINES", "10000000"))
SMOKE_COPIES = 2


def _columns(model, *, leave_out: tuple[str, ...] = ()) -> list[str]:
    return [f.column for f in model._meta.concrete_fields if not f.primary_key and f.column not in leave_out]


def base_ids() -> dict[str, int]:
    """The highest id of each table before any copy: the rows at or below it are the originals to copy."""
    return {
        "order": Order.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        "line": OrderLine.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
        "identifier": Identifier.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
    }


def year_lines(first: date, last: date, base: dict[str, int]) -> int:
    low, high = day_bounds(first, last)
    return OrderLine.objects.filter(
        order__created_at__gte=low, order__created_at__lt=high, order_id__lte=base["order"]
    ).count()


def copy_year(copies: int, first: date, last: date, base: dict[str, int], *, progress: bool = False) -> float:
    """Write `copies` copies of the year's original orders, lines and buyers; seconds it took.

    A savepoint per copy, in the caller's transaction. New ids come from each
    table's own sequence, so nothing else that writes meanwhile can collide
    with them.
    """
    low, high = day_bounds(first, last)
    customer_cols = _columns(Customer)
    identifier_cols = _columns(Identifier, leave_out=("customer_id", "value"))
    order_cols = _columns(Order, leave_out=("number", "customer_id", "external_id"))
    line_cols = _columns(OrderLine, leave_out=("order_id",))
    tables = {m: m._meta.db_table for m in (Customer, Identifier, Order, OrderLine)}
    began = time.perf_counter()
    for copy in range(1, copies + 1):
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_orders AS "
                f"SELECT id AS old, nextval(pg_get_serial_sequence('{tables[Order]}', 'id')) AS new "
                f"FROM {tables[Order]} WHERE created_at >= %s AND created_at < %s AND id <= %s",
                [low, high, base["order"]],
            )
            cursor.execute(
                "CREATE TEMPORARY TABLE bench_customers AS "
                f"SELECT old, nextval(pg_get_serial_sequence('{tables[Customer]}', 'id')) AS new FROM "
                f"(SELECT DISTINCT o.customer_id AS old FROM {tables[Order]} o JOIN bench_orders m ON m.old = o.id "
                "WHERE o.customer_id IS NOT NULL) s"
            )
            cursor.execute(
                f"INSERT INTO {tables[Customer]} (id, {', '.join(customer_cols)}) "
                f"SELECT m.new, {', '.join('c.' + c for c in customer_cols)} "
                f"FROM {tables[Customer]} c JOIN bench_customers m ON m.old = c.id"
            )
            cursor.execute(
                f"INSERT INTO {tables[Identifier]} (customer_id, value, {', '.join(identifier_cols)}) "
                f"SELECT m.new, i.value || '#' || %s, {', '.join('i.' + c for c in identifier_cols)} "
                f"FROM {tables[Identifier]} i JOIN bench_customers m ON m.old = i.customer_id "
                "WHERE i.kind = ANY(%s) AND i.id <= %s",
                [copy, [kind.value for kind in NAMING_KINDS], base["identifier"]],
            )
            cursor.execute(
                f"INSERT INTO {tables[Order]} (id, number, customer_id, external_id, {', '.join(order_cols)}) "
                f"SELECT m.new, 'K' || %s || '-' || o.number, c.new, NULL, {', '.join('o.' + c for c in order_cols)} "
                f"FROM {tables[Order]} o JOIN bench_orders m ON m.old = o.id "
                "LEFT JOIN bench_customers c ON c.old = o.customer_id",
                [copy],
            )
            cursor.execute(
                f"INSERT INTO {tables[OrderLine]} (order_id, {', '.join(line_cols)}) "
                f"SELECT m.new, {', '.join('l.' + c for c in line_cols)} "
                f"FROM {tables[OrderLine]} l JOIN bench_orders m ON m.old = l.order_id WHERE l.id <= %s",
                [base["line"]],
            )
            cursor.execute("DROP TABLE bench_orders, bench_customers")
        if progress and (copy % 10 == 0 or copy == copies):
            print(f"kpi history: {copy}/{copies} copies written ({time.perf_counter() - began:.0f} s)", flush=True)
    with connection.cursor() as cursor:
        for table in tables.values():
            cursor.execute(f"ANALYZE {table}")
    return time.perf_counter() - began


def rebuild(first: date, last: date) -> float:
    began = time.perf_counter()
    services.rebuild(start=first, end=last)
    return time.perf_counter() - began


def rolled_up(first: date, last: date) -> dict[str, int | Decimal]:
    """The year's totals as the rollup holds them (every channel and store): what the copies must multiply."""
    return DailyFigures.objects.filter(day__gte=first, day__lte=last).aggregate(
        orders=Sum("orders"), units=Sum("units"), identified=Sum("identified_orders"), revenue=Sum("revenue")
    )


def year_orders(client, start: date, end: date) -> int:
    return read_kpis(client, start, end, "month")["total"]["orders"]


def run(*, repeat: int, smoke: bool) -> list[Result]:
    if connection.vendor != "postgresql" or not Order.objects.exists():
        return []
    first, last, rolled = ensure_rollups()
    year_start = max(first, last - timedelta(days=364))
    month_end = last.replace(day=1) - timedelta(days=1)
    month_start = max(first, month_end.replace(day=1))
    client = api_client()

    def reads(times: int) -> tuple[Timing, Timing]:
        year = measure(endpoint(client, year_start, last, "month"), warmup=1, repeat=times)
        month = measure(endpoint(client, month_start, month_end, "day"), warmup=1, repeat=times)
        return year, month

    times = 3 if smoke else max(10, repeat // 2)
    base = base_ids()
    base_lines = year_lines(first, last, base)
    if not base_lines:
        return []
    copies = SMOKE_COPIES if smoke else max(1, math.ceil(LINES / base_lines) - 1)
    # The seeded year's own rebuild: the one ensure_rollups just ran, if it had to.
    base_rebuild = rolled if rolled is not None else rebuild(first, last)
    base_year, base_month = reads(times)
    base_orders = year_orders(client, year_start, last)
    # One transaction, rolled back at the end: the copies, their rollup and their statistics leave nothing behind
    # (deleting 10^7 lines and their orders, each checked against a dozen referencing tables, took over 15
    # minutes). The API client runs in this process, on this connection, so it reads the copies.
    with transaction.atomic():
        written = copy_year(copies, first, last, base, progress=not smoke)
        rebuilt = rebuild(first, last)
        lines = OrderLine.objects.count()
        if not smoke:
            print(f"kpi history: {lines:,} order lines, the year rolled up in {rebuilt:.0f} s", flush=True)
        # The endpoint reads the primary inside a transaction (omni/replicas.py): it must count every copy.
        seen = year_orders(client, year_start, last)
        assert seen == (copies + 1) * base_orders, (
            f"the endpoint counted {seen} orders, not {copies + 1} x {base_orders}"
        )
        year, month = reads(times)
        naive_repeat = 3
        year_naive = measure(lambda: naive(year_start, last, monthly=True), warmup=1, repeat=naive_repeat)
        notes = (
            f"{lines:,} order lines: the seeded year ({base_lines:,} lines) and {copies} copies of it, each with "
            f"buyers of its own, written in {written:.0f} s; the year rolled up in {rebuilt:.0f} s "
            f"({base_rebuild:.1f} s before the copies); load average {os.getloadavg()[0]:.1f}"
        )
        size = "10^7 order lines" if lines >= 10**7 else f"{lines:,} order lines"
        same = "the same read on the seeded year alone"
        results = [
            Result(
                name=f"kpis endpoint, a year by month, {size} (the seeded year copied)",
                figure=year.median_ms,
                unit="ms (median)",
                p95=year.p95_ms,
                baseline=base_year.median_ms,
                baseline_p95=base_year.p95_ms,
                baseline_name=same,
                target="under 300 ms",
                notes=notes,
                extra={"order_lines": lines, "copies": copies, "write_seconds": written, "rebuild_seconds": rebuilt},
            ),
            Result(
                name=f"kpis endpoint, last month by day, {size} (the seeded year copied)",
                figure=month.median_ms,
                unit="ms (median)",
                p95=month.p95_ms,
                baseline=base_month.median_ms,
                baseline_p95=base_month.p95_ms,
                baseline_name=same,
                target="under 300 ms",
                notes=notes,
            ),
            Result(
                name=f"naive aggregation over raw orders, a year by month, {size} (the seeded year copied)",
                figure=year_naive.median_ms,
                unit="ms (median)",
                p95=year_naive.p95_ms,
                baseline=year.median_ms,
                baseline_p95=year.p95_ms,
                baseline_name="kpis endpoint, the same year by month (API)",
                target="ratio grows with the history; the endpoint stays flat",
                notes=f"{notes}; naive read timed {naive_repeat} times",
            ),
            Result(
                name=f"kpi rollup of the year (services.rebuild), {size} (the seeded year copied)",
                figure=rebuilt,
                unit="s",
                baseline=base_rebuild,
                baseline_name="the same rebuild of the seeded year alone",
                target="grows with the lines; a night rolls up one day",
                notes=notes,
            ),
        ]
        transaction.set_rollback(True)
    if not connection.in_atomic_block:
        with connection.cursor() as cursor:  # the dead rows of the copies, before the benchmarks that follow
            for model in (OrderLine, Order, Identifier, Customer):
                cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
    return results
