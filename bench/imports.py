"""A POS receipt file of 100,000 lines: our import, against PostgreSQL COPY and django-import-export row by row.

The file is made from the seeded demo data (its stores, the SKUs sold in
stores, its loyalty cards). Every timed run starts from the same state: it
runs inside a transaction that is rolled back afterwards.

- ours: read the CSV and `record_receipts` it (orders, lines, payments,
  allocations, stock and its ledger, points), one transaction;
- the floor: `COPY ... FROM STDIN` of the same file into a plain table of
  text and number columns (PostgreSQL only);
- the floor of what the import writes: the very rows one run of ours
  inserted (orders, lines, payments, allocations, stock movements, ledger
  entries and the rest), copied out, then put back by `COPY` into the real
  tables, with their indexes, in a transaction that is rolled back as
  ours is (so neither checks the deferred foreign keys). No import can
  write those rows faster; the stock rows it updates are left out.
- the slow baseline: django-import-export's default import (one instance
  built, validated and saved per row, each in its savepoint) of the same
  lines into order lines through a plain `ModelResource`, on a sample of
  the file (it writes lines only: no stock, no points, so it is a
  flattering baseline), reported per line.
"""

from __future__ import annotations

import csv
import io
import itertools
import random
import time
from datetime import timedelta
from decimal import Decimal

import tablib
from django.apps import apps
from django.db import connection, transaction
from django.utils import timezone
from import_export import fields, resources
from import_export.widgets import ForeignKeyWidget

from bench.harness import Result
from customers.models import Identifier
from omni.catalog.models import Channel, Location, LocationKind, Variant
from omni.orders.models import Order, OrderLine
from omni.orders.receipts import COLUMNS, record_receipts, rows_from_bytes

LINES = 100_000
SAMPLE = 2_000
run_counter = itertools.count(1)

COPY_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_receipt_line (store varchar(32), receipt varchar(64), sold_at timestamptz, "
    "sku varchar(64), quantity integer, unit_price numeric(12, 2), card varchar(64), tender varchar(16))"
)


class Undo(Exception):
    """Raised to roll a timed run back."""


class OrderLineResource(resources.ModelResource):
    """A plain resource: each row becomes one OrderLine, looked up and saved one at a time."""

    order = fields.Field(attribute="order", column_name="receipt", widget=ForeignKeyWidget(Order, "external_id"))
    variant = fields.Field(attribute="variant", column_name="sku", widget=ForeignKeyWidget(Variant, "sku"))

    class Meta:
        model = OrderLine
        fields = ("order", "variant", "quantity", "unit_price", "discount", "line_total")
        import_id_fields: list[str] = []


def make_file(lines: int, run: int) -> bytes:
    """`lines` receipt lines over the demo stores, 1 to 5 SKUs a receipt, a known card on one in four."""
    rng = random.Random(run)
    stores = list(Location.objects.filter(kind=LocationKind.STORE, is_active=True).values_list("code", flat=True))
    variants = list(
        Variant.objects.filter(is_active=True, product__is_active=True, product__channels__code="store")
        .distinct()
        .values_list("sku", "price")[:2000]
    )
    cards = list(Identifier.objects.filter(kind="card", is_verified=True).values_list("value", flat=True)[:2000])
    start = timezone.localtime() - timedelta(days=1)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    written, receipt = 0, 0
    while written < lines:
        receipt += 1
        store = rng.choice(stores)
        sold_at = (start + timedelta(seconds=receipt)).strftime("%Y-%m-%dT%H:%M:%S")
        card = rng.choice(cards) if cards and rng.random() < 0.25 else ""
        tender = rng.choice(("cash", "card"))
        for sku, price in rng.sample(variants, min(len(variants), rng.randint(1, 5), lines - written)):
            writer.writerow([store, f"B{run}-{receipt}", sold_at, sku, rng.randint(1, 3), price, card, tender])
            written += 1
    return out.getvalue().encode()


def rolled_back(fn) -> float:
    """Seconds `fn` takes inside a transaction that is then rolled back."""
    try:
        with transaction.atomic():
            started = time.perf_counter()
            fn()
            elapsed = time.perf_counter() - started
            raise Undo
    except Undo:
        return elapsed


def ours(content: bytes) -> None:
    result = record_receipts(rows_from_bytes(content, "csv"))
    assert result.imported


