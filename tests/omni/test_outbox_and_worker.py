"""Work after the commit: the outbox hands tasks to Celery once the transaction commits."""

from pathlib import Path

import pytest
from celery import current_app
from celery.result import AsyncResult
from django.core.management import call_command
from django.db import transaction

from omni import outbox
from omni.models import OutboxMessage

MAKEFILE = Path(__file__).resolve().parents[2] / "Makefile"


@pytest.fixture
def eager():
    """Run tasks in the process, as the embedded default does."""
    was = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = was


@pytest.mark.django_db(transaction=True)
def test_a_message_is_sent_only_after_its_transaction_commits(eager, monkeypatch):
    with transaction.atomic():
        message = outbox.enqueue("omni.ping", token="after-commit")
        assert OutboxMessage.objects.get(pk=message.pk).sent_at is None
    assert OutboxMessage.objects.get(pk=message.pk).sent_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_message(eager, monkeypatch):
    with pytest.raises(RuntimeError), transaction.atomic():
        outbox.enqueue("omni.ping", token="never")
        raise RuntimeError("the sale failed")
    assert not OutboxMessage.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_message_that_could_not_be_sent_is_sent_by_the_relay(eager, monkeypatch):
    real_tasks = dict(current_app.tasks)
    monkeypatch.delitem(current_app.tasks, "omni.ping")  # as if the broker refused it
    with transaction.atomic():
        message = outbox.enqueue("omni.ping", token="later")
    stuck = OutboxMessage.objects.get(pk=message.pk)
    assert stuck.sent_at is None and stuck.attempts == 1 and stuck.last_error
    current_app.tasks["omni.ping"] = real_tasks["omni.ping"]
    assert outbox.relay() == 1
    assert OutboxMessage.objects.get(pk=message.pk).sent_at is not None
    assert outbox.relay() == 0


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_committed_message_runs_on_a_real_worker(celery_worker):
    with transaction.atomic():
        message = outbox.enqueue("omni.ping", token="through-redis")
    sent = OutboxMessage.objects.get(pk=message.pk)
    assert sent.sent_at is not None and sent.task_id
    assert AsyncResult(sent.task_id, app=celery_worker).get(timeout=60) == "pong:through-redis"


@pytest.mark.django_db(transaction=True)
def test_sending_after_the_commit_costs_one_update_and_no_read_back(eager, django_assert_num_queries):
    # Every sale hands its KPI refresh over after its commit: that stays one statement, not a re-read.
    message = OutboxMessage.objects.create(task="omni.ping", kwargs={"token": "cheap"})
    with django_assert_num_queries(1):
        assert outbox.send(message.pk, task="omni.ping", kwargs={"token": "cheap"})
    sent = OutboxMessage.objects.get(pk=message.pk)
    assert sent.sent_at is not None and sent.attempts == 1
    # Sent already (the relay raced the hook): the guarded UPDATE leaves the row as it was.
    outbox.send(message.pk, task="omni.ping", kwargs={"token": "cheap"})
    assert OutboxMessage.objects.get(pk=message.pk).attempts == 1
    assert outbox.relay() == 0


@pytest.mark.django_db(transaction=True)
def test_work_left_by_a_killed_demo_process_is_sent_when_the_demo_starts_again(eager):
    # What a process killed between its commit and its after-commit hook leaves behind.
    left = OutboxMessage.objects.create(task="omni.ping", kwargs={"token": "left-behind"})
    call_command("relay_outbox", verbosity=0)
    assert OutboxMessage.objects.get(pk=left.pk).sent_at is not None
    demo = next(line for line in MAKEFILE.read_text().split("\n\n") if line.startswith("## demo"))
    assert demo.index("relay_outbox") < demo.index("runserver")


@pytest.mark.django_db(transaction=True)
def test_held_messages_wait_for_their_writer_which_supersedes_some_and_sends_the_others(eager):
    with transaction.atomic():
        with outbox.held() as held:
            refresh = outbox.enqueue("kpis.refresh_day", day="2026-10-01")
            ping = outbox.enqueue("omni.ping", token="held")
        assert held == [refresh.pk, ping.pk]
        outside = outbox.enqueue("omni.ping", token="not held")  # after the block: sent after the commit as ever
        assert outbox.supersede(held, task="kpis.refresh_day") == 1
    assert OutboxMessage.objects.get(pk=refresh.pk).task_id == outbox.SUPERSEDED
    assert OutboxMessage.objects.get(pk=ping.pk).sent_at is None  # held: left to the relay
    assert OutboxMessage.objects.get(pk=outside.pk).sent_at is not None

    with transaction.atomic():
        with outbox.held() as held:
            again = outbox.enqueue("omni.ping", token="sent by its writer")
        outbox.send_after_commit(held)
        assert OutboxMessage.objects.get(pk=again.pk).sent_at is None
    assert OutboxMessage.objects.get(pk=again.pk).sent_at is not None
