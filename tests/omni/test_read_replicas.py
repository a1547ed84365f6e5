"""Read replicas: dashboards, the KPI endpoint, exports, segment counts and the parity report read from a
streaming standby; everything else, every write, every read in a transaction or after a write, from the primary;
a replica that lags or is down is skipped.

The routing rules are checked everywhere (the replica's health is stubbed); the rest runs against the real
hot-standby replica that tests/services.sh (and so `make test`) starts beside the primary.
"""

from __future__ import annotations

import os
import subprocess
import time
from datetime import date
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import Permission, User
from django.db import OperationalError, connections, transaction
from django.test.utils import CaptureQueriesContext

from customers import services as customer_services
from customers.models import Segment
from kpis.models import RollupDay
from omni import replicas
from omni.catalog.models import Channel
from omni.db_router import ReplicaRouter
from tests.factories import CustomerFactory, LocationFactory
from tests.kpis.conftest import History, at

REPLICA = "replica_0"
needs_replica = pytest.mark.skipif(
    REPLICA not in settings.DATABASES,
    reason="needs a streaming replica in DATABASE_REPLICA_URLS: tests/services.sh and `make test` start one",
)
on_both = pytest.mark.django_db(transaction=True, databases=["default", REPLICA])
WRITES = ("INSERT", "UPDATE", "DELETE", "TRUNCATE", "CREATE", "ALTER", "DROP")


# --- the rules, with the replica's health stubbed: these run on every database ---------------------------


@pytest.fixture
def one_healthy_replica(monkeypatch):
    monkeypatch.setattr(replicas, "replica_aliases", lambda: [REPLICA])
    monkeypatch.setattr(replicas, "is_healthy", lambda alias: True)


def test_reads_outside_a_replica_context_go_to_the_primary(one_healthy_replica):
    assert ReplicaRouter().db_for_read(Channel) == "default"


def test_reads_inside_a_replica_context_go_to_the_replica_until_something_is_written(one_healthy_replica):
    router = ReplicaRouter()
    with replicas.reads_from_replica():
        assert router.db_for_read(Channel) == REPLICA
        assert router.db_for_write(Channel) == "default"
        assert router.db_for_read(Channel) == "default", "read your own writes"
    with replicas.reads_from_replica():
        assert router.db_for_read(Channel) == REPLICA, "a new context starts clean"


def test_a_write_in_an_inner_context_keeps_the_outer_one_on_the_primary(one_healthy_replica):
    router = ReplicaRouter()
    with replicas.reads_from_replica():
        with replicas.reads_from_replica():
            router.db_for_write(Channel)
        assert router.db_for_read(Channel) == "default"


def test_the_decorator_gives_each_call_its_own_context(one_healthy_replica):
    router = ReplicaRouter()

    @replicas.reads_from_replica()
    def read_then_write():
        first = router.db_for_read(Channel)
        router.db_for_write(Channel)
        return first

    assert read_then_write() == REPLICA
    assert read_then_write() == REPLICA


def test_writes_and_migrations_only_ever_go_to_the_primary(one_healthy_replica):
    router = ReplicaRouter()
    with replicas.reads_from_replica():
        assert router.db_for_write(Channel) == "default"
    assert router.allow_migrate("default", "catalog") is True
    assert router.allow_migrate(REPLICA, "catalog") is False


def test_no_healthy_replica_means_the_primary(monkeypatch):
    monkeypatch.setattr(replicas, "replica_aliases", lambda: [REPLICA])
    monkeypatch.setattr(replicas, "is_healthy", lambda alias: False)
    with replicas.reads_from_replica():
        assert ReplicaRouter().db_for_read(Channel) == "default"


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_on_the_primary_stay_on_the_primary(one_healthy_replica):
    with replicas.reads_from_replica():
        with transaction.atomic():
            assert ReplicaRouter().db_for_read(Channel) == "default"
        assert ReplicaRouter().db_for_read(Channel) == REPLICA


# --- against the real streaming replica -------------------------------------------------------------------


def wait_for_replay(seconds: float = 60) -> None:
    """Until the replica has replayed everything the primary has written so far (no fixed sleep).

    The insert position, not the write position: the test primary commits asynchronously, so a commit
    can be in the WAL buffers, not yet written or sent, when its transaction returns. A replica that is
    starting (it refuses connections until its recovery is consistent) is waited for the same way.
    """
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_insert_lsn()")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + seconds
    while True:
        try:
            with connections[REPLICA].cursor() as cursor:
                cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
                if cursor.fetchone()[0]:
                    return
        except OperationalError:
            connections[REPLICA].close()
        assert time.monotonic() < deadline, "the replica never caught up"
        time.sleep(0.02)


