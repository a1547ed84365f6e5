"""``manage.py seed_events``: touchpoint events and social figures for the demo's orders."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from kpis.demo_events import seed_events


class Command(BaseCommand):
    help = (
        "Write believable web and app sessions, product views, store visits, the research before identified "
        "purchases, and daily social figures for the last --days days of the demo's orders. Deterministic for "
        "a seed; running it again adds nothing. Run rebuild_kpis for those days afterwards."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("--seed", type=int, default=42, help="Seed of the generator. Default 42.")
        parser.add_argument("--days", type=int, default=90, help="How many days, ending at the last order. Default 90.")

    def handle(self, *args: Any, seed: int = 42, days: int = 90, verbosity: int = 1, **options: Any) -> None:
        say = self.stdout.write if verbosity >= 1 else (lambda _message: None)
        result = seed_events(seed=int(seed), days=max(int(days), 1), say=say)
        if result.start is None:
            say("No orders: run seed_demo first.")
            return
        say(
            self.style.SUCCESS(
                f"{result.events} events and {result.social_rows} social rows written for {result.start} .. "
                f"{result.end}. Now run: manage.py rebuild_kpis --from {result.start} --to {result.end}"
            )
        )
