"""Each process keeps the programme, the earning rules and the promotions between orders; a change made in the
admin is seen by the very next order, and a change rolled back is never seen."""

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from loyalty.models import Programme, Promotion
from loyalty.pricing import LineIn, quote_basket, rulebook
from omni.catalog.models import Channel
from omni.orders import services
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db


def sell(network, amount: str = "39.90"):
    return services.record_order(
        channel=Channel.objects.get(code="store"),
        location=network["milano"],
        identifiers=[{"kind": "email", "value": "anna@example.it"}],
        lines=[LineIn("CAM-ROSSA-M", 1)],
        payments=[services.PaymentIn(tender="card", amount=Decimal(amount))],
    )


def quoted_total() -> Decimal:
    return quote_basket(channel=Channel.objects.get(code="store"), lines=[LineIn("CAM-ROSSA-M", 1)]).total


def test_an_order_reads_the_rules_it_already_holds_in_one_query(network):
    stock(network["milano"], network["shirt"], 5)
    sell(network)
    with CaptureQueriesContext(connection) as queries:
        book = rulebook()
    assert len(queries.captured_queries) == 1  # the token only: programme, rules and promotions are kept
    assert book.programme == Programme.objects.get()


def test_a_programme_changed_in_the_admin_is_used_by_the_next_order(network, admin_client):
    stock(network["milano"], network["shirt"], 5)
    assert sell(network).points_earned == 39
    programme = Programme.objects.get()
    response = admin_client.post(
        f"/admin/loyalty/programme/{programme.pk}/change/",
        {
            "name": programme.name,
            "points_per_euro": "3",
            "point_value": str(programme.point_value),
            "points_valid_days": programme.points_valid_days,
            "tier_window_days": programme.tier_window_days,
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert sell(network).points_earned == 119


def test_a_promotion_added_then_deleted_in_the_admin_is_seen_by_the_next_order(network, admin_client):
    stock(network["milano"], network["shirt"], 5)
    sell(network)
    response = admin_client.post(
        "/admin/loyalty/promotion/add/",
        {
            "code": "half",
            "name": "Half price",
            "kind": "percent",
            "value": "50",
            "target": "basket",
            "min_basket": "0",
            "category": "",
            "starts_at_0": "",
            "starts_at_1": "",
            "ends_at_0": "",
            "ends_at_1": "",
            "is_active": "on",
        },
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert sell(network, "19.95").total == Decimal("19.95")

    promotion = Promotion.objects.get(code="half")
    response = admin_client.post(f"/admin/loyalty/promotion/{promotion.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert sell(network).total == Decimal("39.90")


def test_a_change_rolled_back_is_never_seen_by_a_later_order(network):
    stock(network["milano"], network["shirt"], 5)
    assert quoted_total() == Decimal("39.90")
    with pytest.raises(RuntimeError), transaction.atomic():
        Promotion.objects.create(code="gone", name="Gone", kind="percent", value=Decimal("50"), target="basket")
        assert quoted_total() == Decimal("19.95")  # this process now holds the rules of a change never committed
        raise RuntimeError("rolled back")
    assert quoted_total() == Decimal("39.90")
    assert sell(network).total == Decimal("39.90")
