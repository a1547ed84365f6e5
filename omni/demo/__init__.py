"""Demo data: a believable Italian retailer and the year it went through, generated from a seed.

`seed_demo` (the management command) is a thin shell around :func:`seed`. The
generator lives here so that the data lists, the rules that make the data look
like a real retailer and the writing can be read and tested on their own.

Two kinds of writing, on purpose:

* **The retailer as it stood a year ago** (stores and warehouses, the catalogue
  and its channel prices, the opening stock count, the customers and their
  identifiers) is fixture data, written in bulk through omni.bulk: COPY on
  PostgreSQL beside the generator, ``executemany`` elsewhere. The seeder
  chooses those primary keys itself (after the current maximum).
* **Everything that happened since** goes through the owners' services, on
  the demo's clock (:func:`clock`: the services read `until`-relative moments
  as "now", so each row is dated as it happened): loyalty cards issued by
  loyalty, consents given and withdrawn through customers, a year of till
  receipts through ``orders.record_orders`` (cards identified, baskets priced
  with the promotions of their day, stock taken with sale movements, points
  earned and redeemed), online, endless-aisle and click & collect orders
  through ``record_order`` and their transitions, gift cards sold at the tills
  and spent on later orders through ``record_order``, returns of every kind
  through returns' services, and the nightly jobs (tiers, points expiry,
  replenishment) as they would have run. No rule is copied here.

Deterministic: every value comes from a ``random.Random`` seeded with the seed
and the phase name, and every date from the ``until`` anchor; nothing reads the
clock or the global random generator. Two runs with the same seed, scale and
anchor into empty databases write the same rows (the ids of the rows the
services write follow the database's sequences; a gift card's code is drawn by
loyalty from ``secrets``, as a real card's is).

Consistent, because the services are: a balance is what its ledger sums to, a
stock level is its count movement plus the year's movements, an order's points
are its ledger entries.
"""

from __future__ import annotations

import time
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction
from django.test.utils import override_settings

from kpis import services as kpis
from kpis.demo_events import seed_events
from omni import outbox
from omni.api.keys import create_client
from omni.catalog.models import Location, LocationKind, StaffAssignment
from omni.demo.builder import DemoBuilder
from omni.demo.clock import clock
from omni.demo.data import COLOURS, DEMO_API_CLIENT, DEMO_PASSWORD, MIN_PRODUCTS, Progress, SeedResult, Volumes
from omni.demo.writing import _target
from omni.models import ALL_SCOPES, ApiClient
from omni.roles import setup_roles

__all__ = [
    "COLOURS",
    "DEMO_API_CLIENT",
    "DEMO_PASSWORD",
    "MIN_PRODUCTS",
    "DemoBuilder",
    "SeedResult",
    "Volumes",
    "_target",
    "already_seeded",
    "clock",
    "ensure_demo_api_client",
    "ensure_demo_logins",
    "seed",
]


def already_seeded() -> bool:
    """The demo is written once: a database with locations is someone's data (or an earlier run)."""
    return Location.objects.exists()


def seed(
    *, scale: float = 1.0, seed: int = 42, until: date, progress: Progress | None = None, traffic: bool = False
) -> SeedResult:
    """Write the whole demo in one transaction: an interrupted run leaves nothing, so the next run starts over.

    The year's messages to customers (receipts, ready for pick-up) are written as the services write them and
    sent to nobody: the demo must never e-mail anyone, nor fill the console with a year of receipts.

    The services ask for a KPI refresh of the day after each sale: thousands for a year. With `traffic` (what
    `make demo` asks for) the demo writes the year's web and app events and social figures, then rolls up
    every day of the year once, which does that work; otherwise the refreshes are left to the outbox relay.
    """
    say: Progress = progress or (lambda message: None)
    with override_settings(EMAIL_BACKEND=SILENT_EMAIL, SMS_BACKEND=SILENT_SMS), transaction.atomic():
        builder = DemoBuilder(scale=scale, seed=seed, until=until, progress=progress)
        with outbox.held() as messages:
            result = builder.run()
        if traffic:
            started = time.monotonic()
            events = seed_events(seed=seed, days=365, say=say)
            say(f"traffic: {events.events} web, app and store events, {events.social_rows} social figures")
            kpis.rebuild(start=builder.days[0], end=builder.days[-1])
            outbox.supersede(messages, task="kpis.refresh_day")
            say(f"KPIs: the year rolled up in {time.monotonic() - started:.0f} s")
        outbox.send_after_commit(messages)
        result.logins = ensure_demo_logins()
        result.api_key = ensure_demo_api_client()
    return result


SILENT_EMAIL = "django.core.mail.backends.dummy.EmailBackend"


SILENT_SMS = "customers.sms.backends.LocmemBackend"


def ensure_demo_logins() -> list[tuple[str, str, str]]:
    """An administrator and a store clerk to try the admin with; existing users are left as they are."""
    users = get_user_model()
    logins = []
    if not users.objects.filter(username="admin").exists():
        users.objects.create_superuser("admin", "admin@example.it", DEMO_PASSWORD)
    logins.append(("admin", DEMO_PASSWORD, "superuser"))
    setup_roles()
    if not users.objects.filter(username="negozio").exists():
        clerk = users.objects.create_user("negozio", "negozio@example.it", DEMO_PASSWORD, is_staff=True)
        # A clerk of the first store: sees that store's stock, orders, returns and holds.
        clerk.groups.set(Group.objects.filter(name="Store staff"))
        store = Location.objects.filter(kind=LocationKind.STORE).order_by("pk").first()
        if store is not None:
            StaffAssignment.objects.create(user=clerk, location=store)
    if not users.objects.filter(username="direzione").exists():
        manager = users.objects.create_user("direzione", "direzione@example.it", DEMO_PASSWORD, is_staff=True)
        manager.groups.set(Group.objects.filter(name="Head office"))
    logins.append(("direzione", DEMO_PASSWORD, "head office: every store, dashboards"))
    logins.append(("negozio", DEMO_PASSWORD, "clerk of the first store"))
    return logins


def ensure_demo_api_client() -> str | None:
    """The demo API client's key, shown once: only its hash is kept, so a later run cannot show it again."""
    if ApiClient.objects.filter(name=DEMO_API_CLIENT).exists():
        return None
    _client, key = create_client(name=DEMO_API_CLIENT, scopes=list(ALL_SCOPES))
    return key
