"""A month's kept distinct counts and a refresh of one of its days, racing, never leave a stale count.

The worker counting a finished month (`count_periods`) and another refreshing
one of its days after a sale (`refresh_day`, which drops the month's counts)
lock the month's `RollupDay` rows in day order, so whichever goes first, the
count kept at the end is the count of the rows at the end.
"""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import connection

from kpis import services
from kpis.models import BuyerDay, PeriodCount
from tests.factories import CustomerFactory
from tests.kpis.conftest import at

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgres_only("periods are counted ahead on PostgreSQL only"),
]

ROUNDS = 8
MARCH = (date(2025, 3, 1), date(2025, 3, 31))


def race(*works) -> None:
    """Run the works at the same moment, each in its own thread and connection; re-raise what failed."""
    start = threading.Barrier(len(works))
    failures: list[BaseException] = []

    def run(work):
        try:
            start.wait(20)
            work()
        except BaseException as error:  # reported by the assertion below
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(work,)) for work in works]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not failures, failures


def test_counting_a_month_while_one_of_its_days_is_refreshed_keeps_the_final_figures(history, store):
    history.order("store", "10.00", location=store, customer=CustomerFactory(), when=at(date(2025, 3, 2)))
    history.roll(*MARCH)
    for n in range(ROUNDS):
        day = date(2025, 3, 3 + n)
        # A sale lands on a day of the month while its counts are missing (dropped by an earlier change and
        # not counted again yet): the sale's refresh races the count that would put them back.
        history.order("web", "10.00", customer=CustomerFactory(), when=at(day))
        services.drop_period_counts(start=day, end=day)
        race(
            lambda day=day: services.refresh_day(day=day),
            lambda: services.count_periods(start=MARCH[0], end=MARCH[1]),
        )

        live = BuyerDay.objects.filter(day__range=MARCH).values("customer").distinct().count()
        assert live == n + 2
        kept = PeriodCount.objects.filter(granularity="month", start=MARCH[0], channel=None, location=None)
        assert kept.count() == 1, "counted once, not by both"
        assert kept.get().buyers == live, f"round {n}: kept {kept.get().buyers} buyers, the rows hold {live}"
