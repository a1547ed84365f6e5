"""The other size instead: a return and a new order in one step, settling only the difference."""

from decimal import Decimal

import pytest

from loyalty.models import StoreCreditBalance
from omni.orders.models import Order
from returns.models import Return
from tests.returns.conftest import URL, customer_with_points, on_hand, return_body, till_sale, web_order

pytestmark = pytest.mark.django_db


def exchange_body(order, take, tender="card", give=None, **changes) -> dict:
    body = return_body(order, "MI01", lines=give, exchange={"lines": take, "tender": tender})
    body.update(changes)
    return body


def test_the_other_size_at_the_same_price_changes_no_money_and_moves_stock_both_ways(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    medium, large = on_hand(network["milano"], network["medium"]), on_hand(network["milano"], network["large"])

    response = api.post(URL, exchange_body(order, [{"sku": "CAM-ROSSA-L", "quantity": 1}]), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "received"
    assert body["refunds"] == [{"tender": "exchange", "amount": "39.90"}]
    assert body["exchange"]["total"] == "39.90"
    assert (body["exchange"]["credit_used"], body["exchange"]["to_pay"], body["exchange"]["tender"]) == (
        "39.90",
        "0.00",
        None,
    )
    new = Order.objects.get(number=body["exchange"]["order"])
    assert (new.channel.code, new.location, new.status, new.customer) == (
        "store",
        network["milano"],
        "completed",
        customer,
    )
    assert [(p.tender, p.amount) for p in new.payments.all()] == [("store_credit", Decimal("39.90"))]
    assert Return.objects.get(rma=body["rma"]).exchange_order == new
    assert on_hand(network["milano"], network["medium"]) == medium + 1
    assert on_hand(network["milano"], network["large"]) == large - 1
    assert StoreCreditBalance.objects.get(customer=customer).balance == Decimal("0.00")


def test_taking_something_dearer_pays_only_the_difference(api, network):
    customer = customer_with_points()
    order = till_sale(customer, network["roma"], [("CRAVATTA", 1)], [("cash", "19.90")])
    give = [{"sku": "CRAVATTA", "quantity": 1, "reason": "changed_mind"}]

    body = api.post(
        URL, exchange_body(order, [{"sku": "CAM-ROSSA-L", "quantity": 1}], tender="card", give=give), format="json"
    ).json()

    assert body["exchange"]["credit_used"] == "19.90"
    assert (body["exchange"]["to_pay"], body["exchange"]["tender"]) == ("20.00", "card")
    new = Order.objects.get(number=body["exchange"]["order"])
    assert sorted((p.tender, p.amount) for p in new.payments.all()) == [
        ("card", Decimal("20.00")),
        ("store_credit", Decimal("19.90")),
    ]


def test_taking_something_cheaper_refunds_the_rest_to_the_original_tender(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [("card", "39.90")])

    body = api.post(URL, exchange_body(order, [{"sku": "CRAVATTA", "quantity": 1}]), format="json").json()

    assert body["refund"]["amount"] == "39.90"
    assert body["refunds"] == [{"tender": "exchange", "amount": "19.90"}, {"tender": "card", "amount": "20.00"}]
    assert body["exchange"]["to_pay"] == "0.00"


def test_an_exchange_that_cannot_be_served_writes_nothing(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    from inventory import services as inventory

    inventory.count(location=network["milano"], variant=network["large"], on_hand=0, reason="sold out")
    returns_before, orders_before = Return.objects.count(), Order.objects.count()

    response = api.post(URL, exchange_body(order, [{"sku": "CAM-ROSSA-L", "quantity": 1}]), format="json")

    assert (response.status_code, response.json()["code"]) == (409, "insufficient_stock")
    assert (Return.objects.count(), Order.objects.count()) == (returns_before, orders_before)


def test_an_exchange_needs_a_known_customer(api, network):
    order = till_sale(None, network["milano"], [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    response = api.post(URL, exchange_body(order, [{"sku": "CAM-ROSSA-L", "quantity": 1}]), format="json")
    assert (response.status_code, response.json()["code"]) == (400, "invalid")
    assert "order" in response.json()["errors"]
