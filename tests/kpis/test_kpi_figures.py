"""Every KPI of GET /api/v1/kpis/ checked against a small history worked out by hand."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from kpis import rollups
from kpis.models import SocialMetric
from omni.orders.models import FulfilmentType, OrderStatus
from tests.factories import CustomerFactory, channel
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 10)


@pytest.fixture
def known_day(history, store, monkeypatch):
    """Six live orders and a cancelled one on DAY, four sessions, points, social figures and one return.

    revenue 100 + 50 + 80 + 20 + 40 + 10 = 300.00 over 6 orders, 3+1+2+1+1+1 = 9 units;
    identified: orders 1, 3, 4, 5, 7 = 5; click & collect: order 3; endless aisle: order 5 (40.00);
    buyers A (store, web), B (app, store), C (web): 2 of 3 omnichannel;
    web sessions s1, s2, s4 and app session s3: 4 sessions, 3 online orders (3, 4, 7);
    visitors d1 (s1 and s4), A, d2, B: 4.
    """
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    h = history
    o1 = h.order("store", "100.00", units=3, location=store, customer=a, when=at(DAY, 10))
    h.order("store", "50.00", location=store, when=at(DAY, 11))
    o3 = h.order(
        "web", "80.00", units=2, customer=a, fulfilment=FulfilmentType.CLICK_AND_COLLECT, pickup=store, when=at(DAY, 12)
    )
    h.order("app", "20.00", customer=b, fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(DAY, 13))
    h.order("store", "40.00", location=store, customer=b, endless=True, fulfilment="ship_to_home", when=at(DAY, 14))
    h.order("web", "999.00", customer=CustomerFactory(), status=OrderStatus.CANCELLED, when=at(DAY, 15))
    h.order("web", "10.00", customer=c, when=at(DAY, 16))
    h.order("web", "70.00", customer=c, when=at(DAY + timedelta(days=1), 0, 30))  # the next Rome day

    h.points(a, "earn", 100, order=o1, when=at(DAY, 10))
    h.points(a, "earn", 50, order=o3, when=at(DAY, 12))
    h.points(a, "redeem", -30, order=o3, when=at(DAY, 12))

    for minute, session in enumerate(["s1", "s1", "s1"]):
        h.event("web", "page_view", session=session, device="d1", when=at(DAY, 9, minute))
    h.event("web", "session_start", session="s2", customer=a, when=at(DAY, 11))
    h.event("web", "product_view", session="s2", customer=a, when=at(DAY, 11, 5))
    h.event("app", "session_start", session="s3", device="d2", when=at(DAY, 12))
    h.event("web", "session_start", session="s4", device="d1", when=at(DAY, 18))
    h.event("store", "store_visit", customer=b, location=store, when=at(DAY, 13, 50))

    SocialMetric.objects.create(date=DAY, network="instagram", likes=10, shares=2, comments=3, mentions=1)
    SocialMetric.objects.create(date=DAY, network="facebook", likes=5, mentions=4)
    SocialMetric.objects.create(date=DAY + timedelta(days=1), network="facebook", likes=500)

    def fake_returns(start, end):
        assert start <= DAY <= end
        return [
            {
                "day": DAY,
                "channel_id": channel("store").pk,
                "location_id": store.pk,
                "order_location_id": store.pk,
                "returns": 1,
                "units": 2,
                "amount": Decimal("30.00"),
            }
        ]

    monkeypatch.setattr(rollups, "daily_return_figures", fake_returns)
    h.roll(DAY - timedelta(days=3), DAY + timedelta(days=3))


def test_each_kpi_of_a_known_day_matches_the_hand_arithmetic(api, known_day):
    response = api.get("/api/v1/kpis/", {"from": DAY.isoformat(), "to": DAY.isoformat()})
    assert response.status_code == 200, response.content
    [day] = response.json()["results"]
    assert day["period"] == "2025-03-10"
    assert day["revenue"] == "300.00"
    assert day["orders"] == 6
    assert day["average_receipt"] == "50.00"
    assert day["units_per_receipt"] == "1.50"
    assert day["visitors"] == 4
    assert day["sessions"] == 4
    assert day["conversion_rate"] == "0.7500"  # 3 web/app orders / 4 web/app sessions
    assert day["identified_sales_share"] == "0.8333"  # 5 / 6
    assert day["omnichannel_customer_share"] == "0.6667"  # 2 / 3
    assert day["click_and_collect_share"] == "0.1667"  # 1 / 6
    assert day["endless_aisle_revenue"] == "40.00"
    assert day["return_rate"] == "0.2222"  # 2 units back / 9 sold
    assert day["points_issued"] == 150
    assert day["points_redeemed"] == 30
    assert day["social_engagement"] == 25  # 10+2+3+1 + 5+4


def test_the_total_of_two_days_adds_orders_and_counts_a_buyer_once(api, known_day):
    response = api.get("/api/v1/kpis/", {"from": "2025-03-10", "to": "2025-03-11"})
    body = response.json()
    total = body["total"]
    assert [p["period"] for p in body["results"]] == ["2025-03-10", "2025-03-11"]
    assert body["results"][1]["revenue"] == "70.00"
    assert total["revenue"] == "370.00"
    assert total["orders"] == 7
    assert total["buyers"] == 3  # C bought on both days: once
    assert total["social_engagement"] == 525


def test_one_channel_only_gives_that_channels_figures(api, known_day):
    body = api.get("/api/v1/kpis/", {"from": "2025-03-10", "to": "2025-03-10", "channel": "web"}).json()
    [day] = body["results"]
    assert day["revenue"] == "90.00"  # 80 + 10
    assert day["orders"] == 2
    assert day["sessions"] == 3
    assert day["conversion_rate"] == "0.6667"
    assert day["omnichannel_customer_share"] == "0.5000"  # web buyers A (also store) and C (web only)
    assert day["social_engagement"] is None


def test_one_store_only_gives_that_stores_figures(api, known_day, store):
    body = api.get("/api/v1/kpis/", {"from": "2025-03-10", "to": "2025-03-10", "location": store.code}).json()
    [day] = body["results"]
    assert day["revenue"] == "190.00"  # 100 + 50 + 40
    assert day["orders"] == 3
    assert day["visitors"] == 1  # B's store visit
    assert day["conversion_rate"] is None
    assert day["return_rate"] == "0.4000"  # 2 returned / 5 sold at the store


def test_an_empty_period_answers_zeros_and_nulls(api, known_day):
    [day] = api.get("/api/v1/kpis/", {"from": "2025-01-01", "to": "2025-01-01"}).json()["results"]
    assert day["revenue"] == "0.00" and day["orders"] == 0
    assert day["average_receipt"] is None and day["conversion_rate"] is None
