"""The after-sale task, the nightly task and the command give the same rollups, and running again changes nothing."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from kpis import tasks
from kpis.models import BuyerDay, DailyFigures, JourneyPath, StoreCreditDay, VisitorDay
from tests.factories import CustomerFactory
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db


def snapshot() -> dict[str, list]:
    return {
        "figures": sorted(
            DailyFigures.objects.values_list(
                "day", "channel_id", "location_id", "orders", "revenue", "units", "sessions"
            )
        ),
        "buyers": sorted(BuyerDay.objects.values_list("day", "channel_id", "location_id", "customer_id")),
        "visitors": sorted(VisitorDay.objects.values_list("day", "channel_id", "customer_id", "visitor_key")),
        "credits": sorted(StoreCreditDay.objects.values_list("day", "location_id", "reason", "orders", "revenue")),
        "paths": sorted(JourneyPath.objects.values_list("day", "channel_id", "path", "purchases")),
    }


@pytest.fixture
def two_days(history, store):
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)
    buyer = CustomerFactory()
    history.order("store", "30.00", location=store, customer=buyer, when=at(yesterday, 10))
    history.event("web", "product_view", session="s", customer=buyer, when=at(yesterday, 9))
    history.order("web", "12.50", customer=buyer, when=at(yesterday, 20))
    return yesterday


def test_the_refresh_task_the_nightly_task_and_the_command_agree(two_days):
    tasks.refresh_day(day=two_days.isoformat(), location=None)
    after_sale = snapshot()
    tasks.rollup_yesterday()
    nightly = snapshot()
    call_command("rebuild_kpis", "--from", two_days.isoformat(), "--to", two_days.isoformat(), verbosity=0)
    rebuilt = snapshot()
    assert after_sale == nightly == rebuilt
    assert after_sale["figures"] and after_sale["buyers"] and after_sale["paths"]


def test_refreshing_a_day_twice_replaces_its_rows(two_days):
    tasks.refresh_day(day=two_days.isoformat())
    tasks.refresh_day(day=two_days.isoformat())
    assert DailyFigures.objects.filter(day=two_days).count() == 2  # store/MI01 and web/no store


def test_a_range_longer_than_a_chunk_is_rebuilt_whole(history):
    start = date(2025, 1, 1)
    for offset in range(0, 90, 10):
        history.order("web", "1.00", when=at(start + timedelta(days=offset)))
    call_command("rebuild_kpis", "--from", "2025-01-01", "--to", "2025-03-31", verbosity=0)
    assert DailyFigures.objects.count() == 9


def test_the_command_refuses_reversed_or_unreadable_dates(db):
    with pytest.raises(CommandError):
        call_command("rebuild_kpis", "--from", "2025-03-10", "--to", "2025-03-01")
    with pytest.raises(CommandError):
        call_command("rebuild_kpis", "--from", "March", "--to", "2025-03-01")
