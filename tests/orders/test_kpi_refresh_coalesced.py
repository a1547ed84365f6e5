"""A busy day queues one KPI refresh at a time, and the figures still count every sale.

Each sale asks for its day's KPIs to be recomputed after its commit. A
refresh recomputes the whole day, so while one waits in the queue the next
sales do not queue more: the waiting run starts after their commit and
reads them. These tests use the real Redis broker (and, for the last one, a
real worker on PostgreSQL).
"""

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from celery.result import AsyncResult
from django.db import connection, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from kpis.models import DailyFigures, RollupDay
from loyalty.pricing import LineIn
from omni import outbox
from omni.catalog.models import Channel
from omni.models import OutboxMessage, OutboxPending
from omni.orders import services
from omni.orders.models import Order
from tests.locks import behind_a_held_change
from tests.orders.conftest import stock

REFRESH = "kpis.refresh_day"


def sale(network, n: int):
    """A till sale inside the caller's transaction."""
    return services.record_order(
        channel=Channel.objects.get(code="store"),
        location=network["milano"],
        external_id=f"C-{n}",
        lines=[LineIn("CAM-ROSSA-M", 1)],
        payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
    )


def sell(network, n: int):
    with transaction.atomic():  # committed for real: the refresh is handed over after the commit
        return sale(network, n)


def refreshes_of(day) -> list[str]:
    rows = OutboxMessage.objects.filter(task=REFRESH, kwargs__day=day.isoformat()).order_by("pk")
    assert all(row.sent_at is not None for row in rows), "every message is handed over or covered"
    return [row.task_id for row in rows]


@pytest.mark.postgres_only("a refresh waits only on the real broker of `make test`; eager Celery runs each in place")
@pytest.mark.django_db(transaction=True)
def test_sales_while_a_refresh_waits_are_covered_by_it_not_queued_again(network):
    stock(network["milano"], network["shirt"], 10)
    for n in range(4):
        sell(network, n)
    today = timezone.localdate()
    task_ids = refreshes_of(today)
    assert len(task_ids) == 4
    assert task_ids[0] not in ("", outbox.COALESCED)  # the first went to the broker
    assert task_ids[1:] == [outbox.COALESCED] * 3  # the others wait for it

    # A sale covered by the waiting run costs one statement after its commit: the claim that marks it.
    with CaptureQueriesContext(connection) as after_commit, transaction.atomic():
        message = outbox.enqueue(REFRESH, day=today.isoformat())
        began = len(after_commit.captured_queries)
    assert len(after_commit.captured_queries[began:]) == 2  # the COMMIT, then the claim and the mark together
    assert OutboxMessage.objects.get(pk=message.pk).task_id == outbox.COALESCED

    # Another day is another refresh.
    with transaction.atomic():
        outbox.enqueue(REFRESH, day=(today - timedelta(days=1)).isoformat())
    assert refreshes_of(today - timedelta(days=1))[0] != outbox.COALESCED


@pytest.mark.django_db(transaction=True)
def test_once_the_waiting_refresh_starts_the_next_sale_queues_a_new_one(network):
    stock(network["milano"], network["shirt"], 10)
    sell(network, 1)
    today = timezone.localdate()
    # The worker starting the task (Celery's task_prerun) frees the key: what commits now is not covered.
    outbox.task_starting(sender=type("Task", (), {"name": REFRESH}), kwargs={"day": today.isoformat()})
    sell(network, 2)
    assert outbox.COALESCED not in refreshes_of(today)