@pytest.fixture
def manager(client):
    user = User.objects.create_user("marketing", "m@example.it", "pw-Secret-1", is_staff=True, is_superuser=True)
    user.user_permissions.add(Permission.objects.get(codename="view_dashboards"))
    client.force_login(user)
    return client


@pytest.fixture
def march():
    history = History()
    store = LocationFactory(code="MI01", name="Milano")
    for day in (date(2025, 3, 3), date(2025, 3, 4)):
        history.order("store", "100.00", location=store, customer=CustomerFactory(), when=at(day, 10))
    history.roll(date(2025, 3, 1), date(2025, 3, 31))
    wait_for_replay()
    return store


def more_history() -> History:
    """A History that numbers its orders after the ones `march` wrote."""
    history = History()
    history.count = 1000
    return history


def tables_read(queries) -> str:
    return " ".join(query["sql"] for query in queries)


@needs_replica
@on_both
def test_a_dashboard_reads_its_figures_from_the_replica(manager, march):
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = manager.get("/dashboards/", {"start": "2025-03-01", "end": "2025-03-31"})
    assert response.status_code == 200
    assert "200,00" in response.content.decode() or "200.00" in response.content.decode()
    assert RollupDay._meta.db_table in tables_read(on_replica)
    assert RollupDay._meta.db_table not in tables_read(on_primary)
    assert "auth_user" in tables_read(on_primary), "who may see the page is decided on the primary"


@needs_replica
@on_both
def test_the_kpi_endpoint_reads_its_figures_from_the_replica(api, march):
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        response = api.get("/api/v1/kpis/", {"from": "2025-03-01", "to": "2025-03-31", "granularity": "month"})
    assert response.status_code == 200
    assert response.json()["total"]["revenue"] == "200.00"
    assert '"kpis_' in tables_read(on_replica)
    assert '"kpis_' not in tables_read(on_primary)


@needs_replica
@on_both
def test_a_segment_is_counted_on_the_replica_and_the_count_saved_on_the_primary():
    segment = Segment.objects.create(name="everyone")
    CustomerFactory()
    wait_for_replay()
    with (
        CaptureQueriesContext(connections[REPLICA]) as on_replica,
        CaptureQueriesContext(connections["default"]) as on_primary,
    ):
        customer_services.count_members(segment=segment)
    assert "COUNT(" in tables_read(on_replica)
    assert "UPDATE" in tables_read(on_primary)
    assert not any(query["sql"].lstrip().upper().startswith(WRITES) for query in on_replica)


@needs_replica
@on_both
def test_reads_after_a_write_or_inside_a_transaction_see_the_primary(march):
    with CaptureQueriesContext(connections[REPLICA]) as on_replica, replicas.reads_from_replica():
        with transaction.atomic():
            assert Channel.objects.filter(code="store").exists()
        Channel.objects.filter(code="store").update(name="Negozi")
        # Just written, perhaps not yet replayed: read from the primary, so the change is seen.
        assert Channel.objects.get(code="store").name == "Negozi"
    assert "catalog_channel" not in tables_read(on_replica)


@needs_replica
@on_both
def test_no_write_reaches_the_replica_while_dashboards_are_read_and_orders_recorded(manager, march):
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert manager.get("/dashboards/channels/", {"start": "2025-03-01", "end": "2025-03-31"}).status_code == 200
        with replicas.reads_from_replica():
            more_history().order("web", "30.00", when=at(date(2025, 3, 5), 11))
            assert ReplicaRouter().db_for_write(Channel) == "default"
        assert manager.get("/dashboards/", {"start": "2025-03-01", "end": "2025-03-31"}).status_code == 200
    assert on_replica.captured_queries, "the dashboards did read from the replica"
    assert not [query["sql"] for query in on_replica if query["sql"].lstrip().upper().startswith(WRITES)]


@pytest.fixture
def tight_lag_bound(settings):
    settings.DATABASE_REPLICA_MAX_LAG_SECONDS = 0
    replicas.forget_health()
    yield
    replicas.forget_health()


