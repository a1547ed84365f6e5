"""The recounts of `LastSeen` and `SeenSpanCount` join by hash whatever the planner guesses of their people.

They pick their people with `= ANY(ARRAY(subquery))`, an array the planner
guesses at a few dozen rows whatever it holds; on that guess it joined the
CTEs built from them by nested loops, quadratic in the people recounted: at
10^7 order lines a year, one month's recount of its buyers in a rebuild was
still running after 4 minutes. Timings are not asserted here (bench.kpi_history
measures the rebuild); the plans are, and that the setting is put back.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from django.db import connection, transaction

from kpis import rollups
from kpis.models import SeenKind
from tests.factories import CustomerFactory, LocationFactory
from tests.kpis.test_last_seen import FIRST, write_history

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_only("the plans and the planner setting are PostgreSQL's"),
]


def nested_loops(sql: str, params: list) -> int:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN " + sql, params)
        return sum("Nested Loop" in row[0] for row in cursor.fetchall())


def nestloop_setting() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_nestloop')")
        return cursor.fetchone()[0]


def test_span_recounts_of_some_buyers_join_by_hash_and_put_the_setting_back(history):
    rng = random.Random(3)
    customers = CustomerFactory.create_batch(12)
    stores = [LocationFactory(), LocationFactory()]
    write_history(history, rng, customers=customers, stores=stores, rows=200)
    history.roll(FIRST, FIRST + timedelta(days=69))
    some = rollups.seen_in_days(SeenKind.BUYER, FIRST, FIRST + timedelta(days=20))
    statements = rollups._span_statements(SeenKind.BUYER, some, None, "")
    assert len(statements) == 2  # everyone's first days, and the omnichannel buyers'

    with transaction.atomic():
        # The planner's own choice for the omnichannel statement, on its guess of the people: a nested loop.
        assert nested_loops(*statements[1]) > 0
        with rollups.joined_by_hash():
            assert nestloop_setting() == "off"
            assert [nested_loops(*statement) for statement in statements] == [0, 0]
        assert nestloop_setting() == "on"
        rollups.recount_seen(SeenKind.BUYER, some)
        assert nestloop_setting() == "on"
