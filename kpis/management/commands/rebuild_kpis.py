"""``manage.py rebuild_kpis --from DATE --to DATE``: recompute the KPI rollups of a range from the raw rows."""

from __future__ import annotations

import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from kpis import services


def parse_day(text: str | date, name: str) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text)
    except (TypeError, ValueError):
        raise CommandError(f"--{name}: {text!r} is not a date like 2025-03-10")


class Command(BaseCommand):
    help = (
        "Recompute the KPI rollups (daily figures, buyers, visitors, store credits, journeys) of every day "
        "from --from to --to (inclusive, Europe/Rome days) from orders, ledger entries, returns and events. "
        "Gives exactly the figures the nightly task and the after-sale refresh give; safe to run again."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--from", dest="start", required=True, help="First day, YYYY-MM-DD.")
        parser.add_argument("--to", dest="end", required=True, help="Last day, YYYY-MM-DD (inclusive).")

    def handle(self, *args: Any, start: str, end: str, verbosity: int = 1, **options: Any) -> None:
        first, last = parse_day(start, "from"), parse_day(end, "to")
        if last < first:
            raise CommandError("--to is before --from.")
        began = time.monotonic()
        result = services.rebuild(start=first, end=last)
        if verbosity >= 1:
            rows = ", ".join(f"{count} {name}" for name, count in result.rows.items())
            self.stdout.write(
                self.style.SUCCESS(f"{result.days} days rebuilt in {time.monotonic() - began:.1f} s: {rows}.")
            )
