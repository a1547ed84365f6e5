"""KPI figures where the common path does not go: more orders than sessions, device-only customers,
orders still awaiting pick-up, a ship-to-store order the selling store serves itself, an empty period."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission, User

from customers.models import Customer, Identifier
from kpis.definitions import KPIS
from kpis.selectors import Scope, kpi_total, store_incentives
from omni.orders.models import FulfilmentType, OrderStatus
from tests.factories import CustomerFactory
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db

DAY = date(2025, 3, 10)


def one_day() -> Scope:
    return Scope(start=DAY, end=DAY)


def test_conversion_never_exceeds_one_when_a_day_has_more_online_orders_than_sessions(history):
    for n in range(9):
        history.order("web", "10.00", fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(DAY, 9, n))
    history.event("web", "session_start", session="s1", device="d1", when=at(DAY, 8))
    history.roll(DAY, DAY)
    assert kpi_total(one_day())["conversion_rate"] == 1


def test_conversion_is_the_share_of_sessions_that_ended_in_an_order(history):
    history.order("app", "10.00", fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(DAY, 9))
    for session in ("s1", "s2", "s3", "s4"):
        history.event("app", "session_start", session=session, device=session, when=at(DAY, 8))
    history.order("store", "10.00", location=None, when=at(DAY, 10))  # a till sale ends no web or app session
    history.roll(DAY, DAY)
    assert str(kpi_total(one_day())["conversion_rate"]) == "0.2500"


def test_a_customer_known_only_by_a_device_does_not_make_a_sale_identified(history):
    device_only = Customer.objects.create()
    Identifier.objects.create(customer=device_only, kind="device", value="dev-1")
    carded = Customer.objects.create()
    Identifier.objects.create(customer=carded, kind="card", value="1234567890")
    history.order("web", "10.00", customer=device_only, when=at(DAY, 9))
    history.order("web", "10.00", customer=carded, when=at(DAY, 10))
    history.order("web", "10.00", customer=CustomerFactory(), when=at(DAY, 11))  # an e-mail on the profile
    history.order("web", "10.00", when=at(DAY, 12))
    history.roll(DAY, DAY)
    assert str(kpi_total(one_day())["identified_sales_share"]) == "0.5000"


@pytest.mark.parametrize("status", [OrderStatus.PLACED, OrderStatus.READY_FOR_PICKUP, OrderStatus.SHIPPED])
def test_an_order_awaiting_pick_up_credits_no_store_yet(history, store, status):
    history.order(
        "web", "40.00", fulfilment=FulfilmentType.CLICK_AND_COLLECT, pickup=store, status=status, when=at(DAY, 9)
    )
    history.roll(DAY, DAY)
    milano = next(row for row in store_incentives(one_day()) if row.code == store.code)
    assert (milano.credited_orders, milano.credited_pickup) == (0, 0)


def test_an_order_credits_its_pick_up_store_once_collected(history, store):
    history.order(
        "web",
        "40.00",
        fulfilment=FulfilmentType.CLICK_AND_COLLECT,
        pickup=store,
        status=OrderStatus.COLLECTED,
        when=at(DAY, 9),
    )
    history.roll(DAY, DAY)
    milano = next(row for row in store_incentives(one_day()) if row.code == store.code)
    assert (milano.credited_orders, str(milano.credited_pickup)) == (1, "40.00")


@pytest.fixture
def manager(client):
    user = User.objects.create_user("marketing", "m@example.it", "pw-Secret-1", is_staff=True)
    # A network-wide reader, as the Marketing role: staff held to one store see only that store's figures.
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_dashboards", "see_all_locations"]))
    client.force_login(user)
    return client


def test_a_comparison_with_a_period_without_data_says_so(manager, history, store):
    for offset in range(5):
        history.order("store", "100.00", location=store, when=at(DAY + timedelta(days=offset), 10))
        history.event("web", "session_start", session=f"s{offset}", when=at(DAY + timedelta(days=offset), 9))
    history.roll(DAY - timedelta(days=10), DAY + timedelta(days=5))
    params = {"start": DAY.isoformat(), "end": (DAY + timedelta(days=4)).isoformat()}
    english = manager.get("/dashboards/", params, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert english.count('<td class="num">no data</td>') == len(KPIS)
    assert 'id="no-previous-data"' in english
    italian = manager.get("/dashboards/", params, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert italian.count('<td class="num">n/d</td>') == len(KPIS)


def test_a_comparison_with_a_period_with_data_shows_the_change(manager, history, store):
    history.order("store", "50.00", location=store, when=at(DAY - timedelta(days=1), 10))
    history.order("store", "100.00", location=store, when=at(DAY, 10))
    history.roll(DAY - timedelta(days=1), DAY)
    params = {"start": DAY.isoformat(), "end": DAY.isoformat()}
    page = manager.get("/dashboards/", params, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "+100.0%" in page and 'id="no-previous-data"' not in page


def test_a_share_changes_by_percentage_points_not_by_a_huge_percentage(manager, history, store):
    history.order("web", "10.00", fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(DAY - timedelta(days=1), 10))
    for n in range(20):
        history.event("web", "session_start", session=f"a{n}", when=at(DAY - timedelta(days=1), 9))
    history.order("web", "10.00", fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(DAY, 10))
    history.event("web", "session_start", session="b", when=at(DAY, 9))
    history.roll(DAY - timedelta(days=1), DAY)
    params = {"start": DAY.isoformat(), "end": DAY.isoformat()}
    page = manager.get("/dashboards/", params, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "+95.0 pp" in page  # conversion from 5 % to 100 %, not "+1900.0%"
    assert "+1900.0%" not in page


def test_a_share_on_the_dashboard_is_rounded_not_cut(manager, history):
    history.order("app", "10.00", fulfilment=FulfilmentType.SHIP_TO_HOME, when=at(DAY, 9))
    for n in range(7):
        history.event("app", "session_start", session=f"s{n}", device=f"d{n}", when=at(DAY, 8))
    history.roll(DAY, DAY)
    assert str(kpi_total(one_day())["conversion_rate"]) == "0.1429"  # 1 session in 7 ended in an order
    params = {"start": DAY.isoformat(), "end": DAY.isoformat()}
    italian = manager.get("/dashboards/", params, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    english = manager.get("/dashboards/", params, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    # Django's number_format cuts digits: 14.29 % would read 14,2 %.
    assert "14,3%" in italian and "14,2%" not in italian
    assert "14.3%" in english and "14.2%" not in english


def test_a_change_on_the_dashboard_is_written_in_the_readers_language(manager, history, store):
    history.order("store", "80.00", location=store, when=at(DAY - timedelta(days=1), 10))
    history.order("store", "90.00", location=store, when=at(DAY, 10))
    history.roll(DAY - timedelta(days=1), DAY)
    params = {"start": DAY.isoformat(), "end": DAY.isoformat()}
    italian = manager.get("/dashboards/", params, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    english = manager.get("/dashboards/", params, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "+12,5%" in italian and "+12.5%" not in italian  # sales 80 -> 90
    assert "+12.5%" in english
