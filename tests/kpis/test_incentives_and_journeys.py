"""Stores are credited for the online sales they started; journeys count research before purchase."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from kpis import rollups, selectors
from omni.orders.models import FulfilmentType
from tests.factories import CustomerFactory, VariantFactory, channel
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db

D = date(2025, 5, 1)


def day(n: int) -> date:
    return D + timedelta(days=n)


@pytest.fixture
def credited(history, store, other_store, monkeypatch):
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    h = history
    h.order("store", "100.00", location=store, customer=a, when=at(day(0)))
    h.order("web", "60.00", customer=a, fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(day(5)))  # influenced: MI01
    h.order("web", "10.00", customer=a, fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(day(6)))  # previous was online
    h.order("store", "20.00", location=other_store, customer=b, when=at(day(0)))
    h.order("app", "30.00", customer=b, fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(day(40)))  # past the window
    h.order(
        "store", "45.00", location=other_store, customer=c, endless=True, fulfilment="ship_to_home", when=at(day(5))
    )
    h.order(
        "web", "25.00", customer=a, fulfilment=FulfilmentType.CLICK_AND_COLLECT, pickup=other_store, when=at(day(7))
    )
    h.order("web", "15.00", fulfilment=FulfilmentType.SHIP_TO_STORE, pickup=store, when=at(day(8)))
    returned = {
        "day": day(9),
        "channel_id": channel("web").pk,
        "location_id": store.pk,
        "order_location_id": None,
        "returns": 1,
        "units": 1,
        "amount": Decimal("12.00"),
    }
    monkeypatch.setattr(
        rollups,
        "daily_return_figures",
        lambda start, end: [returned] if start <= returned["day"] <= end else [],
    )
    h.roll(day(0), day(45))
    return selectors.Scope(start=day(0), end=day(45))


def test_each_store_gets_its_own_sales_the_online_sales_it_started_and_its_returns(credited):
    rows = {row.code: row for row in selectors.store_incentives(credited)}
    milano, roma = rows["MI01"], rows["RM01"]
    assert (milano.own_orders, milano.own_sales) == (1, Decimal("100.00"))
    assert (milano.credited_influenced, milano.credited_pickup, milano.credited_endless_aisle) == (
        Decimal("60.00"),
        Decimal("15.00"),
        Decimal("0.00"),
    )
    assert (milano.credited_orders, milano.credited_sales) == (2, Decimal("75.00"))
    assert (milano.returns_accepted, milano.returned_amount) == (1, Decimal("12.00"))
    assert (roma.own_orders, roma.own_sales) == (1, Decimal("20.00"))
    assert (roma.credited_endless_aisle, roma.credited_pickup, roma.credited_influenced) == (
        Decimal("45.00"),
        Decimal("25.00"),
        Decimal("0.00"),
    )
    assert roma.credited_sales == Decimal("70.00")


def test_the_influence_window_is_a_setting(credited, settings, history):
    settings.KPIS_INFLUENCE_DAYS = 45
    history.roll(day(0), day(45))
    rows = {row.code: row for row in selectors.store_incentives(credited)}
    assert rows["RM01"].credited_influenced == Decimal("30.00")  # b's app order 40 days after buying in Roma


def test_buyers_who_looked_online_before_buying_in_store_and_the_reverse(history, store):
    a, b, c, d = (CustomerFactory() for _ in range(4))
    bought, other = VariantFactory(), VariantFactory()
    h = history
    h.event("web", "product_view", customer=a, product=bought.product, session="sa", when=at(day(0)))
    h.order("store", "10.00", location=store, customer=a, variant=bought, when=at(day(3)))
    h.event("web", "product_view", customer=b, product=other.product, session="sb", when=at(day(0)))
    h.order("store", "10.00", location=store, customer=b, variant=bought, when=at(day(3)))
    h.event("store", "store_visit", customer=c, location=store, when=at(day(1)))
    h.order("web", "10.00", customer=c, when=at(day(3)))
    h.order("web", "10.00", customer=d, when=at(day(3)))
    h.roll(day(0), day(3))
    found = selectors.journeys(selectors.Scope(start=day(3), end=day(3)))
    assert (found.store_buyers, found.researched_online) == (2, 1)
    assert (found.online_buyers, found.visited_store) == (2, 1)
    assert found.paths == [("web > store", 2), ("store > web", 1), ("web", 1)]
