"""Queues by kind of work: a long receipt import never holds up a sale's KPI refresh or the outbox.

Two real workers on a real Redis, as the README runs them: one on the imports queue, one on every other
queue. Two long imports are queued, then a sale is recorded while the first import runs; the sale's work
sent through the outbox completes while the first import is still running and the second still queued.
With one queue for everything, the second worker would take the second import and the sale's refresh
would wait behind both.
"""

from __future__ import annotations

import time

import pytest
from celery import current_app
from celery.result import AsyncResult
from django.conf import settings
from django.db import transaction

from omni import outbox
from omni.models import OutboxMessage
from omni.orders.models import ImportStatus, Order, ReceiptImport
from tests.orders.conftest import stock
from tests.orders.test_receipt_import import HEADER
from tests.orders.test_record_order import URL, till_sale

LINES = 5000  # receipts per import: long enough to still be running when the sale's refresh is done


def test_every_task_has_the_queue_of_its_kind():
    current_app.loader.import_default_modules()
    queues = {
        name: current_app.amqp.router.route({}, name)["queue"].name
        for name in current_app.tasks
        if not name.startswith("celery.")
    }
    assert queues == {
        "orders.import_receipts": "imports",
        "omni.relay_outbox": "orders",
        "kpis.refresh_day": "kpis",
        "kpis.count_periods": "kpis",
        "kpis.rollup_yesterday": "scheduled",
        "loyalty.expire_points": "scheduled",
        "loyalty.recompute_tiers": "scheduled",
        "inventory.release_expired_holds": "scheduled",
        "inventory.propose_replenishment": "scheduled",
        "omni.purge_idempotency_keys": "scheduled",
        "omni.ensure_partitions": "scheduled",
        "omni.ping": "celery",
        "webhooks.send_due": "webhooks",
        "webhooks.send_dispatches": "webhooks",
        # Receipts and notices to customers: short, right after a sale.
        "customers.send_message": "orders",
        # Long admin actions (background jobs): beside the files.
        "kpis.recompute_days": "imports",
        "kpis.import_social_figures": "imports",
        "inventory.import_stock_count": "imports",
        "customers.import_customers": "imports",
    }
    beat = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    # The outbox relay and the webhooks' retry sweep are periodic but stay with the work they send.
    assert {queues[name] for name in beat - {"omni.relay_outbox", "webhooks.send_due"}} == {"scheduled"}
    assert set(queues.values()) <= set(settings.WORKER_QUEUES)


def wait_for(condition, what: str, seconds: float = 300):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.05)


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_long_import_does_not_delay_a_sales_work_sent_through_the_outbox(celery_workers, api, network):
    milano, shirt = network["milano"], network["shirt"]
    # The imports sell in Roma: the sale in Milano below waits for no stock row the imports hold.
    stock(network["roma"], shirt, 2 * LINES + 10)
    stock(milano, shirt, 5)
    celery_workers(["imports"], "imports")
    celery_workers([queue for queue in settings.WORKER_QUEUES if queue != "imports"], "everything-else")
    # The worker for everything else is up and listening (omni.ping is on the default queue).
    assert current_app.send_task("omni.ping", kwargs={"token": "up"}).get(timeout=120) == "pong:up"
    imports = []
    for run in ("A", "B"):
        text = HEADER + "".join(f"RM01,{run}-{n},2025-03-14T10:00:00,CAM-ROSSA-M,1,39.90,,cash\n" for n in range(LINES))
        with transaction.atomic():
            job = ReceiptImport.objects.create(file_name=f"{run}.csv", file_format="csv", content=text.encode())
            message = outbox.enqueue("orders.import_receipts", import_id=job.pk)
        imports.append((job, message))
    (first, first_message), (second, second_message) = imports
    wait_for(
        lambda: ReceiptImport.objects.filter(pk=first.pk, status=ImportStatus.RUNNING, lines_done__gt=0).exists(),
        "the first import runs",
    )

    response = api.post(URL, till_sale(), format="json")
    assert response.status_code == 201, response.json()
    sales_work = list(OutboxMessage.objects.filter(pk__gt=second_message.pk))
    assert sales_work and {message.task for message in sales_work} <= {"kpis.refresh_day", "kpis.count_periods"}
    for message in sales_work:
        assert message.sent_at is not None and message.task_id
        AsyncResult(message.task_id, app=current_app).get(timeout=300)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == ImportStatus.RUNNING and first.lines_done < LINES, "the sale did not wait for import A"
    assert second.status == ImportStatus.QUEUED, "import B waits behind import A, on its own queue"

    for _job, message in imports:
        sent = OutboxMessage.objects.get(pk=message.pk)
        assert AsyncResult(sent.task_id, app=current_app).get(timeout=600) == ImportStatus.DONE
    assert Order.objects.count() == 2 * LINES + 1
