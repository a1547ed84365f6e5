"""Partial returns, discounted lines and lines paid partly with points refund the right amounts.

The figures below are worked by hand from the rules in returns/services.py:
value = line_total * q / quantity; money = value * paid / total; points back =
points_redeemed * value / total rounded down; points taken back =
points_earned * value / total half-up; all running over the order's returns.
"""

from decimal import Decimal

import pytest

from loyalty.models import Promotion
from returns.models import Return
from tests.returns.conftest import URL, balance, customer_with_points, return_body, web_order

pytestmark = pytest.mark.django_db


def one_tie(**changes) -> list[dict]:
    line = {"sku": "CRAVATTA", "quantity": 1, "reason": "changed_mind", "condition": "resellable"}
    line.update(changes)
    return [line]


def test_three_ties_paid_partly_with_points_returned_one_by_one_refund_exactly_what_was_paid(api, network):
    # 3 x 19.90 = 59.70; 1000 points pay 10.00; the card pays 49.70 and earns 49 points.
    customer = customer_with_points(1000)
    order = web_order(customer, [("CRAVATTA", 3)], [("card", "49.70")], points=1000)
    assert (order.total, order.points_value, order.points_earned) == (Decimal("59.70"), Decimal("10.00"), 49)
    assert balance(customer) == 49

    first = api.post(URL, return_body(order, "MI01", lines=one_tie()), format="json").json()
    # value 19.90; money 19.90 * 49.70 / 59.70 = 16.566.. -> 16.57; points back floor(1000 / 3) = 333;
    # earned taken back 49 / 3 = 16.33 -> 16.
    assert first["returned_value"] == "19.90"
    assert first["refund"] == {"amount": "16.57", "tender": "card"}
    assert (first["points_restored"], first["points_reversed"], first["points_value"]) == (333, 16, "3.33")
    assert balance(customer) == 49 - 16 + 333

    second = api.post(URL, return_body(order, "MI01", lines=one_tie()), format="json").json()
    # running: value 39.80, money 33.13 (16.56 now), points back 666 (333 now), taken back 33 (17 now).
    assert second["refund"]["amount"] == "16.56"
    assert (second["points_restored"], second["points_reversed"]) == (333, 17)

    third = api.post(URL, return_body(order, "MI01", lines=one_tie()), format="json").json()
    # the last tie takes what is left: value 19.90, money 49.70 - 33.13 = 16.57, points 334 and 16.
    assert third["returned_value"] == "19.90"
    assert third["refund"]["amount"] == "16.57"
    assert (third["points_restored"], third["points_reversed"]) == (334, 16)

    returns = Return.objects.filter(order=order)
    assert sum(r.refund_amount for r in returns) == Decimal("49.70")
    assert sum(r.points_restored for r in returns) == 1000
    assert sum(r.points_reversed for r in returns) == 49
    assert balance(customer) == 1000


def test_a_discounted_line_refunds_its_discounted_price_and_the_last_unit_the_remainder(api, network):
    Promotion.objects.create(
        code="cravatte-15",
        name="Ties -15%",
        kind="percent",
        value=Decimal("15"),
        target="category",
        category="cravatte",
    )
    customer = customer_with_points()
    # 3 x 19.90 = 59.70, less 15% (8.955 -> 8.96 on the line) = 50.74 paid by card: 50 points.
    order = web_order(customer, [("CRAVATTA", 3)], [("card", "50.74")])
    line = order.lines.get()
    assert (line.line_total, order.total, order.points_earned) == (Decimal("50.74"), Decimal("50.74"), 50)

    two = api.post(URL, return_body(order, "MI01", lines=one_tie(quantity=2)), format="json").json()
    # 50.74 * 2 / 3 = 33.8266.. -> 33.83; points 50 * 33.83 / 50.74 = 33.34 -> 33.
    assert two["refund"] == {"amount": "33.83", "tender": "card"}
    assert two["points_reversed"] == 33

    last = api.post(URL, return_body(order, "MI01", lines=one_tie()), format="json").json()
    # the last unit: 50.74 - 33.83 = 16.91 (not 16.91 by luck: 50.74 / 3 = 16.913 -> 16.91), points 17.
    assert last["refund"]["amount"] == "16.91"
    assert last["points_reversed"] == 17
    assert balance(customer) == 0


def test_an_order_paid_with_two_tenders_refunds_each_in_proportion(api, network):
    customer = customer_with_points()
    # 79.80 paid 50.00 by card and 29.80 with a gift card.
    order = web_order(customer, [("CAM-ROSSA-M", 2)], [("card", "50.00"), ("gift_card", "29.80")])

    body = api.post(URL, return_body(order, "MI01"), format="json").json()

    # 39.90 back: gift card 39.90 * 29.80 / 79.80 = 14.90, the card the rest, 25.00.
    assert body["refund"] == {"amount": "39.90", "tender": "card"}
    assert body["refunds"] == [{"tender": "card", "amount": "25.00"}, {"tender": "gift_card", "amount": "14.90"}]


def test_an_order_paid_entirely_with_points_gives_the_points_back_and_no_money(api, network):
    customer = customer_with_points(5000)
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [], points=3990)
    assert order.points_earned == 0

    body = api.post(URL, return_body(order, "MI01"), format="json").json()

    assert body["refund"] == {"amount": "0.00", "tender": None}
    assert body["refunds"] == []
    assert (body["points_restored"], body["points_reversed"], body["points_value"]) == (3990, 0, "39.90")
    assert balance(customer) == 5000
