"""Moving in: a file of customers from another system, our import against PostgreSQL COPY of the same file.

Each customer has a name, a verified e-mail, a phone on half of them (typed,
so unverified), a loyalty card with an opening balance expiring next year, a
tier on one in five and a marketing consent on half. In the same run and
inside transactions that are rolled back afterwards:

- ours: read the CSV and `import_customers` it (customers, identifiers,
  old ids, consents, accounts, cards, opening entries, lots, balances), one
  transaction, as the command and the background job do;
- the floor: `COPY ... FROM STDIN` of the same file into a plain table of
  text columns (PostgreSQL only): nothing checked, nothing normalised.

`python -m bench --only customer_import` runs it inside the suite (50,000
rows at scale 1); `python -m bench.customer_import --rows 500000` runs it
alone at any size and merges its row into BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import random
import time
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from bench.harness import Result

ROWS = 50_000
run_counter = itertools.count(1)
TIERS = ("base", "silver", "gold")


class Undo(Exception):
    """Raised to roll a timed run back."""


def make_file(rows: int, run: int) -> bytes:
    from customers.moving_in import columns

    rng = random.Random(run)
    expire = (timezone.localdate() + timedelta(days=365)).isoformat()
    out = io.StringIO()
    names = columns()
    writer = csv.DictWriter(out, fieldnames=names)
    writer.writeheader()
    for n in range(rows):
        row = {
            "external_id": f"B{run}-{n}",
            "first_name": rng.choice(("Anna", "Marco", "Giulia", "Luca", "Sara", "Paolo")),
            "last_name": rng.choice(("Rossi", "Bianchi", "Verdi", "Ferrari", "Colombo")),
            "email": f"b{run}.{n}@example.com",
            "email_verified": "yes",
            "card": f"B{run}C{n:08d}",
            "points": str(rng.randint(0, 5000)),
            "points_expire_on": expire,
        }
        if n % 2:
            row.update(phone=f"+39 33{run % 10} {n:07d}", phone_verified="no")
            row.update(consent_marketing_email="yes", consent_marketing_email_at="2024-03-01")
            row["consent_marketing_email_channel"] = "store"
        if n % 5 == 0:
            row["tier"] = rng.choice(TIERS)
        writer.writerow(row)
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
    from customers import moving_in

    rows = moving_in.rows_from_dataset(moving_in.dataset_from_bytes(content, ".csv"))
    report = moving_in.import_customers(rows)
    assert report.count(moving_in.NEW) == len(rows), report.totals()["errors"][:3]


def copy(content: bytes) -> None:
    from customers.moving_in import columns

    names = columns()
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS bench_customer_row ({', '.join(f'{n} text' for n in names)})")
        with cursor.connection.cursor().copy(
            f"COPY bench_customer_row ({', '.join(names)}) FROM STDIN WITH (FORMAT csv, HEADER true)"
        ) as target:
            target.write(content)


def run(*, repeat: int, smoke: bool, rows: int | None = None) -> list[Result]:
    rows = rows or (300 if smoke else ROWS)
    content = make_file(rows, next(run_counter))
    ours_seconds = rolled_back(lambda: ours(content))
    rate = rows / ours_seconds
    if connection.vendor != "postgresql":
        return [
            Result(
                name=f"Customer import (moving in), {rows:,} rows",
                figure=rate,
                unit="rows/s",
                baseline=rate,
                baseline_name="(no COPY floor off PostgreSQL)",
                notes=f"{ours_seconds:.1f} s, rolled back",
            )
        ]
    copy_seconds = rolled_back(lambda: copy(content))
    return [
        Result(
            name=f"Customer import (moving in), {rows:,} rows, against the COPY floor",
            figure=rate,
            unit="rows/s",
            baseline=rows / copy_seconds,
            baseline_name="PostgreSQL COPY of the same file into a plain table of text columns",
            target="500,000 rows in minutes (>= 1,700 rows/s: 5 minutes)",
            notes=f"one run each, rolled back: ours {ours_seconds:.1f} s, COPY {copy_seconds:.2f} s; "
            f"500,000 rows at this rate: {500_000 / rate / 60:.1f} min",
        )
    ]


def main() -> None:
    from bench.__main__ import configure_django

    parser = argparse.ArgumentParser(prog="python -m bench.customer_import")
    parser.add_argument("--rows", type=int, default=ROWS)
    parser.add_argument("--no-save", action="store_true", help="print only; leave BENCHMARKS.md alone")
    args = parser.parse_args()
    configure_django()
    import json
    from datetime import UTC, datetime

    from django.core.management import call_command

    from bench.__main__ import ROOT, describe_database, load_results, machine, merge_results, update_report

    call_command("migrate", verbosity=0)
    results = run(repeat=1, smoke=False, rows=args.rows)
    for result in results:
        print(result.line(), "|", result.notes, flush=True)
    if args.no_save:
        return
    when = datetime.now(UTC).isoformat(timespec="seconds")
    fresh = [{**r.as_dict(), "scale": 1.0, "date": when, "machine": machine()} for r in results]
    for row in fresh:
        row["database"] = describe_database(connection)
    path = ROOT / "bench" / "results.json"
    merged = merge_results(load_results(path), fresh)
    path.write_text(json.dumps(merged, indent=2) + "\n")
    update_report(merged)


if __name__ == "__main__":
    main()