def copy(content: bytes) -> None:
    with connection.cursor() as cursor:
        cursor.execute(COPY_TABLE)
        with cursor.connection.cursor().copy(
            f"COPY bench_receipt_line ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as target:
            target.write(content)


def _written_tables() -> list[tuple[str, str]]:
    """(table, primary key column) of every model with an integer key of its own, parents before children."""
    models = [
        m
        for m in apps.get_models()
        if not m._meta.proxy and m._meta.managed and m._meta.pk.get_internal_type() in ("AutoField", "BigAutoField")
    ]
    ordered: list = []

    def visit(model, seen: set) -> None:
        if model in ordered or model in seen:
            return
        seen.add(model)
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in models and field.related_model is not model:
                visit(field.related_model, seen)
        ordered.append(model)

    for model in models:
        visit(model, set())
    return [(m._meta.db_table, m._meta.pk.column) for m in ordered]


def written_rows(content: bytes) -> dict[str, bytes]:
    """The rows one run of ours inserts, table by table, as COPY text; the run is rolled back."""
    tables = _written_tables()
    copied: dict[str, bytes] = {}
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                before = {}
                for table, key in tables:
                    cursor.execute(f'SELECT coalesce(max("{key}"), 0) FROM "{table}"')
                    before[table] = cursor.fetchone()[0]
            ours(content)
            with connection.cursor() as cursor:
                for table, key in tables:
                    out = bytearray()
                    with cursor.connection.cursor().copy(
                        f'COPY (SELECT * FROM "{table}" WHERE "{key}" > {int(before[table])}) TO STDOUT'
                    ) as source:
                        for chunk in source:
                            out += chunk
                    if out:
                        copied[table] = bytes(out)
            raise Undo
    except Undo:
        return copied


def copy_written(copied: dict[str, bytes]) -> None:
    """COPY the rows back into their tables."""
    with connection.cursor() as cursor:
        for table, content in copied.items():
            with cursor.connection.cursor().copy(f'COPY "{table}" FROM STDIN') as target:
                target.write(content)


def row_by_row(content: bytes, sample: int) -> tuple[float, int]:
    """Seconds for import-export's default import of the first `sample` lines (orders made beforehand)."""
    rows = rows_from_bytes(content, "csv")[:sample]
    channel = Channel.objects.get(code="store")
    stores = {loc.code: loc for loc in Location.objects.filter(kind=LocationKind.STORE)}
    dataset = tablib.Dataset(headers=["receipt", "sku", "quantity", "unit_price", "discount", "line_total"])
    for row in rows:
        price = Decimal(str(row.unit_price))
        dataset.append([row.receipt, row.sku, row.quantity, price, "0.00", price * int(row.quantity)])
    elapsed = 0.0
    try:
        with transaction.atomic():
            first = {}
            for row in rows:
                first.setdefault(row.receipt, row)
            Order.objects.bulk_create(
                [
                    Order(
                        number=f"RB{number}"[:32],
                        channel=channel,
                        location=stores[row.store],
                        external_id=number,
                        status="completed",
                        created_at=timezone.now(),
                    )
                    for number, row in first.items()
                ]
            )
            started = time.perf_counter()
            result = OrderLineResource().import_data(dataset, dry_run=False, raise_errors=True)
            elapsed = time.perf_counter() - started
            assert result.totals["new"] == len(rows), result.totals
            raise Undo
    except Undo:
        return elapsed, len(rows)


def run(*, repeat: int, smoke: bool) -> list[Result]:
    if not Location.objects.filter(kind=LocationKind.STORE).exists():
        return []
    lines = 300 if smoke else LINES
    sample = min(SAMPLE, 100 if smoke else SAMPLE)
    runs = 1 if smoke else max(1, min(repeat, 3))
    content = make_file(lines, next(run_counter))

    ours_seconds = sorted(rolled_back(lambda: ours(content)) for _ in range(runs))
    ours_rate = lines / ours_seconds[len(ours_seconds) // 2]
    rbr = sorted(row_by_row(content, sample)[0] for _ in range(runs))
    rbr_rate = sample / rbr[len(rbr) // 2]
    results = [
        Result(
            name=f"POS receipt import, {lines:,} lines (record_receipts, one transaction)",
            figure=ours_rate,
            unit="lines/s",
            baseline=rbr_rate,
            baseline_name=f"django-import-export default row-by-row ModelResource, {sample:,}-line sample, per line",
            target=">= 20x row-by-row",
            notes=f"median of {runs} run(s), {ours_seconds[len(ours_seconds) // 2]:.2f} s each, rolled back; "
            "row-by-row writes order lines only (no stock, no points)",
        )
    ]
    if connection.vendor == "postgresql":
        copy_seconds = sorted(rolled_back(lambda: copy(content)) for _ in range(runs))
        copy_rate = lines / copy_seconds[len(copy_seconds) // 2]
        results.append(
            Result(
                name=f"POS receipt import, {lines:,} lines, against the COPY floor",
                figure=ours_rate,
                unit="lines/s",
                baseline=copy_rate,
                baseline_name="PostgreSQL COPY of the same file into a plain table",
                target=">= 0.2 (within 5x of COPY)",
                notes=f"COPY takes {copy_seconds[len(copy_seconds) // 2]:.2f} s",
            )
        )
        copied = written_rows(content)
        counts = {table: chunk.count(b"\n") for table, chunk in copied.items()}
        rows = sum(counts.values())
        written_seconds = sorted(rolled_back(lambda: copy_written(copied)) for _ in range(runs))
        written_rate = lines / written_seconds[len(written_seconds) // 2]
        results.append(
            Result(
                name=f"POS receipt import, {lines:,} lines, against COPY of the rows it writes",
                figure=ours_rate,
                unit="lines/s",
                baseline=written_rate,
                baseline_name=f"PostgreSQL COPY of the {rows:,} rows one import inserts, into their own tables "
                f"({len(copied)} tables, with their indexes)",
                target="(the floor of any import of this file; the file's COPY is "
                f"{copy_rate / written_rate:.1f}x faster than it)",
                notes=f"COPY of the written rows takes {written_seconds[len(written_seconds) // 2]:.2f} s; "
                "the stock rows' updates are not in it; rows: "
                + ", ".join(f"{table} {count:,}" for table, count in sorted(counts.items(), key=lambda i: -i[1])),
            )
        )
    return results
