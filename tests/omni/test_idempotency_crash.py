"""A gunicorn worker killed after its commit, before its answer: the retry with the same key replays the 201.

The order is sent to a real gunicorn with an Idempotency-Key. The worker
commits, then stops (a test-only middleware sleeps right after the commit)
and is killed with SIGKILL: the client never gets its answer. Retried with
the same key and body, the request must answer the first 201 again (replayed,
the same order number) and record nothing more. Before the stored answer
committed in the same transaction as the work, the key stayed
`in_progress` for 24 hours and every retry answered 409.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from django.db import connection

from inventory import services as inventory
from omni.api.keys import create_client
from omni.orders.models import Order
from tests.conftest import database_url_of
from tests.factories import LocationFactory, VariantFactory
from tests.omni.test_production_start import wait_until_listening
from tests.security.test_broker_down import free_port

ROOT = Path(__file__).resolve().parents[2]
BODY = json.dumps(
    {
        "channel": "store",
        "location": "MI01",
        "fulfilment": {"type": "carry_out"},
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "payments": [{"tender": "card", "amount": "29.90"}],
    }
)


def post_order(port: int, key: str, **headers: str) -> tuple[int, dict, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request(
        "POST",
        "/api/v1/orders/",
        body=BODY,
        headers={
            "Authorization": f"Bearer {key}",
            "Content-Type": "application/json",
            "Idempotency-Key": "till-7-receipt-1",
            **headers,
        },
    )
    response = conn.getresponse()
    content = response.read()
    conn.close()
    return response.status, dict(response.getheaders()), content


def wait_for(condition, what: str, seconds: float = 60):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"gave up waiting for {what}")


def test_a_worker_killed_between_commit_and_answer_leaves_its_201_to_replay(postgres, tmp_path):
    inventory.count(location=LocationFactory(code="MI01"), variant=VariantFactory(sku="CAM-ROSSA-M"), on_hand=5)
    _client, key = create_client(name="till", scopes=["orders"])
    marker = tmp_path / "paused"
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")},
        "DJANGO_SETTINGS_MODULE": "tests.omni.settings_pause_after_commit",
        "DATABASE_URL": database_url_of(connection.settings_dict),
        "DB_CONN_MAX_AGE": "0",
        "IDEMPOTENCY_LEASE_SECONDS": "2",
        "PAUSE_MARKER": str(marker),
    }
    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    server = subprocess.Popen(
        [str(gunicorn), "omni.wsgi", "--bind", f"127.0.0.1:{port}", "--workers", "1", "--timeout", "300"],
        cwd=ROOT,
        env=env,
    )
    lost: list[BaseException] = []
    try:
        wait_until_listening(port, server)

        def first_try():
            try:
                post_order(port, key, **{"X-Test-Pause-After-Commit": "1"})
            except BaseException as error:  # the connection dies with the worker
                lost.append(error)

        sender = threading.Thread(target=first_try)
        sender.start()
        worker_pid = int(wait_for(lambda: marker.exists() and marker.read_text(), "the worker to commit and pause"))
        assert Order.objects.count() == 1  # committed
        os.kill(worker_pid, signal.SIGKILL)
        sender.join(60)
        assert lost, "the first try must not get an answer"

        def retried():
            status, headers, content = post_order(port, key)
            return None if status == 409 else (status, headers, content)

        status, headers, content = wait_for(retried, "the retry to get past 409 request_in_progress", 30)
    finally:
        server.terminate()
        server.wait(30)

    assert status == 201, content
    assert headers.get("Idempotent-Replayed") == "true"
    assert json.loads(content)["number"] == Order.objects.get().number
    assert Order.objects.count() == 1
