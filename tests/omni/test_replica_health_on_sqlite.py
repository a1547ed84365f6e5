"""A replica's health is measured on either engine: PostgreSQL by its replay lag, SQLite by answering at all.

`make test` runs this twice, so the SQLite side of omni/replicas.py's vendor branch (a laptop pointing
DATABASE_REPLICA_URLS at an SQLite copy) runs in CI as well as the PostgreSQL side.
"""

import pytest

from omni import replicas

pytestmark = pytest.mark.django_db


def test_a_database_that_answers_is_measured_healthy_on_either_engine():
    # The default database stands in for a replica: a primary has no lag, and SQLite has none to measure.
    assert replicas._measure("default") is True
