"""``manage.py seed_demo``: the demo retailer, written once (the generator is ``omni.demo``)."""

from __future__ import annotations

import argparse
import time
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from omni import demo


def positive_scale(text: str | float) -> float:
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a number")
    if not value > 0:
        raise argparse.ArgumentTypeError("the scale must be greater than zero")
    return value


def anchor_date(text: str | date) -> date:
    if isinstance(text, date):
        return text
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-01")


class Command(BaseCommand):
    help = (
        "Fill an empty database with a demo Italian retailer: stores, warehouses, products, stock, customers and "
        "a year of orders on every channel written through the order, loyalty, returns and stock services (points, "
        "tiers, consents, returns, gift cards sold and spent, pick-ups waiting today, replenishment proposals), "
        "plus the logins admin, direzione and negozio and an API key. Deterministic for a seed and an --until "
        "date (but for the gift cards' codes, drawn at random as a real card's are). Does nothing if the "
        "database already has locations. The API key is printed once, at the end; with --verbosity 0 nothing is "
        "printed (make a key with create_api_client)."
    )

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--scale",
            type=positive_scale,
            default=1.0,
            help="Multiply customers and orders (1: ~5,000 customers, ~7,400 till receipts and ~300 online "
            "orders). Default 1.",
        )
        parser.add_argument("--seed", type=int, default=42, help="Seed of the generator. Default 42.")
        parser.add_argument(
            "--until",
            type=anchor_date,
            default=None,
            help="The orders cover the year before this date (YYYY-MM-DD). Default today; pass a date "
            "for data that is the same on every day.",
        )
        parser.add_argument(
            "--with-kpis",
            action="store_true",
            help="Also write a year of touchpoint events and social figures, and roll up the KPIs of the year "
            "(what `make demo` does).",
        )

    def handle(
        self,
        *args: Any,
        scale: float,
        seed: int,
        until: str | date | None,
        verbosity: int,
        with_kpis: bool = False,
        **options: Any,
    ) -> None:
        # call_command() hands keyword options over unconverted: convert them here as well.
        try:
            scale = positive_scale(scale)
            seed = int(seed)
            until = anchor_date(until) if until is not None else timezone.localdate()
        except (argparse.ArgumentTypeError, TypeError, ValueError) as exc:
            raise CommandError(str(exc))
        say = self.stdout.write if verbosity >= 1 else _silent
        if demo.already_seeded():
            say("The database already has locations: demo data not written (it is written once, on an empty one).")
            return
        say(f"Writing the demo retailer: scale {scale:g}, seed {seed}, orders of the year before {until}.")
        started = time.monotonic()
        result = demo.seed(scale=scale, seed=seed, until=until, progress=say, traffic=with_kpis)
        say(
            self.style.SUCCESS(
                f"Demo data written in {time.monotonic() - started:.1f} s: {result.locations} locations, "
                f"{result.products} products, {result.variants} variants, {result.customers} customers "
                f"({result.accounts} with a loyalty card), {result.orders} orders ({result.store_sales} at the "
                f"tills, {result.online_orders} online), {result.lines} order lines, {result.returns} returns, "
                f"{result.gift_cards} gift cards sold ({result.gift_card_payments} orders paid with them)."
            )
        )
        say("Logins for the admin (/admin/):")
        for username, password, role in result.logins:
            say(f"  {username} / {password} ({role})")
        if result.api_key:
            say(f"API key (all scopes): {result.api_key}")
            say("  Shown this once: only its hash is kept.")
        else:
            say(f"The API client {demo.DEMO_API_CLIENT!r} exists already; make another with create_api_client.")
        if result.tour:
            say(
                "For the tour (README): card {card} (customer #{customer}, {points} points), store {store}, "
                "SKU {sku}".format_map({"card": "", "customer": "", "points": "0", **result.tour})
            )
        if result.tour.get("gift_card"):
            say("  gift card {gift_card} ({gift_card_balance} EUR left)".format_map(result.tour))
        if with_kpis:
            say(self.style.SUCCESS("KPIs ready: /dashboards/"))


def _silent(message: str) -> None:
    """--verbosity 0: no progress and no summary."""
