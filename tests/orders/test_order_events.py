"""Orders move through their states; stock and points follow each move."""

import pytest

from inventory.models import StockLevel
from loyalty import services as loyalty
from loyalty.models import LoyaltyAccount
from tests.factories import CustomerFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


def place(api, fulfilment: dict, **changes) -> dict:
    body = {
        "channel": "web",
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": fulfilment,
        "payments": [{"tender": "card", "amount": "39.90"}],
        **changes,
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def event(api, number: str, kind: str):
    return api.post(f"{URL}{number}/events/", {"type": kind}, format="json")


def units(location, variant) -> tuple[int, int]:
    row = StockLevel.objects.get(location=location, variant=variant)
    return row.on_hand, row.reserved


def test_click_and_collect_is_held_at_the_pickup_store_then_collected(api, network):
    stock(network["milano"], network["shirt"], 2)
    order = place(api, {"type": "click_and_collect", "pickup_location": "MI01"})
    assert order["lines"][0]["allocations"] == [{"location": "MI01", "quantity": 1}]
    assert units(network["milano"], network["shirt"]) == (2, 1)
    assert event(api, order["number"], "ready_for_pickup").json()["status"] == "ready_for_pickup"
    assert event(api, order["number"], "collected").json()["status"] == "collected"
    assert units(network["milano"], network["shirt"]) == (1, 0)


def test_shipping_takes_the_reserved_units_out_of_the_warehouse(api, network):
    stock(network["warehouse"], network["shirt"], 4)
    order = place(api, {"type": "ship_to_home", "address": {"city": "Bari"}})
    assert units(network["warehouse"], network["shirt"]) == (4, 1)
    assert event(api, order["number"], "shipped").json()["status"] == "shipped"
    assert units(network["warehouse"], network["shirt"]) == (3, 0)


def test_ship_to_store_goes_shipped_ready_collected(api, network):
    stock(network["warehouse"], network["shirt"], 1)
    order = place(api, {"type": "ship_to_store", "pickup_location": "MI01"})
    for step in ("shipped", "ready_for_pickup", "collected"):
        assert event(api, order["number"], step).json()["status"] == step
    assert units(network["warehouse"], network["shirt"]) == (0, 0)


def test_cancelling_releases_the_units_and_gives_back_the_points(api, network):
    customer = CustomerFactory()
    account = loyalty.open_account(customer=customer)
    loyalty.earn(account=account, points=500)
    stock(network["milano"], network["shirt"], 1)
    order = place(
        api,
        {"type": "click_and_collect", "pickup_location": "MI01"},
        customer=customer.pk,
        points_to_redeem=490,
        payments=[{"tender": "card", "amount": "35.00"}],
    )
    assert LoyaltyAccount.objects.get(pk=account.pk).balance == 500 - 490 + 35
    assert event(api, order["number"], "cancelled").json()["status"] == "cancelled"
    assert units(network["milano"], network["shirt"]) == (1, 0)
    assert LoyaltyAccount.objects.get(pk=account.pk).balance == 500
    assert loyalty.recompute_balances() == []


@pytest.mark.parametrize(
    ("fulfilment", "steps", "refused"),
    [
        ({"type": "click_and_collect", "pickup_location": "MI01"}, [], "collected"),
        ({"type": "click_and_collect", "pickup_location": "MI01"}, [], "shipped"),
        ({"type": "click_and_collect", "pickup_location": "MI01"}, ["ready_for_pickup", "collected"], "cancelled"),
        ({"type": "ship_to_home", "address": {"city": "Bari"}}, [], "ready_for_pickup"),
        ({"type": "ship_to_home", "address": {"city": "Bari"}}, ["shipped"], "shipped"),
        ({"type": "ship_to_home", "address": {"city": "Bari"}}, ["shipped"], "cancelled"),
        ({"type": "ship_to_home", "address": {"city": "Bari"}}, ["cancelled"], "shipped"),
    ],
)
def test_any_other_move_is_a_409_invalid_transition(api, network, fulfilment, steps, refused):
    stock(network["milano"], network["shirt"], 1)
    stock(network["warehouse"], network["shirt"], 1)
    order = place(api, fulfilment)
    for step in steps:
        assert event(api, order["number"], step).status_code == 200
    before = api.get(f"{URL}{order['number']}/").json()["status"]
    response = event(api, order["number"], refused)
    assert response.status_code == 409
    assert response.json()["code"] == "invalid_transition"
    assert api.get(f"{URL}{order['number']}/").json()["status"] == before


def test_a_till_sale_cannot_be_cancelled_by_an_event(api, network):
    stock(network["milano"], network["shirt"], 1)
    body = {
        "channel": "store",
        "location": "MI01",
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "payments": [{"tender": "cash", "amount": "39.90"}],
    }
    number = api.post(URL, body, format="json").json()["number"]
    assert event(api, number, "cancelled").json()["code"] == "invalid_transition"


def test_an_unknown_event_is_a_400_and_an_unknown_order_a_404(api, network):
    stock(network["milano"], network["shirt"], 1)
    order = place(api, {"type": "click_and_collect", "pickup_location": "MI01"})
    assert event(api, order["number"], "teleported").status_code == 400
    assert event(api, "NOPE", "shipped").status_code == 404
