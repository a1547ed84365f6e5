"""What cannot be returned is refused with the contract's code, and nothing is written."""

from datetime import timedelta

import pytest

from inventory.models import StockMovement
from loyalty.models import LedgerEntry, StoreCreditEntry
from omni.models import OutboxMessage
from omni.orders.models import Order
from returns.models import Refund, Return, ReturnLine, ReturnPolicy
from tests.factories import channel
from tests.returns.conftest import URL, customer_with_points, return_body, till_sale, web_order

pytestmark = pytest.mark.django_db


def written() -> tuple[int, ...]:
    return tuple(
        model.objects.count()
        for model in (Return, ReturnLine, Refund, StockMovement, LedgerEntry, StoreCreditEntry, OutboxMessage)
    )


@pytest.fixture
def order(network):
    return web_order(customer_with_points(), [("CAM-ROSSA-M", 2)], [("card", "79.80")])


def refused(api, body, status: int, code: str, url: str = URL) -> dict:
    before = written()
    response = api.post(url, body, format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    assert written() == before
    return response.json()


def test_returning_more_than_was_bought_counting_earlier_returns_is_refused(api, order):
    assert api.post(URL, return_body(order), format="json").status_code == 201
    lines = [{"sku": "CAM-ROSSA-M", "quantity": 2, "reason": "wrong_size"}]
    answer = refused(api, return_body(order, lines=lines), 409, "quantity_exceeds_purchased")
    assert "1 can still be returned" in answer["detail"]


def test_a_requested_return_counts_against_what_can_still_be_returned_until_it_is_cancelled(api, order):
    lines = [{"sku": "CAM-ROSSA-M", "quantity": 2, "reason": "wrong_size"}]
    asked = api.post(URL, return_body(order, None, lines=lines, receive=False), format="json").json()
    refused(api, return_body(order), 409, "quantity_exceeds_purchased")

    cancelled = api.post(f"{URL}{asked['rma']}/cancel/", format="json")

    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    assert api.post(URL, return_body(order), format="json").status_code == 201


def test_a_return_after_the_channels_window_is_refused(api, network):
    order = till_sale(None, network["milano"], [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    Order.objects.filter(pk=order.pk).update(created_at=order.created_at - timedelta(days=31))
    answer = refused(api, return_body(order), 409, "return_window_expired")
    assert "could be returned until" in answer["detail"]


def test_the_window_is_set_per_channel(api, network):
    order = till_sale(None, network["milano"], [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    Order.objects.filter(pk=order.pk).update(created_at=order.created_at - timedelta(days=31))
    ReturnPolicy.objects.filter(channel=channel("store")).update(window_days=60)
    assert api.post(URL, return_body(order), format="json").status_code == 201


def test_a_web_order_counts_its_window_from_the_day_it_was_shipped(api, network):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    Order.objects.filter(pk=order.pk).update(created_at=order.created_at - timedelta(days=40))
    assert api.post(URL, return_body(order), format="json").status_code == 201


def test_an_order_not_handed_over_yet_cannot_be_returned(api, network):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 1)], [("card", "39.90")], shipped=False)
    refused(api, return_body(order), 409, "invalid_transition")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"order_number": "OM-NOPE"}, "order"),
        ({"lines": [{"sku": "CRAVATTA", "quantity": 1, "reason": "wrong_size"}]}, "lines.0.sku"),
        ({"lines": [{"sku": "CAM-ROSSA-M", "quantity": 0, "reason": "wrong_size"}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "CAM-ROSSA-M", "quantity": "two", "reason": "wrong_size"}]}, "lines.0.quantity"),
        ({"lines": [{"sku": "CAM-ROSSA-M", "quantity": 1, "reason": "no-such-reason"}]}, "lines.0.reason"),
        (
            {"lines": [{"sku": "CAM-ROSSA-M", "quantity": 1, "reason": "wrong_size", "condition": "worn"}]},
            "lines.0.condition",
        ),
        ({"lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}]}, "lines.0.reason"),
        ({"lines": []}, "lines"),
        ({"location": None}, "location"),
        ({"location": "NOWHERE"}, "location"),
        ({"refund_to": "cash"}, "refund_to"),
        ({"receive": "maybe"}, "receive"),
    ],
)
def test_bad_input_answers_invalid_with_the_field_named(api, order, change, field):
    body = return_body(order)
    body.update(change)
    if "order_number" in body:
        body["order"] = body.pop("order_number")
    answer = refused(api, body, 400, "invalid")
    assert field in answer["errors"], answer


def test_the_same_sku_twice_in_one_return_is_refused(api, order):
    line = {"sku": "CAM-ROSSA-M", "quantity": 1, "reason": "wrong_size"}
    answer = refused(api, return_body(order, lines=[line, line]), 400, "invalid")
    assert "lines.1.sku" in answer["errors"]


def test_store_credit_for_an_order_without_a_customer_is_refused(api, network):
    order = till_sale(None, network["milano"], [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    answer = refused(api, return_body(order, refund_to="store_credit"), 400, "invalid")
    assert "refund_to" in answer["errors"]


def test_receiving_a_return_twice_is_an_invalid_transition(api, order):
    asked = api.post(URL, return_body(order, None, receive=False), format="json").json()
    assert api.post(f"{URL}{asked['rma']}/receive/", {"location": "MI01"}, format="json").status_code == 200
    refused(api, {"location": "MI01"}, 409, "invalid_transition", url=f"{URL}{asked['rma']}/receive/")
    refused(api, {}, 409, "invalid_transition", url=f"{URL}{asked['rma']}/cancel/")


def test_receiving_more_than_was_asked_or_another_sku_is_refused(api, order):
    asked = api.post(URL, return_body(order, None, receive=False), format="json").json()
    receive = f"{URL}{asked['rma']}/receive/"
    too_many = {"location": "MI01", "lines": [{"sku": "CAM-ROSSA-M", "quantity": 2}]}
    assert "lines.0.quantity" in refused(api, too_many, 400, "invalid", url=receive)["errors"]
    other = {"location": "MI01", "lines": [{"sku": "CRAVATTA", "quantity": 1}]}
    assert "lines.0.sku" in refused(api, other, 400, "invalid", url=receive)["errors"]
    assert "location" in refused(api, {}, 400, "invalid", url=receive)["errors"]


def test_an_unknown_rma_is_not_found(api, network):
    assert api.get(f"{URL}RMA9999999/").status_code == 404
    assert api.post(f"{URL}RMA9999999/receive/", {"location": "MI01"}, format="json").json()["code"] == "not_found"


def test_a_key_without_the_returns_scope_is_forbidden(make_api_client, order):
    client = make_api_client(["orders"])
    assert client.post(URL, return_body(order), format="json").status_code == 403
    assert client.get(URL).status_code == 403


@pytest.mark.parametrize("customer", ["1.5", "1.1753300858254072e+32", "-3", "abc"])
def test_a_list_filter_the_database_cannot_hold_answers_invalid(api, network, customer):
    response = api.get(URL, {"customer": customer})
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
