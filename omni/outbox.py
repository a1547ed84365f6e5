"""The transactional outbox: work for after the commit, never lost.

A service calls ``enqueue("kpis.refresh_day", day=..., location=...)`` inside
its transaction. That writes a row; once the transaction commits, the row is
sent to Celery by task name and marked sent. If the broker is down the row
stays unsent and the ``omni.relay_outbox`` task (run by beat) sends it later.
Tasks must therefore be idempotent: a message can arrive more than once.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from omni.models import OutboxMessage

logger = logging.getLogger(__name__)


def enqueue(task: str, **kwargs: Any) -> OutboxMessage:
    """Record `task(**kwargs)` to run after the current transaction commits."""
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs)
    transaction.on_commit(lambda: send(message.pk))
    return message


def send(message_id: int) -> bool:
    """Send one unsent message to Celery; True when it was handed over."""
    message = OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).first()
    if message is None:
        return False
    try:
        if current_app.conf.task_always_eager:
            result = eager_task(message.task).apply(kwargs=message.kwargs, throw=True)
        else:
            # No retries here: a broker that is down must not hold the request; the relay retries.
            result = current_app.send_task(message.task, kwargs=message.kwargs, retry=False)
    except Exception as exc:  # the broker is down or the task failed eagerly
        logger.warning("outbox message %s (%s) not sent: %s", message.pk, message.task, exc)
        OutboxMessage.objects.filter(pk=message.pk).update(attempts=F("attempts") + 1, last_error=str(exc)[:2000])
        return False
    OutboxMessage.objects.filter(pk=message.pk, sent_at__isnull=True).update(
        sent_at=timezone.now(), attempts=F("attempts") + 1, task_id=result.id or ""
    )
    return True


def eager_task(name: str):
    """The task object itself, to run in the process when there is no broker."""
    if name not in current_app.tasks:
        # Apps' tasks modules are imported by the worker at start; in the web
        # process they are imported the first time a task is run eagerly.
        current_app.loader.import_default_modules()
    return current_app.tasks[name]


def relay(limit: int = 1000) -> int:
    """Send the messages that could not be sent after their commit. Returns how many went."""
    pending = OutboxMessage.objects.filter(sent_at__isnull=True).order_by("pk").values_list("pk", flat=True)[:limit]
    return sum(1 for message_id in list(pending) if send(message_id))
