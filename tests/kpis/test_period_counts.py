"""Finished periods' distinct counts are kept (`PeriodCount`) and never outlive a change to their days."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, timedelta

import pytest

from customers.services import merge_customers
from kpis import selectors, services
from kpis.models import BuyerDay, PeriodCount, VisitorDay
from omni.catalog.models import Channel
from omni.models import OutboxMessage
from tests.factories import CustomerFactory, LocationFactory
from tests.kpis.conftest import at

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_only("periods are counted ahead on PostgreSQL only"),
]

MARCH = {"from": "2025-03-01", "to": "2025-03-31", "granularity": "month"}


def march(api) -> dict:
    return api.get("/api/v1/kpis/", MARCH).json()["total"]


def test_a_rebuilt_month_is_counted_once_and_read_from_its_count(history, store, django_assert_num_queries):
    history.order("store", "10.00", location=store, customer=CustomerFactory(), when=at(date(2025, 3, 3)))
    history.roll(date(2025, 3, 1), date(2025, 3, 31))
    assert PeriodCount.objects.get(granularity="month", start=date(2025, 3, 1), channel=None, location=None).buyers == 1
    scope = selectors.Scope(start=date(2025, 3, 1), end=date(2025, 3, 31))
    # Figures, social figures, counted periods: no visitor or buyer is counted again.
    with django_assert_num_queries(3):
        total, rows = selectors.kpi_summary(scope, "month")
    assert total["buyers"] == rows[0]["buyers"] == 1


def test_a_refreshed_day_of_a_counted_month_shows_its_new_buyer(api, history, store):
    history.order("store", "10.00", location=store, customer=CustomerFactory(), when=at(date(2025, 3, 3)))
    history.roll(date(2025, 3, 1), date(2025, 3, 31))
    assert march(api)["buyers"] == 1

    history.order("web", "10.00", customer=CustomerFactory(), when=at(date(2025, 3, 20)))
    services.refresh_day(day=date(2025, 3, 20))

    assert march(api)["buyers"] == 2
    assert PeriodCount.objects.get(granularity="month", start=date(2025, 3, 1), channel=None, location=None).buyers == 2


def test_merging_two_buyers_of_a_counted_month_makes_them_one_omnichannel_buyer(api, history, store):
    at_the_till, on_the_web = CustomerFactory(), CustomerFactory()
    history.order("store", "10.00", location=store, customer=at_the_till, when=at(date(2025, 3, 3)))
    history.order("web", "10.00", customer=on_the_web, when=at(date(2025, 3, 20)))
    history.event("web", "page_view", customer=on_the_web, when=at(date(2025, 3, 20), 9))
    history.event("store", "store_visit", customer=at_the_till, location=store, when=at(date(2025, 3, 3), 9))
    history.roll(date(2025, 3, 1), date(2025, 3, 31))
    before = march(api)
    assert (before["buyers"], before["omnichannel_buyers"], before["visitors"]) == (2, 0, 2)

    merge_customers(survivor=at_the_till, merged=on_the_web)

    after = march(api)
    assert (after["buyers"], after["omnichannel_buyers"], after["visitors"]) == (1, 1, 1)
    assert OutboxMessage.objects.filter(task="kpis.count_periods").exists()
    services.count_periods(start=date(2025, 3, 1), end=date(2025, 3, 31))  # what the outbox runs after the commit
    assert march(api) == after


def test_an_unfinished_period_is_not_counted_ahead(history, store):
    from django.utils import timezone

    today = timezone.localdate()
    history.order("store", "10.00", location=store, customer=CustomerFactory(), when=at(today))
    history.roll(today, today)
    assert not PeriodCount.objects.filter(granularity="month", start=today.replace(day=1)).exists()
    assert not PeriodCount.objects.filter(granularity="day", start=today).exists()


def expected_counts(scope: selectors.Scope, spans: list[tuple[date, date]]) -> list[tuple[int, int, int]]:
    """Visitors, buyers and omnichannel buyers of each span (and the whole scope, last), in plain Python."""

    def in_scope(row) -> bool:
        return (scope.channel is None or row.channel_id == scope.channel.pk) and (
            scope.location is None or row.location_id == scope.location.pk
        )

    found = []
    for start, end in [*spans, (scope.start, scope.end)]:
        visitors = {
            row.customer_id or row.visitor_key
            for row in VisitorDay.objects.filter(day__gte=start, day__lte=end)
            if in_scope(row)
        }
        channels: dict[int, set[int]] = defaultdict(set)
        hit = set()
        for row in BuyerDay.objects.filter(day__gte=start, day__lte=end):
            channels[row.customer_id].add(row.channel_id)
            if in_scope(row):
                hit.add(row.customer_id)
        found.append((len(visitors), len(hit), sum(1 for who in hit if len(channels[who]) >= 2)))
    return found


def test_counted_and_live_figures_agree_with_plain_arithmetic_over_random_scopes(history):
    rng = random.Random(8)
    stores = [LocationFactory(code=f"S{n}") for n in range(3)]
    customers = [CustomerFactory() for _ in range(12)]
    first = date(2025, 1, 27)
    for _ in range(160):
        day = first + timedelta(days=rng.randrange(70))
        who = rng.choice([*customers, None])
        code = rng.choice(["store", "web", "app", "call_center"])
        where = rng.choice(stores) if code == "store" else None
        if rng.random() < 0.5:
            history.order(code, "10.00", location=where, customer=who, when=at(day, rng.randrange(8, 20)))
        else:
            device = "" if who else f"device-{rng.randrange(8)}"
            history.event(code, "page_view", customer=who, device=device, location=where, when=at(day, 7))
    history.roll(first, first + timedelta(days=69))
    assert PeriodCount.objects.filter(granularity="month", channel=None, location=None).count() == 2  # Feb, Mar

    channels = list(Channel.objects.filter(code__in=["store", "web", "app"]))
    for _ in range(40):
        start = first + timedelta(days=rng.randrange(-5, 60))
        end = start + timedelta(days=rng.randrange(0, 50))
        granularity = rng.choice(["day", "week", "month", "total"])
        channel = rng.choice([None, None, *channels])
        location = rng.choice([None, None, *stores])
        scope = selectors.Scope(start=start, end=end, channel=channel, location=location)
        spans = selectors.periods(start, end, granularity)
        expected = expected_counts(scope, spans)

        total, rows = selectors.kpi_summary(scope, granularity)
        saved = list(PeriodCount.objects.all())
        PeriodCount.objects.all().delete()  # nothing counted ahead: everything live
        live_total, live_rows = selectors.kpi_summary(scope, granularity)
        PeriodCount.objects.bulk_create(saved)

        for found in ([*rows, total], [*live_rows, live_total]):
            assert [(p["visitors"], p["buyers"], p["omnichannel_buyers"]) for p in found] == expected, scope
        assert (rows, total) == (live_rows, live_total)
