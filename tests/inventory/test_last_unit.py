"""Twenty channels after the last unit at the same moment: one sale, nineteen refusals, never below zero."""

import threading

import pytest
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


@pytest.mark.django_db(transaction=True)
def test_twenty_buyers_of_the_last_unit_get_one_sale_on_sqlite_too():
    """The same takers on SQLite, one after another on the test database's one connection.

    The in-memory test database of SQLite is shared between threads with table
    locks that ignore the busy timeout, so real threads would fail on the test
    setup rather than on the code; the conditional updates are the same SQL.
    """
    if connection.vendor != "sqlite":
        pytest.skip("the PostgreSQL run is the test above")
    outcomes = race_for_the_last_unit(threads=False)
    assert outcomes[0] == "held" and outcomes.count("refused") == 19


def test_the_refusal_reaches_the_api_as_insufficient_stock(api, store, shirt):
    services.count(location=store, variant=shirt, on_hand=1)
    body = {"sku": shirt.sku, "quantity": 1, "location": store.code}
    assert api.post("/api/v1/reservations/", body, format="json").status_code == 201
    refused = api.post("/api/v1/reservations/", body, format="json")
    assert (refused.status_code, refused.json()["code"]) == (409, "insufficient_stock")
