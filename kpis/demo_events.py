"""Believable touchpoint events and social figures for the demo retailer (`manage.py seed_events`).

The demo orders come with no events. This writes, for the last `days` days
of the demo's orders: web and app sessions (about 25 per online order, so
conversion looks like a shop's), product views of real products, store
visits, and for identified buyers the research that came before some of
their purchases (a web view of the product before a store purchase, a store
visit before an online one), plus daily figures on three social networks.
Deterministic for a seed: event ids derive from it, so a second run adds
nothing. Written through `services.ingest_events` in large batches.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Max, Min

from kpis import services
from kpis.services import EventIn, SocialFiguresIn
from omni.catalog.models import Location, LocationKind, Variant
from omni.orders.models import Order, OrderLine, OrderStatus

ROME = ZoneInfo("Europe/Rome")
SESSIONS_PER_ONLINE_ORDER = 25
BATCH = 5000
NETWORKS = {"instagram": 1.0, "facebook": 0.55, "tiktok": 0.8}


@dataclass
class SeedEventsResult:
    events: int
    social_rows: int
    start: date | None
    end: date | None


def seed_events(*, seed: int = 42, days: int = 90, say: Callable[[str], None] = lambda _m: None) -> SeedEventsResult:
    bounds = Order.objects.aggregate(first=Min("created_at"), last=Max("created_at"))
    if bounds["last"] is None:
        return SeedEventsResult(0, 0, None, None)
    end = bounds["last"].astimezone(ROME).date()
    start = max(bounds["first"].astimezone(ROME).date(), end - timedelta(days=days - 1))
    rng = random.Random(f"kpis-events-{seed}")
    skus = list(Variant.objects.order_by("pk").values_list("sku", flat=True)[:2000])
    stores = list(Location.objects.filter(kind=LocationKind.STORE).order_by("code").values_list("code", flat=True))
    low = datetime.combine(start, time.min, ROME)
    high = datetime.combine(end + timedelta(days=1), time.min, ROME)
    orders = list(
        Order.objects.filter(created_at__gte=low, created_at__lt=high)
        .exclude(status=OrderStatus.CANCELLED)
        .order_by("pk")
        .values_list("pk", "created_at", "channel__code", "customer_id", "location__code", "pickup_location__code")
    )
    first_sku = dict(
        OrderLine.objects.filter(order__created_at__gte=low, order__created_at__lt=high)
        .order_by("order_id", "pk")
        .values_list("order_id", "variant__sku")
    )
    writer = _Writer(seed, say)
    online_per_day: dict[date, int] = {}
    for pk, created, channel, customer, _store, pickup in orders:
        day = created.astimezone(ROME).date()
        if channel in ("web", "app"):
            online_per_day[day] = online_per_day.get(day, 0) + 1
        if customer is None:
            continue
        # What identified buyers did before buying: the journeys the dashboard shows.
        if channel == "store" and rng.random() < 0.3:
            seen = created - timedelta(days=rng.uniform(0.2, 10))
            session = f"r{seed}-{pk}"
            sku = {"sku": first_sku.get(pk, "")}
            writer.add(
                EventIn(
                    writer.next_id(), "product_view", seen, rng.choice(["web", "app"]), session, "", customer, None, sku
                )
            )
        elif channel in ("web", "app") and rng.random() < 0.2 and stores:
            visited = created - timedelta(days=rng.uniform(0.5, 12))
            writer.add(
                EventIn(
                    writer.next_id(),
                    "store_visit",
                    visited,
                    "store",
                    "",
                    "",
                    customer,
                    pickup or rng.choice(stores),
                    {},
                )
            )
        if channel in ("web", "app"):
            writer.add(
                EventIn(
                    writer.next_id(),
                    "checkout_start",
                    created - timedelta(minutes=3),
                    channel,
                    f"b{seed}-{pk}",
                    "",
                    customer,
                    None,
                    {},
                )
            )
    day = start
    while day <= end:
        _traffic(rng, writer, day, online_per_day.get(day, 0), skus, stores)
        day += timedelta(days=1)
    writer.flush()
    social = _social(rng, start, end)
    services.save_social_figures(rows=social)
    return SeedEventsResult(writer.written, len(social), start, end)


class _Writer:
    def __init__(self, seed: int, say: Callable[[str], None]) -> None:
        self.seed, self.say = seed, say
        self.count = self.written = 0
        self.pending: list[EventIn] = []

    def next_id(self) -> str:
        self.count += 1
        return f"demo-{self.seed}-{self.count}"

    def add(self, event: EventIn) -> None:
        self.pending.append(event)
        if len(self.pending) >= BATCH:
            self.flush()

    def flush(self) -> None:
        if self.pending:
            self.written += services.ingest_events(events=self.pending, refresh=False).accepted
            self.pending = []
            if self.written and self.written % (BATCH * 20) == 0:
                self.say(f"  {self.written} events written")


def _traffic(
    rng: random.Random, writer: _Writer, day: date, online_orders: int, skus: list[str], stores: list[str]
) -> None:
    sessions = max(20, int(online_orders * SESSIONS_PER_ONLINE_ORDER * rng.uniform(0.85, 1.15)))
    devices = max(10, sessions * 2 // 3)
    opening = datetime.combine(day, time(7), ROME)
    for n in range(sessions):
        channel = "app" if rng.random() < 0.35 else "web"
        device = f"{channel}-dev-{rng.randrange(devices * 30)}"  # returning devices across days
        session = f"s{writer.seed}-{day:%Y%m%d}-{n}"
        moment = opening + timedelta(minutes=rng.uniform(0, 16 * 60))
        writer.add(EventIn(writer.next_id(), "session_start", moment, channel, session, device))
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            moment += timedelta(seconds=rng.uniform(10, 240))
            writer.add(
                EventIn(
                    writer.next_id(),
                    "product_view",
                    moment,
                    channel,
                    session,
                    device,
                    None,
                    None,
                    {"sku": rng.choice(skus)} if skus else {},
                )
            )
        if rng.random() < 0.12:
            writer.add(
                EventIn(writer.next_id(), "add_to_cart", moment + timedelta(seconds=30), channel, session, device)
            )
    for code in stores:
        for _visit in range(rng.randint(15, 45)):
            moment = datetime.combine(day, time(10), ROME) + timedelta(minutes=rng.uniform(0, 9 * 60))
            writer.add(
                EventIn(
                    writer.next_id(), "store_visit", moment, "store", "", f"app-dev-{rng.randrange(50_000)}", None, code
                )
            )


def _social(rng: random.Random, start: date, end: date) -> list[SocialFiguresIn]:
    rows = []
    day = start
    followers = {network: int(20_000 * weight) for network, weight in NETWORKS.items()}
    while day <= end:
        weekend = 1.3 if day.weekday() >= 5 else 1.0
        for network, weight in NETWORKS.items():
            reach = weight * weekend * rng.uniform(0.7, 1.4)
            followers[network] += rng.randint(-5, 40)
            rows.append(
                SocialFiguresIn(
                    date=day,
                    network=network,
                    likes=int(900 * reach),
                    shares=int(60 * reach),
                    comments=int(110 * reach),
                    mentions=int(35 * reach),
                    followers=followers[network],
                )
            )
        day += timedelta(days=1)
    return rows
