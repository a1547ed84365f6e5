"""Gift cards: sold as an order line, read by code, spent on any channel, never below zero, refunded onto."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from loyalty import gift_cards
from loyalty.models import GiftCard, GiftCardEntry
from omni.errors import InsufficientGiftCardBalance
from omni.orders.models import Order
from tests.factories import CustomerFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


def sell_card(api, amount: str = "50.00", tender: str = "cash") -> dict:
    """A gift card sold at the Milano counter, alone on its receipt."""
    body = {
        "channel": "store",
        "location": "MI01",
        "gift_cards": [{"amount": amount}],
        "payments": [{"tender": tender, "amount": amount}],
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def web_order(payments, **changes) -> dict:
    return {
        "channel": "web",
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": {"type": "click_and_collect", "pickup_location": "MI01"},
        "payments": payments,
        **changes,
    }


def test_a_gift_card_sold_at_the_counter_is_an_order_line_with_a_code_and_a_balance(api, network):
    order = sell_card(api, "50.00")

    assert order["total"] == "50.00"
    assert [(line["sku"], line["line_total"]) for line in order["lines"]] == [("GIFT-CARD", "50.00")]
    [sold] = order["gift_cards"]
    assert sold["amount"] == "50.00" and len(sold["code"]) == 16
    card = api.get(f"/api/v1/gift-cards/{gift_cards.printed(sold['code']).lower()}/")
    assert card.status_code == 200
    assert (card.json()["balance"], card.json()["initial_amount"]) == ("50.00", "50.00")
    assert order["points_earned"] == 0  # points are earned when the card is spent, not when it is bought


def test_a_gift_card_pays_a_web_order_with_a_card_for_the_rest(api, network):
    code = sell_card(api, "30.00")["gift_cards"][0]["code"]
    stock(network["milano"], network["shirt"], 1)

    payments = [{"tender": "gift_card", "amount": "30.00", "gift_card": code}, {"tender": "card", "amount": "9.90"}]
    response = api.post(URL, web_order(payments), format="json")

    assert response.status_code == 201, response.json()
    assert api.get(f"/api/v1/gift-cards/{code}/").json()["balance"] == "0.00"
    assert gift_cards.differences() == []


def test_last_used_at_moves_when_the_card_pays_and_when_money_comes_back(api, network):
    code = sell_card(api, "50.00")["gift_cards"][0]["code"]
    sold_on = timezone.now() - timedelta(days=30)
    GiftCard.objects.filter(code=code).update(issued_at=sold_on, updated_at=sold_on)  # sold a month ago
    stock(network["milano"], network["shirt"], 1)

    order = api.post(URL, web_order([{"tender": "gift_card", "amount": "39.90", "gift_card": code}]), format="json")
    paid = datetime.fromisoformat(api.get(f"/api/v1/gift-cards/{code}/").json()["last_used_at"])
    assert paid > sold_on + timedelta(days=29)

    GiftCard.objects.filter(code=code).update(updated_at=sold_on)
    api.post(f"{URL}{order.json()['number']}/events/", {"type": "cancelled"}, format="json")
    refunded = datetime.fromisoformat(api.get(f"/api/v1/gift-cards/{code}/").json()["last_used_at"])
    assert refunded > sold_on + timedelta(days=29)


def test_spending_more_than_the_card_holds_is_a_409_and_writes_nothing(api, network):
    code = sell_card(api, "20.00")["gift_cards"][0]["code"]
    stock(network["milano"], network["shirt"], 1)
    orders_before, entries_before = Order.objects.count(), GiftCardEntry.objects.count()

    payments = [{"tender": "gift_card", "amount": "39.90", "gift_card": code}]
    response = api.post(URL, web_order(payments), format="json")

    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_gift_card_balance"
    assert (Order.objects.count(), GiftCardEntry.objects.count()) == (orders_before, entries_before)
    assert GiftCard.objects.get(code=code).balance == Decimal("20.00")
    assert network["shirt"].stock_levels.get().reserved == 0


def test_an_unknown_code_is_refused_by_field(api, network):
    stock(network["milano"], network["shirt"], 1)
    payments = [{"tender": "gift_card", "amount": "39.90", "gift_card": "NOPE-NOPE"}]
    response = api.post(URL, web_order(payments), format="json")
    assert response.status_code == 400
    assert "payments.0.gift_card" in response.json()["errors"]
    assert api.get("/api/v1/gift-cards/NOPE/").json()["code"] == "not_found"


def test_a_gift_card_is_sold_on_a_carry_out_order_and_not_with_another_gift_card(api, network):
    stock(network["milano"], network["shirt"], 1)
    shipped = web_order([{"tender": "card", "amount": "64.90"}], gift_cards=[{"amount": "25.00"}])
    assert api.post(URL, shipped, format="json").json()["errors"].keys() == {"gift_cards"}
    code = sell_card(api, "20.00")["gift_cards"][0]["code"]
    swap = {
        "channel": "store",
        "location": "MI01",
        "gift_cards": [{"amount": "20.00"}],
        "payments": [{"tender": "gift_card", "amount": "20.00", "gift_card": code}],
    }
    assert api.post(URL, swap, format="json").status_code == 400
    assert GiftCard.objects.count() == 1


def test_a_cancelled_order_puts_the_money_back_on_the_card(api, network):
    code = sell_card(api, "50.00")["gift_cards"][0]["code"]
    stock(network["milano"], network["shirt"], 1)
    order = api.post(
        URL, web_order([{"tender": "gift_card", "amount": "39.90", "gift_card": code}]), format="json"
    ).json()
    assert api.get(f"/api/v1/gift-cards/{code}/").json()["balance"] == "10.10"

    api.post(f"{URL}{order['number']}/events/", {"type": "cancelled"}, format="json")

    assert api.get(f"/api/v1/gift-cards/{code}/").json()["balance"] == "50.00"
    assert gift_cards.differences() == []


def test_a_returned_item_paid_by_gift_card_is_refunded_onto_the_card_in_proportion(api, network):
    customer = CustomerFactory()
    code = sell_card(api, "20.00")["gift_cards"][0]["code"]
    stock(network["milano"], network["shirt"], 2)
    body = {
        "channel": "store",
        "location": "MI01",
        "customer": customer.pk,
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 2}],
        "payments": [
            {"tender": "gift_card", "amount": "20.00", "gift_card": code},
            {"tender": "card", "amount": "59.80"},
        ],
    }
    order = api.post(URL, body, format="json").json()
    assert api.get(f"/api/v1/gift-cards/{code}/").json()["balance"] == "0.00"

    one = {"sku": "CAM-ROSSA-M", "quantity": 1, "reason": "wrong_size", "condition": "resellable"}
    returned = api.post(
        "/api/v1/returns/", {"order": order["number"], "location": "MI01", "lines": [one]}, format="json"
    )

    assert returned.status_code == 201, returned.json()
    # 39.90 back: the gift card paid 20.00 of 79.80, so 39.90 * 20 / 79.80 = 10.00 goes back onto it.
    assert {"tender": "gift_card", "amount": "10.00"} in returned.json()["refunds"]
    assert api.get(f"/api/v1/gift-cards/{code}/").json()["balance"] == "10.00"
    api.post("/api/v1/returns/", {"order": order["number"], "location": "MI01", "lines": [one]}, format="json")
    assert api.get(f"/api/v1/gift-cards/{code}/").json()["balance"] == "20.00"  # never more than it paid
    assert gift_cards.differences() == []


def test_a_gift_card_line_cannot_be_returned(api, network):
    order = sell_card(api, "50.00")
    line = {"sku": "GIFT-CARD", "quantity": 1, "reason": "wrong_size", "condition": "resellable"}
    response = api.post(
        "/api/v1/returns/", {"order": order["number"], "location": "MI01", "lines": [line]}, format="json"
    )
    assert response.status_code == 400
    assert "lines.0.sku" in response.json()["errors"]


def test_a_gift_card_sku_is_not_sold_as_a_plain_line(api, network):
    sell_card(api, "50.00")
    body = {
        "channel": "store",
        "location": "MI01",
        "lines": [{"sku": "GIFT-CARD", "quantity": 1, "unit_price": "10.00"}],
        "payments": [{"tender": "cash", "amount": "10.00"}],
    }
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert "lines.0.sku" in response.json()["errors"]


@pytest.mark.postgres_only("two payments in threads at once: SQLite serialises writers, so a race proves nothing")
@pytest.mark.django_db(transaction=True)
def test_two_channels_spending_the_last_euros_of_a_card_at_once_give_one_payment():
    card = gift_cards.issue(amount=Decimal("30.00"))
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def pay():
        try:
            barrier.wait()
            gift_cards.spend(card=card, amount=Decimal("25.00"))
            outcomes.append("paid")
        except InsufficientGiftCardBalance:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=pay) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(outcomes) == ["paid", "refused"]
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("5.00")
    assert gift_cards.differences() == []
