"""Twenty channels after the last unit at the same moment: one sale, nineteen refusals, never below zero."""

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

from django.db import connection

from inventory import selectors, services
from inventory.models import Reservation, StockMovement
from omni.catalog.models import Location, Variant
from omni.errors import InsufficientStock
from tests.factories import LocationFactory, VariantFactory
from tests.inventory.conftest import level_of


def race_for_the_last_unit(takers: int = 20, threads: bool = True) -> list[str]:
    store = LocationFactory(code="LAST-1")
    shirt = VariantFactory(sku="LAST-SHIRT")
    services.count(location=store, variant=shirt, on_hand=1)
    start = threading.Barrier(takers if threads else 1)
    outcomes: list[str] = []

    def buy(index: int):
        try:
            location = Location.objects.get(pk=store.pk)
            variant = Variant.objects.get(pk=shirt.pk)
            start.wait(20)
            if index % 2:  # carry out at the till
                services.allocate(
                    lines=[services.LineNeed(variant, 1)], fulfilment="carry_out", selling_location=location
                )
                outcomes.append("sold")
            else:  # click & collect from the site
                services.hold(location=location, variant=variant, quantity=1)
                outcomes.append("held")
        except InsufficientStock:
            outcomes.append("refused")
        finally:
            if threads:
                connection.close()

    if threads:
        workers = [threading.Thread(target=buy, args=(i,)) for i in range(takers)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(60)
    else:
        for index in range(takers):
            buy(index)
    level = level_of(store, shirt)
    assert level.on_hand >= 0
    winners = [o for o in outcomes if o != "refused"]
    assert len(outcomes) == takers and len(winners) == 1
    if winners == ["sold"]:
        assert (level.on_hand, level.reserved) == (0, 0)
        assert StockMovement.objects.filter(kind="sale").count() == 1
    else:
        assert (level.on_hand, level.reserved) == (1, 1)
        assert Reservation.objects.count() == 1
    assert selectors.ledger_differences() == []
    return outcomes


def test_twenty_buyers_of_the_last_unit_get_one_sale_on_postgresql(postgres):
    race_for_the_last_unit()


# Run in a process of its own against an SQLite file in the demo configuration
# (settings: IMMEDIATE transactions, busy timeout, WAL): the suite's in-memory
# SQLite test database cannot be shared by threads, and a PostgreSQL run of the
# suite would not touch SQLite at all.
SQLITE_RACE = """
import json, threading
from decimal import Decimal
import django
django.setup()
from django.core.management import call_command
from django.db import connection
from inventory import selectors, services as inventory
from inventory.models import StockLevel
from loyalty.pricing import LineIn
from omni.errors import InsufficientStock
from omni.orders import services as orders
from omni.orders.models import Order
from tests.factories import LocationFactory, VariantFactory, channel

call_command("migrate", verbosity=0)
store = LocationFactory(code="LAST-1")
shirt = VariantFactory(sku="LAST-SHIRT", price=Decimal("39.90"))
inventory.count(location=store, variant=shirt, on_hand=1, reason="count")
connection.close()
start = threading.Barrier(20)
outcomes = []

def buy(index):
    try:
        till, web = channel("store"), channel("web")
        start.wait(30)
        if index % 2:
            kind = dict(channel=till, location=store, fulfilment=orders.FulfilmentIn(type="carry_out"))
        else:
            kind = dict(channel=web, fulfilment=orders.FulfilmentIn(type="click_and_collect", pickup_location=store))
        orders.record_order(
            lines=[LineIn("LAST-SHIRT", 1)], payments=[orders.PaymentIn("card", Decimal("39.90"))], **kind
        )
        outcomes.append("sold")
    except InsufficientStock as error:
        outcomes.append(error.code)
    except Exception as error:
        outcomes.append(f"{type(error).__name__}: {error}")
    finally:
        connection.close()

threads = [threading.Thread(target=buy, args=(i,)) for i in range(20)]
for thread in threads:
    thread.start()
for thread in threads:
    thread.join(120)
level = StockLevel.objects.get(location=store, variant=shirt)
print(json.dumps({
    "engine": connection.vendor,
    "mode": connection.settings_dict["OPTIONS"].get("transaction_mode"),
    "outcomes": sorted(outcomes),
    "orders": Order.objects.count(),
    "on_hand": level.on_hand,
    "reserved": level.reserved,
    "ledger_differences": len(selectors.ledger_differences()),
}))
"""


def test_twenty_buyers_of_the_last_unit_get_one_sale_on_a_sqlite_file_too(tmp_path):
    """The demo configuration: twenty threads through record_order on an SQLite file, one sale."""
    env = {key: value for key, value in os.environ.items() if key not in ("CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")}
    env.update(DATABASE_URL=f"sqlite:///{tmp_path / 'demo.sqlite3'}", DJANGO_SETTINGS_MODULE="omni.settings")
    done = subprocess.run(
        [sys.executable, "-c", SQLITE_RACE],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert (result["engine"], result["mode"]) == ("sqlite", "IMMEDIATE")
    assert result["outcomes"] == ["insufficient_stock"] * 19 + ["sold"]
    assert result["orders"] == 1
    assert result["on_hand"] >= 0 and result["on_hand"] - result["reserved"] == 0
    assert result["ledger_differences"] == 0


def test_the_refusal_reaches_the_api_as_insufficient_stock(api, store, shirt):
    services.count(location=store, variant=shirt, on_hand=1)
    body = {"sku": shirt.sku, "quantity": 1, "location": store.code}
    assert api.post("/api/v1/reservations/", body, format="json").status_code == 201
    refused = api.post("/api/v1/reservations/", body, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock")
