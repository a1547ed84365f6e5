"""The 10^7-line KPI benchmark measures what it says: its copies of the seeded year are real orders that the
real rollup and the real endpoint count, once per copy, and it leaves the demo as it found it (everything it
writes is rolled back)."""

from __future__ import annotations

import pytest
from django.db import transaction

from bench import kpi_history
from bench.client import api_client
from bench.kpis import ensure_rollups, read_kpis
from customers.models import Customer, Identifier
from kpis.models import BuyerDay
from omni.orders.models import Order, OrderLine
from tests.omni.test_seed_demo import seed

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_only("the benchmark writes its copies with PostgreSQL sequences and temporary tables"),
]


def counts() -> tuple[int, int, int, int]:
    return Order.objects.count(), OrderLine.objects.count(), Customer.objects.count(), Identifier.objects.count()


def year_total(first, last) -> dict:
    return read_kpis(api_client(), first, last, "month")["total"]


def test_copies_are_counted_by_the_rollup_and_the_endpoint_then_rolled_back(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    seed(scale=0.01)
    first, last, _ = ensure_rollups()
    before_counts = counts()
    before = kpi_history.rolled_up(first, last)
    before_total = year_total(first, last)
    before_buyer_days = BuyerDay.objects.count()
    base = kpi_history.base_ids()
    base_lines = kpi_history.year_lines(first, last, base)
    assert before["orders"] > 0 and base_lines > 0

    with transaction.atomic():
        kpi_history.copy_year(2, first, last, base)
        kpi_history.rebuild(first, last)

        assert OrderLine.objects.count() == before_counts[1] + 2 * base_lines
        after = kpi_history.rolled_up(first, last)
        assert after == {name: 3 * value for name, value in before.items()}
        total = year_total(first, last)
        assert total["orders"] == 3 * before_total["orders"]
        assert total["revenue"] == str(3 * before["revenue"])
        # Every copy's buyers are people of their own: three times the buyers and their days.
        assert total["buyers"] == 3 * before_total["buyers"]
        assert BuyerDay.objects.count() == 3 * before_buyer_days
        transaction.set_rollback(True)

    # The benchmark itself, at its smoke size: its four rows, and the demo left as it was.
    results = kpi_history.run(repeat=2, smoke=True)
    assert [r.name.split(",")[0] for r in results] == [
        "kpis endpoint",
        "kpis endpoint",
        "naive aggregation over raw orders",
        "kpi rollup of the year (services.rebuild)",
    ]
    assert all(r.figure > 0 and r.baseline > 0 for r in results)
    assert f"and {kpi_history.SMOKE_COPIES} copies of it" in results[0].notes
    assert counts() == before_counts
    assert kpi_history.rolled_up(first, last) == before
