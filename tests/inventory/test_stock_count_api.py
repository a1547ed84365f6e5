"""PUT /api/v1/stock/{location}/{sku}/: a count sets on hand and the ledger gets the difference."""

import pytest

from inventory.models import StockMovement
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


def url(location: str = "MI-DUOMO", sku: str = "SHIRT-RED-M") -> str:
    return f"/api/v1/stock/{location}/{sku}/"


def test_a_first_count_answers_the_new_stock_row(api, store, shirt):
    response = api.put(url(), {"on_hand": 12, "reason": "opening"}, format="json")
    assert response.status_code == 200, response.json()
    body = response.json()
    assert {k: body[k] for k in ("location", "sku", "on_hand", "reserved", "available")} == {
        "location": "MI-DUOMO",
        "sku": "SHIRT-RED-M",
        "on_hand": 12,
        "reserved": 0,
        "available": 12,
    }
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.api_client) == ("count", 12, api.record)


def test_a_recount_writes_the_difference_and_available_subtracts_reserved_and_safety(api, store, shirt):
    stock(store, shirt, 10, safety_stock=1)
    from inventory import services

    services.reserve(location=store, variant=shirt, quantity=2)
    body = api.put(url(), {"on_hand": 8}, format="json").json()
    assert (body["on_hand"], body["reserved"], body["safety_stock"], body["available"]) == (8, 2, 1, 5)
    last = StockMovement.objects.order_by("-pk").first()
    assert (last.on_hand_delta, last.reason) == (-2, "count")


def test_the_stock_row_can_be_read_back(api, store, shirt):
    stock(store, shirt, 3)
    assert api.get(url()).json()["on_hand"] == 3


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "on_hand"),
        ({"on_hand": -1}, "on_hand"),
        ({"on_hand": 1_000_001}, "on_hand"),
        ({"on_hand": "many"}, "on_hand"),
        ({"on_hand": 2.5}, "on_hand"),
        ({"on_hand": 3, "reason": "x" * 201}, "reason"),
    ],
)
def test_a_bad_count_answers_invalid_naming_the_field_and_writes_nothing(api, store, shirt, body, field):
    response = api.put(url(), body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert not StockMovement.objects.exists()


@pytest.mark.parametrize("location, sku", [("NOWHERE", "SHIRT-RED-M"), ("MI-DUOMO", "NO-SUCH-SKU")])
def test_an_unknown_location_or_sku_answers_not_found_and_writes_nothing(api, store, shirt, location, sku):
    response = api.put(url(location, sku), {"on_hand": 4}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert not StockMovement.objects.exists()


def test_counting_needs_the_stock_scope(make_api_client, store, shirt):
    response = make_api_client(["orders"]).put(url(), {"on_hand": 4}, format="json")
    assert response.status_code == 403
    assert not StockMovement.objects.exists()


def test_a_count_of_zero_empties_the_shelf(api, store, shirt):
    stock(store, shirt, 4)
    assert api.put(url(), {"on_hand": 0}, format="json").json()["available"] == 0
    assert level_of(store, shirt).on_hand == 0
