"""Fixtures shared by the whole suite."""

from __future__ import annotations

import os
import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, cache, caches
from django.db import connection
from hypothesis import settings as hypothesis_settings
from rest_framework.test import APIClient

from omni import replicas
from omni.api.keys import client_for_key, create_client
from omni.cache import RedisCache
from omni.models import ALL_SCOPES

# Property tests draw the same examples on every run of `make test` ("ci"): a green main stays green and a red
# one is red for everybody. `HYPOTHESIS_PROFILE=explore` draws new examples on every run, to look for cases
# nobody has met yet; a failure it finds is printed with the seed that replays it (`--hypothesis-seed`).
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
hypothesis_settings.register_profile("explore", derandomize=False, database=None)
hypothesis_settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# Tests asking for these fixtures need PostgreSQL whatever they say: they are marked postgres_only for them.
POSTGRES_FIXTURES = {
    "postgres": "row locks and concurrent writers: SQLite serialises writers, so a race proves nothing there",
    "celery_workers": "a real worker is a second process on the test database, which in-memory SQLite cannot share",
    "celery_worker": "a real worker is a second process on the test database, which in-memory SQLite cannot share",
    "shared_cache": "the shared cache production runs (Redis), which `make test` starts beside PostgreSQL only",
    "shared_default_cache": "the shared cache production runs (Redis), which `make test` starts beside PostgreSQL only",
}


def pytest_collection_modifyitems(config, items):
    """`make test` runs the suite on PostgreSQL, then again on SQLite without the tests marked postgres_only.

    Each postgres_only marker says why (COPY, row locks, threads, replicas, a real worker...); on SQLite such a
    test is skipped with that reason, so a developer running pytest without the services sees why.
    """
    on_postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        if marker is None:
            needed = [POSTGRES_FIXTURES[name] for name in item.fixturenames if name in POSTGRES_FIXTURES]
            if not needed:
                continue
            decorator = pytest.mark.postgres_only(needed[0])
            item.add_marker(decorator)
            marker = decorator.mark
        if not marker.args or not str(marker.args[0]).strip():
            raise pytest.UsageError(f"{item.nodeid}: postgres_only needs a reason, e.g. postgres_only('row locks')")
        if not on_postgres:
            item.add_marker(pytest.mark.skip(reason=f"needs PostgreSQL: {marker.args[0]}"))


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle counters live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _replicas_measured_afresh():
    """A replica one test stopped or found lagging is measured again by the next."""
    replicas.forget_health()


@pytest.fixture(autouse=True, scope="session")
def _child_processes_use_the_primary_only():
    """Processes the tests start (workers, servers) get the test database's URL, not the replica's.

    DATABASE_REPLICA_URLS names the replica's own database, not the test database this process reads
    there (settings were read before this runs); a child process reading from it would see other data.
    """
    import os

    assert settings.DATABASES  # read now, while the variable is still set
    os.environ.pop("DATABASE_REPLICA_URLS", None)


@pytest.fixture
def postgres(transactional_db):
    """For tests of locks and races: SQLite serialises writers, so they prove nothing there."""
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: row locks and concurrent writers behave differently on SQLite")


@pytest.fixture
def shared_cache():
    """A cache on Redis, as production's CACHE_URL names one, under keys of this test's own: for what the rate
    limit and the webhooks keep there. Patch it in where the code reads `cache`."""
    broker = os.environ.get("CELERY_BROKER_URL", "")
    if not broker.startswith("redis://"):
        pytest.skip("needs Redis: `make test` starts it and sets CELERY_BROKER_URL")
    shared = RedisCache(broker.rsplit("/", 1)[0] + "/2", {"KEY_PREFIX": f"test-{uuid.uuid4().hex}"})
    yield shared
    shared.close()


@pytest.fixture
def shared_default_cache(shared_cache):
    """The shared cache as the default one, which `django.core.cache.cache` and DRF's throttles reach: as the
    settings make it when CACHE_URL is set."""
    before = caches[DEFAULT_CACHE_ALIAS]
    caches[DEFAULT_CACHE_ALIAS] = shared_cache
    yield shared_cache
    caches[DEFAULT_CACHE_ALIAS] = before


