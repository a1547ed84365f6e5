"""A return asked for on the site is received wherever the parcel arrives, or dropped."""

import pytest

from tests.returns.conftest import (
    URL,
    balance,
    customer_with_points,
    on_hand,
    quarantined,
    return_body,
    web_order,
)

pytestmark = pytest.mark.django_db


def both_lines():
    return [
        {"sku": "CAM-ROSSA-M", "quantity": 2, "reason": "wrong_size"},
        {"sku": "CRAVATTA", "quantity": 1, "reason": "not_as_described"},
    ]


def test_a_requested_return_writes_no_stock_no_refund_and_no_points(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 2), ("CRAVATTA", 1)], [("card", "99.70")])
    before = on_hand(network["milano"], network["medium"])

    body = api.post(URL, return_body(order, None, lines=both_lines(), receive=False), format="json").json()

    assert (body["status"], body["location"], body["points_reversed"]) == ("requested", None, 0)
    assert [(line["sku"], line["quantity"]) for line in body["lines"]] == [("CAM-ROSSA-M", 2), ("CRAVATTA", 1)]
    assert on_hand(network["milano"], network["medium"]) == before
    assert balance(customer) == 99
    assert api.get(f"{URL}{body['rma']}/").json()["status"] == "requested"


def test_the_parcel_received_with_one_shirt_damaged_and_the_tie_missing(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 2), ("CRAVATTA", 1)], [("card", "99.70")])
    rma = api.post(URL, return_body(order, None, lines=both_lines(), receive=False), format="json").json()["rma"]
    before = on_hand(network["roma"], network["medium"])

    received = api.post(
        f"{URL}{rma}/receive/",
        {"location": "RM01", "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1, "condition": "damaged"}]},
        format="json",
    )

    assert received.status_code == 200, received.json()
    body = received.json()
    assert body["quarantined"] == [{"sku": "CAM-ROSSA-M", "location": "RM01", "quantity": 1}]
    assert body["restocked"] == []
    assert body["refund"] == {"amount": "39.90", "tender": "card"}
    assert on_hand(network["roma"], network["medium"]) == before
    assert quarantined(network["roma"], network["medium"]) == 1
    # What did not arrive can still be returned: one shirt and the tie.
    again = api.post(URL, return_body(order, "MI01", lines=both_lines()), format="json")
    assert again.json()["code"] == "quantity_exceeds_purchased"
    lines = [
        {"sku": "CAM-ROSSA-M", "quantity": 1, "reason": "wrong_size"},
        {"sku": "CRAVATTA", "quantity": 1, "reason": "wrong_size"},
    ]
    assert api.post(URL, return_body(order, "MI01", lines=lines), format="json").status_code == 201


def test_a_cancelled_return_cannot_be_received(api, network):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    rma = api.post(URL, return_body(order, None, receive=False), format="json").json()["rma"]
    api.post(f"{URL}{rma}/cancel/")

    response = api.post(f"{URL}{rma}/receive/", {"location": "MI01"}, format="json")

    assert (response.status_code, response.json()["code"]) == (409, "invalid_transition")


def test_the_list_filters_by_order_and_location_at_a_constant_number_of_queries(
    api, network, django_assert_max_num_queries
):
    orders = [web_order(customer_with_points(), [("CAM-ROSSA-M", 2)], [("card", "79.80")]) for _ in range(3)]
    for order in orders:
        api.post(URL, return_body(order, "MI01"), format="json")
        api.post(URL, return_body(order, "RM01"), format="json")

    with django_assert_max_num_queries(10):
        page = api.get(URL, {"location": "MI01"}).json()
    assert page["count"] == 3
    assert {r["location"] for r in page["results"]} == {"MI01"}
    mine = api.get(URL, {"order": orders[0].number}).json()
    assert mine["count"] == 2
    assert {r["order"] for r in mine["results"]} == {orders[0].number}
