"""Periods are Europe/Rome days, ISO weeks and calendar months; bad queries answer 400; the cost is flat."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from tests.factories import CustomerFactory
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db


def test_an_order_just_after_midnight_in_rome_belongs_to_the_new_day_and_week(api, history):
    sunday, monday = date(2025, 3, 16), date(2025, 3, 17)
    history.order("web", "10.00", when=at(sunday, 23, 30))
    history.order("web", "20.00", when=at(monday, 0, 30))  # still Sunday in UTC
    history.roll(sunday, monday)
    weeks = api.get("/api/v1/kpis/", {"from": "2025-03-12", "to": "2025-03-19", "granularity": "week"}).json()
    assert [(p["period"], p["start"], p["end"], p["revenue"]) for p in weeks["results"]] == [
        ("2025-03-12", "2025-03-12", "2025-03-16", "10.00"),
        ("2025-03-17", "2025-03-17", "2025-03-19", "20.00"),
    ]


def test_months_are_calendar_months_and_count_a_buyer_once_each(api, history):
    buyer = CustomerFactory()
    for day in (date(2025, 1, 31), date(2025, 2, 1), date(2025, 2, 20)):
        history.order("web", "10.00", customer=buyer, when=at(day))
    history.roll(date(2025, 1, 1), date(2025, 2, 28))
    months = api.get("/api/v1/kpis/", {"from": "2025-01-15", "to": "2025-02-28", "granularity": "month"}).json()
    assert [(p["start"], p["end"], p["orders"], p["buyers"]) for p in months["results"]] == [
        ("2025-01-15", "2025-01-31", 1, 1),
        ("2025-02-01", "2025-02-28", 2, 1),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"from": "2025-03-10", "to": "2025-03-01"}, "to"),
        ({"from": "10/03/2025", "to": "2025-03-11"}, "from"),
        ({"to": "2025-03-11"}, "from"),
        ({"from": "2025-03-10", "to": "2025-03-11", "channel": "pigeon"}, "channel"),
        ({"from": "2025-03-10", "to": "2025-03-11", "location": "NOWHERE"}, "location"),
        ({"from": "2025-03-10", "to": "2025-03-11", "granularity": "year"}, "granularity"),
        ({"from": "2020-01-01", "to": "2025-01-01"}, "to"),
    ],
)
def test_a_bad_kpi_query_answers_400_naming_the_field(api, query, field):
    response = api.get("/api/v1/kpis/", query)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]


def test_kpis_need_the_kpis_scope(make_api_client):
    response = make_api_client(["events"]).get("/api/v1/kpis/", {"from": "2025-03-10", "to": "2025-03-10"})
    assert response.status_code == 403


def count_queries(api, query) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        assert api.get("/api/v1/kpis/", query).status_code == 200
    return len(captured.captured_queries)


def test_the_kpi_query_count_does_not_grow_with_the_period_or_the_history(api, history):
    start = date(2025, 1, 1)
    short = {"from": "2025-01-01", "to": "2025-01-07", "location": "MI01"}
    long = {"from": "2025-01-01", "to": "2026-12-31", "location": "MI01"}
    from tests.factories import LocationFactory

    store = LocationFactory(code="MI01")
    history.order("store", "10.00", location=store, when=at(start))
    history.roll(start, start)
    count_queries(api, short)  # the key's first use is recorded once
    few = count_queries(api, short)
    for offset in range(0, 700, 7):
        day = start + timedelta(days=offset)
        history.order("store", "10.00", location=store, customer=CustomerFactory(), when=at(day))
        history.order("web", "10.00", customer=CustomerFactory(), when=at(day))
    history.roll(start, start + timedelta(days=700))
    assert count_queries(api, long) == few
    # By month, every month is counted ahead or ends with the range (read from the counts by day), so nothing
    # is left to count live: fewer statements still.
    assert count_queries(api, {**long, "granularity": "month"}) <= few
