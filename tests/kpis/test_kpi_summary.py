"""The endpoint's total and its periods come from one read of each rollup table, with the same figures."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection

from kpis import selectors
from kpis.models import VisitorDay
from tests.factories import CustomerFactory
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db

MONDAY, TUESDAY = date(2025, 3, 10), date(2025, 3, 11)


@pytest.fixture
def two_days_of_visits(history, store):
    known = CustomerFactory()
    for day in (MONDAY, TUESDAY):
        history.event("web", "page_view", device="phone-1", when=at(day, 9))  # the same device on both days
        history.event("app", "page_view", customer=known, when=at(day, 10))
    history.event("web", "page_view", session="s-only-monday", when=at(MONDAY, 11))
    history.order("store", "40.00", location=store, customer=known, when=at(MONDAY, 12))
    history.order("web", "10.00", customer=known, when=at(TUESDAY, 12))
    history.roll(MONDAY, TUESDAY)


def test_a_visitor_seen_on_two_days_counts_once_in_the_total_and_once_each_day(api, two_days_of_visits):
    body = api.get("/api/v1/kpis/", {"from": "2025-03-10", "to": "2025-03-11", "granularity": "day"}).json()
    assert [p["visitors"] for p in body["results"]] == [3, 2]  # device, customer, session; then device, customer
    assert body["total"]["visitors"] == 3
    assert body["total"]["orders"] == 2 and body["total"]["revenue"] == "50.00"
    assert [p["buyers"] for p in body["results"]] == [1, 1]
    assert body["total"]["buyers"] == 1 and body["total"]["omnichannel_customer_share"] == "1.0000"


def test_an_anonymous_visitor_is_stored_as_a_key_below_zero_that_no_customer_id_can_equal(two_days_of_visits):
    anonymous = VisitorDay.objects.filter(customer__isnull=True)
    assert anonymous.count() == 3
    assert all(key < 0 for key in anonymous.values_list("visitor_key", flat=True))
    assert VisitorDay.objects.filter(customer__isnull=False, visitor_key__isnull=False).count() == 0


@pytest.mark.parametrize("granularity", ["day", "week", "month", "total"])
def test_the_summary_gives_the_figures_of_the_separate_total_and_report(two_days_of_visits, store, granularity):
    for scope in (
        selectors.Scope(start=date(2025, 3, 1), end=date(2025, 4, 20)),
        selectors.Scope(start=MONDAY, end=TUESDAY, location=store),
    ):
        total, rows = selectors.kpi_summary(scope, granularity)
        assert total == selectors.kpi_total(scope)
        assert rows == selectors.kpi_report(scope, granularity)


def test_the_summary_reads_each_rollup_table_once_on_postgresql(two_days_of_visits, django_assert_num_queries):
    scope = selectors.Scope(start=date(2025, 1, 1), end=date(2025, 12, 31))
    # Figures, social figures, counted periods, the whole from LastSeen (the year ends after the last day
    # rolled up), the months' visitors and buyers from their first days; elsewhere no counted periods.
    with django_assert_num_queries(5 if connection.vendor == "postgresql" else 4):
        total, rows = selectors.kpi_summary(scope, "month")
    assert len(rows) == 12 and total["visitors"] == 3
