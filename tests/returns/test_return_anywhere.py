"""Bought on one channel, returned at any location: stock, money, points and the timeline follow."""

from decimal import Decimal

import pytest

from loyalty.models import LedgerEntry, StoreCreditBalance
from tests.returns.conftest import URL, balance, customer_with_points, on_hand, return_body, till_sale, web_order

pytestmark = pytest.mark.django_db


def test_bought_online_returned_in_a_store_restocks_the_store_refunds_the_card_and_takes_back_the_points(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 2)], [("card", "79.80")])
    assert order.points_earned == 79
    milano_before = on_hand(network["milano"], network["medium"])

    response = api.post(URL, return_body(order, "MI01"), format="json")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["rma"].startswith("RMA")
    assert body["status"] == "received"
    assert body["refund"] == {"amount": "39.90", "tender": "card"}
    assert body["refunds"] == [{"tender": "card", "amount": "39.90"}]
    # 79 points earned on 79.80: the returned half takes back 79 * 39.90 / 79.80 = 39.5, half-up 40.
    assert body["points_reversed"] == 40
    assert body["restocked"] == [{"sku": "CAM-ROSSA-M", "location": "MI01", "quantity": 1}]
    assert on_hand(network["milano"], network["medium"]) == milano_before + 1
    assert balance(customer) == 39

    timeline = api.get(f"/api/v1/customers/{customer.pk}/timeline/").json()
    entries = timeline["results"] if isinstance(timeline, dict) else timeline
    mine = [e for e in entries if e.get("reference") == body["rma"]]
    assert len(mine) == 1
    assert mine[0]["kind"] == "return"
    assert Decimal(mine[0]["amount"]) == Decimal("39.90")
    assert mine[0]["points"] == -40


def test_the_second_half_returned_later_takes_back_exactly_what_is_left(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 2)], [("card", "79.80")])
    api.post(URL, return_body(order, "MI01"), format="json")

    second = api.post(URL, return_body(order, "RM01"), format="json").json()

    assert second["refund"] == {"amount": "39.90", "tender": "card"}
    assert second["points_reversed"] == 39  # 79 earned, 40 already taken back
    assert balance(customer) == 0


def test_bought_in_a_store_returned_by_post_to_the_warehouse(api, network):
    customer = customer_with_points()
    order = till_sale(customer, network["milano"], [("CAM-ROSSA-M", 1), ("CRAVATTA", 1)], [("cash", "59.80")])
    assert order.points_earned == 59
    warehouse_before = on_hand(network["warehouse"], network["tie"])
    milano_before = on_hand(network["milano"], network["tie"])

    asked = api.post(
        URL,
        return_body(
            order,
            None,
            lines=[{"sku": "CRAVATTA", "quantity": 1, "reason": "changed_mind"}],
            receive=False,
        ),
        format="json",
    )
    assert asked.status_code == 201, asked.json()
    assert asked.json()["status"] == "requested"
    assert asked.json()["refund"] == {"amount": "0.00", "tender": None}
    assert asked.json()["restocked"] == []
    assert balance(customer) == 59

    received = api.post(f"{URL}{asked.json()['rma']}/receive/", {"location": "WH-PC"}, format="json")

    assert received.status_code == 200, received.json()
    body = received.json()
    assert body["status"] == "received"
    assert body["refund"] == {"amount": "19.90", "tender": "cash"}
    # 59 * 19.90 / 59.80 = 19.63: 20 points back.
    assert body["points_reversed"] == 20
    assert body["restocked"] == [{"sku": "CRAVATTA", "location": "WH-PC", "quantity": 1}]
    assert on_hand(network["warehouse"], network["tie"]) == warehouse_before + 1
    assert on_hand(network["milano"], network["tie"]) == milano_before
    assert balance(customer) == 39


def test_a_damaged_unit_goes_to_quarantine_not_to_sellable_stock(api, network):
    from tests.returns.conftest import quarantined

    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    before = on_hand(network["roma"], network["medium"])
    lines = [{"sku": "CAM-ROSSA-M", "quantity": 1, "reason": "damaged", "condition": "damaged"}]

    body = api.post(URL, return_body(order, "RM01", lines=lines), format="json").json()

    assert body["restocked"] == []
    assert body["quarantined"] == [{"sku": "CAM-ROSSA-M", "location": "RM01", "quantity": 1}]
    assert on_hand(network["roma"], network["medium"]) == before
    assert quarantined(network["roma"], network["medium"]) == 1
    assert body["refund"]["amount"] == "39.90"


def test_a_refund_to_store_credit_lands_on_the_balance_spendable_on_every_channel(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [("card", "39.90")])

    body = api.post(URL, return_body(order, "MI01", refund_to="store_credit"), format="json").json()

    assert body["refund"] == {"amount": "39.90", "tender": "store_credit"}
    assert StoreCreditBalance.objects.get(customer=customer).balance == Decimal("39.90")
    spent = web_order(customer, [("CRAVATTA", 1)], [("store_credit", "19.90")], shipped=False)
    assert spent.total == Decimal("19.90")
    assert StoreCreditBalance.objects.get(customer=customer).balance == Decimal("20.00")


def test_the_reversal_is_on_the_points_ledger_with_the_rma(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [("card", "39.90")])

    rma = api.post(URL, return_body(order, "MI01"), format="json").json()["rma"]

    entry = LedgerEntry.objects.get(order=order, kind="reverse")
    assert (entry.points, entry.reference) == (-39, rma)


def test_an_anonymous_till_receipt_can_be_returned_to_the_original_tender(api, network):
    order = till_sale(None, network["milano"], [("CAM-ROSSA-M", 1)], [("card", "39.90")])

    response = api.post(URL, return_body(order, "RM01"), format="json")

    assert response.status_code == 201, response.json()
    assert response.json()["refund"] == {"amount": "39.90", "tender": "card"}
    assert response.json()["points_reversed"] == 0
