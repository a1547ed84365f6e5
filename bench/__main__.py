"""`python -m bench`: run every benchmark, print one line each, merge them into results.json and BENCHMARKS.md.

Usage: python -m bench [--scale S] [--repeat N] [--only NAME[,NAME...]] [--smoke]

`make bench` runs it against a throw-away PostgreSQL (tests/services.sh).
`--smoke` runs everything at a tiny size and few repeats, writes nothing:
it proves the benchmarks still run (the test suite does this).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = [
    "bench.catalog",
    "bench.inventory",
    "bench.orders",
    "bench.loyalty",
    "bench.kpis",
    "bench.partitions",
    "bench.imports",
    "bench.customer_import",
    "bench.load",
    "bench.system",
    "bench.capacity",
    "bench.kpi_history",
]


def configure_django() -> None:
    # Production-like: DEBUG off (no query log), no throttling in the way.
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "omni.settings")
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-not-for-production-use-0123456789")
    os.environ["ALLOWED_HOSTS"] = "localhost,testserver"
    os.environ["API_THROTTLE_RATE"] = "100000000/min"
    os.environ.setdefault("DB_CONN_MAX_AGE", "60")  # persistent connections, as README advises for production
    import django

    django.setup()


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def describe_database(connection) -> str:
    if connection.vendor == "postgresql":
        version = connection.cursor().connection.info.server_version
        return f"PostgreSQL {version // 10000}.{version % 10000}"
    return connection.vendor


def merge_results(previous: list[dict], fresh: list[dict]) -> list[dict]:
    """The earlier rows with this run's rows in place of those of the same name and scale; new ones at the end.

    A run with --only or another --scale then updates its own rows and leaves the
    others (each with the scale and date it was measured at): the same benchmark
    at scale 1 and at scale 140 are two rows.
    """

    def key(row: dict) -> tuple[str, float | None]:
        return row["name"], row.get("scale")

    by_key = {key(r): r for r in fresh}
    merged = [by_key.pop(key(r), r) for r in previous]
    return merged + [r for r in fresh if key(r) in by_key]


def load_results(path: Path) -> list[dict]:
    """The rows of earlier runs: results.json, or else (a fresh clone) the table in BENCHMARKS.md."""
    if not path.exists():
        report = ROOT / "BENCHMARKS.md"
        return rows_from_report(report.read_text()) if report.exists() else []
    try:
        rows = json.loads(path.read_text())
    except ValueError:
        return []
    return [r for r in rows if isinstance(r, dict) and "name" in r] if isinstance(rows, list) else []


def rows_from_report(text: str) -> list[dict]:
    """Read back the rows that update_report() wrote, so a run with --only keeps the others."""
    _, _, rest = text.partition("<!-- results -->")
    table, _, _ = rest.partition("<!-- /results -->")
    rows = []
    for line in table.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split(" | ")]
        if len(cells) != 9 or cells[0] == "benchmark" or cells[0].startswith("---"):
            continue
        name, scale, figure, p95, baseline_name, baseline, _ratio, target, run = cells
        try:
            value, unit = figure.split(" ", 1)
            date, _, database = run.partition(", ")
            rows.append(
                {
                    "name": name,
                    "figure": float(value),
                    "unit": unit,
                    "baseline": float(baseline),
                    "baseline_name": baseline_name,
                    "p95": float(p95) if p95 else None,
                    "target": target,
                    "scale": float(scale) if scale else None,
                    "date": date,
                    "database": database,
                }
            )
        except ValueError:
            continue
    return rows


def _scale(value: object) -> str:
    return f"{value:g}" if isinstance(value, int | float) else ""


def update_report(results: list[dict]) -> None:
    """Rewrite the results table of BENCHMARKS.md from every row (merged), one line per benchmark."""
    report = ROOT / "BENCHMARKS.md"
    text = report.read_text() if report.exists() else "# Benchmarks\n\n<!-- results -->\n<!-- /results -->\n"
    rows = [
        "Each row keeps the scale, date and database of the run that measured it "
        "(a run with `--only` or another `--scale` replaces only its own rows).",
        "",
        "| benchmark | scale | figure | p95 | baseline | baseline figure | ratio | target | run |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in results:
        p95 = f"{r['p95']:.3f}" if r.get("p95") is not None else ""
        ratio = r["figure"] / r["baseline"] if r.get("baseline") else float("inf")
        run = ", ".join(part for part in (str(r.get("date", "")), r.get("database", "")) if part)
        rows.append(
            f"| {r['name']} | {_scale(r.get('scale'))} | {r['figure']:.3f} {r['unit']} | {p95} | "
            f"{r['baseline_name']} | {r['baseline']:.3f} | {ratio:.2f} | {r['target']} | {run} |"
        )
    start, end = "<!-- results -->", "<!-- /results -->"
    head, _, rest = text.partition(start)
    _, _, tail = rest.partition(end)
    report.write_text(f"{head}{start}\n" + "\n".join(rows) + f"\n{end}{tail}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--scale", type=float, default=float(os.environ.get("BENCH_SCALE", "1")))
    parser.add_argument("--repeat", type=int, default=50)
    parser.add_argument("--only", default="")
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, few repeats, no files written")
    args = parser.parse_args(argv)
    if args.smoke:
        args.repeat, args.scale = 3, min(args.scale, 0.01)

    configure_django()
    from importlib import import_module

    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from omni.catalog.models import Location

    if not Location.objects.exists():
        print(f"bench: seeding demo data at scale {args.scale}", flush=True)
        call_command("seed_demo", scale=args.scale, verbosity=1)

    results = []
    for name in MODULES:
        if args.only and not any(part in name for part in args.only.split(",")):
            continue
        module = import_module(name)
        for result in module.run(repeat=args.repeat, smoke=args.smoke):
            print(result.line(), flush=True)
            results.append(result.as_dict())

    if not args.smoke:
        when = datetime.now(UTC).isoformat(timespec="seconds")
        database = describe_database(connection)
        for r in results:
            r.update(scale=args.scale, date=when, machine=machine(), database=database)
        path = ROOT / "bench" / "results.json"
        merged = merge_results(load_results(path), results)
        path.write_text(json.dumps(merged, indent=2) + "\n")
        update_report(merged)
        print(f"bench: {len(results)} results merged into bench/results.json and BENCHMARKS.md ({len(merged)} rows)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
