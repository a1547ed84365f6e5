"""A worker killed in the middle of the KPI rollup leaves the figures as they were, and the rerun completes them.

The nightly rollup of a date range is the longest writing task: it replaces
the figures of many days, a month of days at a time. The test holds a lock
on a day of the second month, so the real worker process waits there with
the first month already written inside its transaction, kills it with
SIGKILL, and reads the database: nothing of that run may be there. The task
message, acknowledged only when a task finishes (acks_late), is still with
the broker; given back, a fresh worker runs it to the end, once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from celery import current_app
from django.conf import settings
from django.db import connection, connections
from django.utils import timezone

from kpis.models import DailyFigures, RollupDay
from kpis.services import REBUILD_CHUNK_DAYS, rebuild
from tests.conftest import database_url_of, purge_every_queue
from tests.kpis.conftest import History, at

DAYS = REBUILD_CHUNK_DAYS + 9  # two transactions' worth of days before the fix: a month, then nine days


def start_worker() -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "CELERY_RESULT_BACKEND": os.environ["CELERY_BROKER_URL"],
        "DB_CONN_MAX_AGE": "0",
    }
    return subprocess.Popen(
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
            f"--queues={','.join(settings.WORKER_QUEUES)}",
            "--hostname=omni-killed@%h",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
    )


def wait_for(condition, what: str, seconds: float = 90) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def others_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def other_sessions() -> set[int]:
    """The other client sessions on the test database (earlier tests may leave idle ones behind)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        return {row[0] for row in cursor.fetchall()}


def unacked_messages() -> int:
    with current_app.connection_for_write() as broker:
        return broker.default_channel.client.hlen("unacked")


def give_back_unacked() -> None:
    """What the broker does with a message a dead worker held once the visibility timeout passes."""
    with current_app.connection_for_write(transport_options={"visibility_timeout": 0}) as broker:
        broker.default_channel.qos.restore_visible(num=100)


def figures() -> list[tuple]:
    return sorted(DailyFigures.objects.values_list("day", "channel_id", "location_id", "orders", "revenue"))


def test_a_worker_killed_mid_rollup_writes_nothing_and_the_rerun_completes_once(postgres):
    if not os.environ.get("CELERY_BROKER_URL"):
        pytest.skip("needs a Celery broker: `make test` starts Redis and sets CELERY_BROKER_URL")
    today = timezone.localdate()
    first, last = today - timedelta(days=DAYS), today - timedelta(days=1)
    history = History()
    for offset in range(0, DAYS, 3):
        history.order("store" if offset % 2 else "web", "25.00", when=at(first + timedelta(days=offset)))
    RollupDay.objects.bulk_create([RollupDay(day=first + timedelta(days=n)) for n in range(DAYS)])
    blocked_day = first + timedelta(days=REBUILD_CHUNK_DAYS)  # the first day of the second month

    purge_every_queue()
    already_there = other_sessions()
    side = connections.create_connection("default")
    side.set_autocommit(False)
    worker = start_worker()
    try:
        with side.cursor() as cursor:
            cursor.execute(f"SELECT 1 FROM {RollupDay._meta.db_table} WHERE day = %s FOR UPDATE", [blocked_day])
        current_app.send_task("kpis.rollup_yesterday", kwargs={"days": DAYS})
        wait_for(lambda: others_waiting_on_a_lock() == 1, "the worker to reach the second month")
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(30)
        side.rollback()  # the dead worker's session gets the lock, finds no client and rolls back
        side.close()
        wait_for(lambda: not (other_sessions() - already_there), "the dead worker's session to end")

        assert DailyFigures.objects.count() == 0
        assert not RollupDay.objects.filter(refreshed_at__isnull=False).exists()
        assert unacked_messages() == 1  # acks_late: the broker still holds the task

        give_back_unacked()
        worker = start_worker()
        wait_for(
            lambda: RollupDay.objects.filter(day__gte=first, day__lte=last, refreshed_at__isnull=False).count() == DAYS,
            "the rerun to finish",
        )
        wait_for(lambda: unacked_messages() == 0, "the rerun to be acknowledged")
    finally:
        side.close()
        worker.kill()
        worker.wait(30)

    after_rerun = figures()
    assert sum(row[3] for row in after_rerun) == len(range(0, DAYS, 3))  # every order counted once
    rebuild(start=first, end=last)
    assert figures() == after_rerun  # the rerun left what a clean run leaves
