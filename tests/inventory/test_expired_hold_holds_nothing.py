"""A hold past its `expires_at` holds nothing from that moment, whatever the scheduler has done.

Every test here makes a hold that expired one minute ago and runs no job: the
reads (availability, the stock list and row, the admin's figures), new holds
and new orders all see its units as free. The scheduled job only tidies the
row afterwards, and changes no figure.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import selectors, services
from inventory.models import Reservation
from omni.errors import InvalidTransition
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def lapsed(store, shirt):
    """Three on the shelf, all three held by a click & collect hold that expired a minute ago (no job run)."""
    stock(store, shirt, 3)
    hold = services.hold(location=store, variant=shirt, quantity=3, hold_minutes=60)
    Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    hold.refresh_from_db()
    assert (hold.status, level_of(store, shirt).reserved) == ("active", 3)  # nothing tidied it
    return hold


def test_availability_counts_the_units_of_a_hold_that_expired_a_minute_ago(api, store, shirt, lapsed):
    [answer] = api.get("/api/v1/availability/", {"sku": "SHIRT-RED-M", "channel": "web"}).json()["results"]
    assert answer["network_available"] == 3
    assert [(place["code"], place["available"]) for place in answer["locations"]] == [("MI-DUOMO", 3)]


def test_the_stock_list_and_row_show_them_available(api, store, shirt, lapsed):
    [row] = api.get("/api/v1/stock/", {"location": "MI-DUOMO"}).json()["results"]
    assert (row["on_hand"], row["reserved"], row["available"]) == (3, 3, 3)
    assert api.get("/api/v1/stock/MI-DUOMO/SHIRT-RED-M/").json()["available"] == 3
    assert selectors.units_available(selectors.stock_of(store, shirt)) == 3


def test_a_new_hold_gets_the_units(api, store, shirt, lapsed):
    body = {"sku": "SHIRT-RED-M", "quantity": 3, "location": "MI-DUOMO", "hold_minutes": 30}
    response = api.post("/api/v1/reservations/", body, format="json")
    assert response.status_code == 201, response.json()


def test_a_new_order_gets_the_units_shipped_or_carried_out(store, shirt, lapsed):
    shipped = services.allocate(
        lines=[services.LineNeed(shirt, 2)], fulfilment=services.CLICK_AND_COLLECT, pickup_location=store
    )
    assert [(a.location.code, a.quantity) for a in shipped] == [("MI-DUOMO", 2)]
    services.take(location=store, variant=shirt, quantity=1)
    level = level_of(store, shirt)
    assert (level.on_hand, level.reserved) == (2, 5)  # the lapsed 3 still await the job; they hold nothing


def test_the_expired_hold_cannot_be_collected(store, shirt, lapsed):
    with pytest.raises(InvalidTransition, match="expired"):
        services.collect_hold(reservation=lapsed)
    assert level_of(store, shirt).on_hand == 3


def test_the_job_then_tidies_the_hold_without_changing_any_figure(store, shirt, lapsed):
    services.reserve(location=store, variant=shirt, quantity=2)
    before = selectors.units_available(selectors.stock_of(store, shirt))
    assert services.release_expired_holds() == 1
    level = level_of(store, shirt)
    assert (level.reserved, selectors.units_available(selectors.stock_of(store, shirt))) == (2, before)
    assert selectors.ledger_differences() == []