class RedisCommands:
    """The commands every Redis client of the process sends from now on, by name."""

    def __init__(self, monkeypatch) -> None:
        self.sent: list[str] = []
        send = redis.Redis.execute_command

        def counted(client, *args, **options):
            self.sent.append(str(args[0]).upper())
            return send(client, *args, **options)

        monkeypatch.setattr(redis.Redis, "execute_command", counted)


@pytest.fixture
def redis_commands(monkeypatch):
    """redis_commands() -> what Redis is sent from then on (`.sent`), to start once a test has warmed up."""
    return lambda: RedisCommands(monkeypatch)


@pytest.fixture
def make_api_client(db):
    """make_api_client(scopes=[...]) -> a DRF test client that sends that key."""

    def make(scopes: list[str] | None = None, name: str | None = None, rate_limit: str = "") -> APIClient:
        chosen = ALL_SCOPES if scopes is None else scopes
        client_name = name or f"test-{'-'.join(chosen) or 'none'}-{make.count}"
        make.count += 1
        record, key = create_client(name=client_name, scopes=chosen, rate_limit=rate_limit)
        # The process reads the active clients again once a client is made (omni.api.keys); a server has done
        # so long before the requests a test counts, so it is done here, not in the test's first request.
        assert client_for_key(key) == record
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


def database_url_of(settings_dict: dict) -> str:
    """A DATABASE_URL for the database the tests are using (for processes started by tests)."""
    if settings_dict["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{settings_dict['NAME']}"
    user = settings_dict.get("USER") or ""
    password = f":{settings_dict['PASSWORD']}" if settings_dict.get("PASSWORD") else ""
    auth = f"{user}{password}@" if user else ""
    return f"postgres://{auth}{settings_dict['HOST']}:{settings_dict['PORT']}/{settings_dict['NAME']}"


@pytest.fixture
def celery_workers(transactional_db):
    """celery_workers(queues, name) starts a real Celery worker process on the real broker, consuming
    those queues, using the test database; each is stopped after the test.

    Started for the test that asks and stopped after, so a worker never runs work queued by other tests
    against their data; what earlier tests queued is purged first.
    """
    import os
    import subprocess
    import sys
    from pathlib import Path

    from celery import current_app

    broker = os.environ.get("CELERY_BROKER_URL")
    if not broker:
        pytest.skip("needs a Celery broker: `make test` starts Redis and sets CELERY_BROKER_URL")
    if connection.vendor != "postgresql":
        pytest.skip("the worker shares the test database, which must be PostgreSQL (not in-memory SQLite)")
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "CELERY_RESULT_BACKEND": broker,
        "DB_CONN_MAX_AGE": "0",
    }
    purge_every_queue()
    started: list[subprocess.Popen] = []

    def start(queues: list[str], name: str = "omni-test") -> subprocess.Popen:
        worker = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "omni",
                "worker",
                "--pool=solo",
                "--loglevel=WARNING",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                f"--queues={','.join(queues)}",
                f"--hostname={name}@%h",
            ],
            cwd=Path(__file__).resolve().parents[1],
            env=env,
        )
        started.append(worker)
        return worker

    current_app.conf.result_backend = broker
    try:
        yield start
    finally:
        for worker in started:
            worker.terminate()
        for worker in started:
            try:
                worker.wait(20)
            except subprocess.TimeoutExpired:
                worker.kill()
        purge_every_queue()  # what this test's work queued after it is not run against the next test's data


def purge_every_queue() -> None:
    """Drop the messages waiting on every queue Omni routes to (Celery's own purge empties only the default)."""
    from celery import current_app

    with current_app.connection_for_write() as broker:
        for queue in settings.WORKER_QUEUES:
            broker.default_channel.queue_purge(queue)


@pytest.fixture
def celery_worker(celery_workers):
    """One real Celery worker consuming every queue (the small-install setup of the README)."""
    from celery import current_app

    celery_workers(settings.WORKER_QUEUES)
    return current_app