@needs_replica
@on_both
def test_a_replica_that_is_behind_is_skipped_and_used_again_once_it_catches_up(manager, march, tight_lag_bound):
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("SELECT pg_wal_replay_pause()")
    try:
        more_history().order("store", "1.00", when=at(date(2025, 3, 6), 11))  # WAL the replica receives, not replays
        with connections["default"].cursor() as cursor:
            cursor.execute("SELECT pg_current_wal_insert_lsn()")
            (target,) = cursor.fetchone()
        with connections[REPLICA].cursor() as cursor:
            deadline = time.monotonic() + 60
            while True:  # until the replica has received it and holds some of it unreplayed
                cursor.execute(
                    "SELECT pg_last_wal_receive_lsn() >= %s::pg_lsn"
                    " AND pg_last_wal_receive_lsn() > pg_last_wal_replay_lsn()",
                    [target],
                )
                if cursor.fetchone()[0]:
                    break
                assert time.monotonic() < deadline, "the replica never held WAL unreplayed"
                time.sleep(0.02)
        assert not replicas.is_healthy(REPLICA)
        with CaptureQueriesContext(connections[REPLICA]) as on_replica:
            response = manager.get("/dashboards/", {"start": "2025-03-01", "end": "2025-03-31"})
        assert response.status_code == 200
        assert RollupDay._meta.db_table not in tables_read(on_replica), "a lagging replica is skipped"
    finally:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_wal_replay_resume()")
    wait_for_replay()
    replicas.forget_health()
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        assert manager.get("/dashboards/", {"start": "2025-03-01", "end": "2025-03-31"}).status_code == 200
    assert RollupDay._meta.db_table in tables_read(on_replica), "caught up: in use again"


def pg_ctl(*args: str) -> None:
    command = [*args]
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    # The server started keeps pg_ctl's output open: send it to a file, never to a pipe that is waited on.
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=120)


@needs_replica
@pytest.mark.skipif(not os.environ.get("OMNI_TEST_REPLICA_DATA"), reason="needs the replica tests/services.sh started")
@on_both
@pytest.mark.parametrize("measured", ["before it stopped", "after it stopped"])
def test_when_the_replica_stops_the_dashboards_and_the_kpi_endpoint_answer_from_the_primary(
    manager, api, march, monkeypatch, measured
):
    data = os.environ["OMNI_TEST_REPLICA_DATA"]
    pg_ctl_path = str(sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))[-1])
    if measured == "before it stopped":
        # Found healthy just before it stopped, and that finding kept (the cache holds it): the first
        # query on it fails, and the page is read again from the primary instead of failing.
        monkeypatch.setattr(replicas, "HEALTH_CACHE_SECONDS", 3600.0)
        assert replicas.is_healthy(REPLICA)
    # A checkpoint on the primary, replayed, then a restartpoint on the replica: started again, it replays
    # only what came after, not everything since its last restartpoint (minutes of the suite's writes).
    with connections["default"].cursor() as cursor:
        cursor.execute("CHECKPOINT")
    wait_for_replay()
    with connections[REPLICA].cursor() as cursor:
        cursor.execute("CHECKPOINT")
    connections[REPLICA].close()
    pg_ctl(pg_ctl_path, "-D", data, "-m", "fast", "-w", "stop")
    try:
        if measured == "after it stopped":
            replicas.forget_health()
        with CaptureQueriesContext(connections["default"]) as on_primary:
            page = manager.get("/dashboards/", {"start": "2025-03-01", "end": "2025-03-31"})
            figures = api.get("/api/v1/kpis/", {"from": "2025-03-01", "to": "2025-03-31", "granularity": "month"})
        assert page.status_code == 200
        assert figures.status_code == 200
        assert figures.json()["total"]["revenue"] == "200.00"
        assert RollupDay._meta.db_table in tables_read(on_primary)
    finally:
        connections[REPLICA].close()
        # Not -w: pg_ctl's own wait gives up after its timeout on a slow machine and leaves the replica
        # half started; the wait below asks the replica itself, for as long as its recovery takes.
        pg_ctl(pg_ctl_path, "-D", data, "-l", str(Path(data).parent / "log"), "-W", "restart")
        replicas.forget_health()
        wait_for_replay(seconds=300)


@needs_replica
@on_both
def test_a_segment_export_and_the_parity_report_read_from_the_replica(manager):
    segment = Segment.objects.create(name="everyone")
    CustomerFactory()
    wait_for_replay()
    with CaptureQueriesContext(connections[REPLICA]) as on_replica:
        export = manager.post("/admin/customers/segment/", {"action": "export_csv", "_selected_action": [segment.pk]})
        parity = manager.get("/admin/loyalty/programme/parity/")
    assert export.status_code == 200 and export["Content-Type"].startswith("text/csv")
    assert parity.status_code == 200
    assert '"customers_customer"' in tables_read(on_replica)
    assert '"loyalty_promotion"' in tables_read(on_replica)
    assert not [query["sql"] for query in on_replica if query["sql"].lstrip().upper().startswith(WRITES)]
