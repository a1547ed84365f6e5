"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import connection
from rest_framework.test import APIClient

from omni.api.keys import create_client
from omni.models import ALL_SCOPES


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def postgres(transactional_db):
    """For tests of locks and races: SQLite serialises writers, so they prove nothing there."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks and concurrent writers behave differently on SQLite")


@pytest.fixture
def make_api_client(db):
    """make_api_client(scopes=[...]) -> a DRF test client that sends that key."""

    def make(scopes: list[str] | None = None, name: str | None = None, rate_limit: str = "") -> APIClient:
        chosen = ALL_SCOPES if scopes is None else scopes
        client_name = name or f"test-{'-'.join(chosen) or 'none'}-{make.count}"
        make.count += 1
        record, key = create_client(name=client_name, scopes=chosen, rate_limit=rate_limit)
        api = APIClient()
        api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
        api.key = key
        api.record = record
        return api

    make.count = 0
    return make


@pytest.fixture
def api(make_api_client) -> APIClient:
    """An API client holding every scope."""
    return make_api_client()
