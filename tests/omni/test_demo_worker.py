"""The demo keeps time: `make demo-worker` (which `make demo` runs beside the server) is a real Celery worker
with beat embedded, on a broker of files, and the periodic jobs run while it is up."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from inventory import services as stock
from inventory.models import Reservation, ReservationStatus
from omni.models import OutboxMessage
from tests.conftest import database_url_of
from tests.factories import LocationFactory, VariantFactory

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.postgres_only(
    "the worker is a second process on the test database, which in-memory SQLite cannot share"
)


@pytest.fixture
def demo_worker(transactional_db, tmp_path):
    """Starts `make demo-worker` as `make demo` does, every job due each second, and stops it after the test."""
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"CELERY_BROKER_URL", "CELERY_RESULT_BACKEND", "CACHE_URL", "MAKEFLAGS", "MFLAGS"}
    }
    env.update(
        DATABASE_URL=database_url_of(connection.settings_dict),
        DB_CONN_MAX_AGE="0",
        CELERY_BROKER_FOLDER=str(tmp_path / "broker"),  # not the demo's own .broker/
        CELERY_BEAT_EVERY_SECONDS="1",
    )
    started = []

    def start() -> subprocess.Popen:
        process = subprocess.Popen(
            ["make", "--no-print-directory", "demo-worker", f"PY={sys.executable}"],
            cwd=ROOT,
            env=env,
            start_new_session=True,  # its own process group: the worker and beat's process are stopped together
        )
        started.append(process)
        return process

    yield start
    for process in started:
        with_group(process, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            with_group(process, signal.SIGKILL)
            process.wait(10)


def with_group(process: subprocess.Popen, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signum)


def wait_for(condition, process: subprocess.Popen, seconds: float = 120) -> None:
    """Polls the database until the condition holds (a deadline for a stuck worker, not a measured time)."""
    deadline = time.monotonic() + seconds
    while not condition():
        assert process.poll() is None, f"the demo worker stopped with status {process.returncode}"
        assert time.monotonic() < deadline, "the scheduled jobs did not run"
        time.sleep(0.5)


def test_the_demo_worker_runs_the_periodic_jobs_and_stops_with_its_caller(demo_worker):
    store, shirt = LocationFactory(), VariantFactory()
    stock.count(location=store, variant=shirt, on_hand=5, reason="test count")
    past = timezone.now() - timedelta(hours=1)
    expired = stock.hold(location=store, variant=shirt, quantity=2, hold_minutes=30, now=past)
    # A message the request could not hand over (the broker was down): only the relay sends it.
    stranded = OutboxMessage.objects.create(task="omni.ping", kwargs={"token": "demo"})

    worker = demo_worker()

    def hold_expired_and_outbox_relayed() -> bool:
        status = Reservation.objects.values_list("status", flat=True).get(pk=expired.pk)
        return status == ReservationStatus.EXPIRED and OutboxMessage.objects.get(pk=stranded.pk).sent_at is not None

    wait_for(hold_expired_and_outbox_relayed, worker)

    os.killpg(worker.pid, signal.SIGTERM)  # what `make demo` sends its worker when the server stops
    assert worker.wait(30) is not None