@pytest.mark.django_db(transaction=True)
def test_a_refresh_that_never_started_stops_holding_the_others_back(network):
    stock(network["milano"], network["shirt"], 10)
    sell(network, 1)
    OutboxPending.objects.update(sent_at=timezone.now() - outbox.PENDING_FOR_AT_MOST - timedelta(seconds=1))
    sell(network, 2)  # the first message was lost somewhere: this one goes again
    assert outbox.COALESCED not in refreshes_of(timezone.localdate())


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_counts_every_sale_made_while_its_refresh_waited(celery_worker, network):
    stock(network["milano"], network["shirt"], 10)
    today = timezone.localdate()
    earlier = today - timedelta(days=3)
    RollupDay.objects.create(day=earlier)

    # Keep the worker (one task at a time) busy on another day's refresh, blocked on that day's lock,
    # so today's refresh is queued and not started while the sales commit.
    locked, release = threading.Event(), threading.Event()

    def hold_the_earlier_day():
        try:
            with transaction.atomic():
                list(RollupDay.objects.select_for_update().filter(day=earlier))
                locked.set()
                release.wait(60)
        finally:
            connection.close()

    holder = threading.Thread(target=hold_the_earlier_day)
    holder.start()
    try:
        assert locked.wait(30)
        with transaction.atomic():
            outbox.enqueue(REFRESH, day=earlier.isoformat())
        for n in range(3):
            sell(network, n)
    finally:
        release.set()
        holder.join(30)

    task_ids = refreshes_of(today)
    assert task_ids[1:] == [outbox.COALESCED, outbox.COALESCED]
    AsyncResult(task_ids[0], app=celery_worker).get(timeout=60)
    figures = DailyFigures.objects.filter(day=today).aggregate(orders=Sum("orders"), units=Sum("units"))
    assert figures == {"orders": 3, "units": 3}


@pytest.mark.django_db
def test_the_claim_marks_the_message_only_when_a_run_waits():
    """On both engines: the first claim of a key goes ahead and leaves its message to be sent; a second,
    while that run waits, is marked sent as coalesced by the claim itself."""
    first, second = (OutboxMessage.objects.create(task=REFRESH, kwargs={"day": "2026-12-01"}) for _ in range(2))
    key = outbox.coalescing_key(REFRESH, first.kwargs)
    assert outbox._claim(key, first.pk) is True
    assert outbox._claim(key, second.pk) is False
    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.sent_at, first.task_id) == (None, "")
    assert second.sent_at is not None and (second.task_id, second.attempts) == (outbox.COALESCED, 1)


@pytest.mark.postgres_only("the sale's own statement covers it only on the real broker; FOR SHARE is PostgreSQL's")
@pytest.mark.django_db(transaction=True)
def test_a_sale_covered_by_a_waiting_refresh_is_marked_by_its_own_statement_and_the_run_waits_for_its_commit(
    network,
):
    """The sale's statement finds the waiting run and writes its outbox row already marked, so nothing runs after
    its commit. The run's start must then wait for that commit, or it could miss the sale: a run that starts
    while such a sale is still open waits on the row the sale locked, and reads the sale once it commits."""
    stock(network["milano"], network["shirt"], 10)
    sell(network, 1)  # its refresh waits: no worker here
    today = timezone.localdate()

    with CaptureQueriesContext(connection) as queries:
        sell(network, 2)
    sent = [query["sql"] for query in queries.captured_queries]
    assert sent[-1] == "COMMIT", sent  # no claim after the commit
    message = OutboxMessage.objects.filter(task=REFRESH, kwargs__day=today.isoformat()).latest("pk")
    assert (message.task_id, message.attempts) == (outbox.COALESCED, 1) and message.sent_at is not None

    run = type("Task", (), {"name": REFRESH})
    seen: list[int] = []

    def starting_run():  # Celery's task_prerun, then the run's first read
        outbox.task_starting(sender=run, kwargs={"day": today.isoformat()})
        seen.append(Order.objects.filter(external_id="C-3").count())

    behind_a_held_change(lambda: sale(network, 3), starting_run, "the run's start")
    assert seen == [1]  # the run read the covered sale
    assert refreshes_of(today)[-1] == outbox.COALESCED
    assert not OutboxPending.objects.exists()  # the run's start freed the key
