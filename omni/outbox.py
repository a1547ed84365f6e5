"""The transactional outbox: work for after the commit, never lost.

A service calls ``enqueue("kpis.refresh_day", day=..., location=...)`` inside
its transaction. That writes a row; once the transaction commits, the row is
sent to Celery by task name and marked sent. If the broker is down the row
stays unsent and the ``omni.relay_outbox`` task (run by beat) sends it later.
Tasks must therefore be idempotent: a message can arrive more than once.

Some tasks recompute a whole thing from the committed rows (the KPI refresh
of a day). Sending one per sale would queue thousands of identical runs on
a busy day, each slower than the sales that queue them. Those tasks, listed
in `COALESCED_TASKS`, are coalesced: after its commit a message is sent only
if no run with the same arguments is already waiting to start; otherwise it
is marked sent as "coalesced", because the waiting run starts after this
commit and so reads this transaction's rows. A run that never starts (a lost
message) stops holding the others back after `PENDING_FOR_AT_MOST`.

A writer that inserts its message in a chained statement of its own (the
order's, `insert_pieces`) asks the same question inside its transaction, on
PostgreSQL: when a run waits, the message is written already marked
"coalesced" and the waiting run's row is locked FOR SHARE until the writer
commits. The run's start deletes that row (`task_starting`), so it waits for
the commit and reads the writer's rows; no statement is left for after the
commit. When no run waits, the message is sent after the commit as above.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any

from celery import current_app
from django.conf import settings
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from omni import statements
from omni.models import OutboxMessage, OutboxPending

logger = logging.getLogger(__name__)

COALESCED_TASKS = frozenset({"kpis.refresh_day"})
PENDING_FOR_AT_MOST = timedelta(minutes=5)
COALESCED = "coalesced"  # the task id of a message that a waiting run covers


def enqueue(task: str, **kwargs: Any) -> OutboxMessage:
    """Record `task(**kwargs)` to run after the current transaction commits (inside `held()`: only record it)."""
    message = OutboxMessage.objects.create(task=task, kwargs=kwargs)
    written(message)
    return message


def written(message: OutboxMessage) -> None:
    """The rest of `enqueue` for a message row its sender inserted itself (the order's chained insert): held
    inside `held()`, otherwise sent after the commit; nothing when its insert found it covered."""
    if message.sent_at is not None:
        return  # coalesced by its own INSERT (insert_pieces): a waiting run reads it
    holding = getattr(_holding, "ids", None)
    if holding is not None:
        holding.append(message.pk)
        return
    message_id, task, kwargs = message.pk, message.task, message.kwargs
    transaction.on_commit(lambda: send(message_id, task=task, kwargs=kwargs))


_holding = threading.local()
SUPERSEDED = "superseded"  # the task id of a message whose work its sender did itself


@contextlib.contextmanager
def held() -> Iterator[list[int]]:
    """Inside, `enqueue` writes its rows and sends nothing after the commit; yields the ids of those rows.

    For a writer of much history at once (the demo's year) that settles the
    work itself: it marks what it did with `supersede` and hands the rest to
    `send_after_commit`. Whatever it leaves unsent the relay sends.
    """
    ids: list[int] = []
    outer = getattr(_holding, "ids", None)
    _holding.ids = ids
    try:
        yield ids
    finally:
        _holding.ids = outer


def supersede(message_ids: Sequence[int], *, task: str) -> int:
    """Mark the unsent messages of `task` among `message_ids` sent: their sender did the work itself."""
    done = 0
    for start in range(0, len(message_ids), 5000):
        done += OutboxMessage.objects.filter(
            pk__in=message_ids[start : start + 5000], task=task, sent_at__isnull=True
        ).update(sent_at=timezone.now(), task_id=SUPERSEDED)
    return done


def send_after_commit(message_ids: Sequence[int]) -> None:
    """Send these messages (those still unsent then) once the current transaction commits."""
    ids = list(message_ids)
    transaction.on_commit(lambda: [send(message_id) for message_id in ids])


def send(message_id: int, *, task: str | None = None, kwargs: dict[str, Any] | None = None) -> bool:
    """Send one unsent message to Celery; True when it was handed over.

    Right after the commit the caller still holds the task and its arguments
    and passes them: the row is not read back, only marked sent (one UPDATE,
    guarded by `sent_at IS NULL`; a coalesced task claims its key first,
    one upsert). The relay passes the id alone and the row is read. Either
    way a message may go twice (the relay racing the commit hook), never
    zero times: tasks are idempotent.

    Only the after-commit path coalesces; the relay always sends, so a run
    that was claimed and never sent cannot hold back what the relay recovers.
    """
    key = None
    if task is None or kwargs is None:
        row = OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).values_list("task", "kwargs").first()
        if row is None:
            return False
        task, kwargs = row
    elif task in COALESCED_TASKS and not current_app.conf.task_always_eager:
        key = coalescing_key(task, kwargs)
    if key is not None and not _claim(key, message_id):
        return True  # marked coalesced by the claim's statement
    try:
        if current_app.conf.task_always_eager:
            result = eager_task(task).apply(kwargs=kwargs, throw=True)
        else:
            # No retries here: a broker that is down must not hold the request; the relay retries.
            result = current_app.send_task(task, kwargs=kwargs, retry=False, connection=_publisher())
    except Exception as exc:  # the broker is down or the task failed eagerly
        _forget_publisher()
        logger.warning("outbox message %s (%s) not sent: %s", message_id, task, exc)
        if key is not None:  # nothing waits under this key after all
            OutboxPending.objects.filter(key=key).delete()
        OutboxMessage.objects.filter(pk=message_id).update(attempts=F("attempts") + 1, last_error=str(exc)[:2000])
        return False
    OutboxMessage.objects.filter(pk=message_id, sent_at__isnull=True).update(
        sent_at=timezone.now(), attempts=F("attempts") + 1, task_id=result.id or ""
    )
    return True


_local = threading.local()


def _publisher():
    """This thread's broker connection for publishing, with short timeouts and no retries.

    A request publishes after its commit and must not wait on a broker that is
    down or unreachable: connecting, writing and reading Redis's reply each give
    up after OUTBOX_PUBLISH_TIMEOUT seconds (0.1), the message stays in the
    outbox and the relay sends it later. The worker keeps the broker settings
    of its own (CELERY_BROKER_TRANSPORT_OPTIONS), which may wait longer.
    """
    connection = getattr(_local, "connection", None)
    url = current_app.conf.broker_write_url or current_app.conf.broker_url
    if connection is not None and getattr(_local, "url", None) != url:
        _forget_publisher()  # the broker was changed (tests do): connect to the new one
        connection = None
    if connection is None:
        timeout = settings.OUTBOX_PUBLISH_TIMEOUT
        connection = current_app.connection_for_write(
            connect_timeout=timeout,
            transport_options={
                "max_retries": 0,
                "socket_connect_timeout": timeout,
                "socket_timeout": timeout,
                "retry_on_timeout": False,
            },
        )
        _local.connection, _local.url = connection, url
    return connection


def _forget_publisher() -> None:
    """Drop this thread's connection after a failure: the next send connects afresh."""
    connection = getattr(_local, "connection", None)
    _local.connection = None
    if connection is not None:
        with contextlib.suppress(Exception):  # a broken connection may fail to close; it is dropped all the same
            connection.release()


def coalescing_key(task: str, kwargs: dict[str, Any]) -> str:
    return f"{task}:{json.dumps(kwargs, sort_keys=True, separators=(',', ':'), default=str)}"[:255]


def _claim(key: str, message_id: int) -> bool:
    """True when the caller must send: no run with this key waits, or the one that does is overdue.

    An upsert decides, so two senders cannot both stand aside; when a run
    waits, the same statement (on PostgreSQL; one after the other elsewhere)
    marks the message sent as coalesced.
    """
    now = timezone.now()
    ops = connection.ops
    pending, column = ops.quote_name(OutboxPending._meta.db_table), ops.quote_name("key")
    messages = ops.quote_name(OutboxMessage._meta.db_table)
    found = statements.run_each(
        [
            statements.Piece(
                "claimed",
                f"INSERT INTO {pending} ({column}, sent_at) VALUES (%s, %s) ON CONFLICT ({column}) "
                f"DO UPDATE SET sent_at = excluded.sent_at WHERE {pending}.sent_at < %s RETURNING id",
                [key, ops.adapt_datetimefield_value(now), ops.adapt_datetimefield_value(now - PENDING_FOR_AT_MOST)],
                columns=("id",),
            ),
            statements.Piece(
                "coalesced",
                f"UPDATE {messages} SET sent_at = %s, attempts = attempts + 1, task_id = %s "
                "WHERE id = %s AND sent_at IS NULL AND NOT EXISTS (SELECT 1 FROM claimed)",
                [ops.adapt_datetimefield_value(now), COALESCED, message_id],
            ),
        ],
        results=["claimed"],
    )
    return bool(found["claimed"])


def insert_pieces(message: OutboxMessage, *, name: str = "message") -> list[statements.Piece]:
    """The INSERT of `message` as pieces of its writer's chained statement (`omni.statements`), the last one
    named `name` and returning the row's (id, sent_at); hand that row to `inserted`.

    A coalesced task on PostgreSQL, with a broker: when a run of the same key
    waits (claimed in the last `PENDING_FOR_AT_MOST`), the row is written
    marked "coalesced" and the run's pending row stays locked FOR SHARE until
    the writer's commit, which the run's start waits for. Otherwise the row
    is written unsent, as `enqueue` writes it.
    """
    now = timezone.now()
    if message.created_at is None:
        message.created_at = now  # as a save stamps it (auto_now_add)
    values = [
        message.task,
        OutboxMessage._meta.get_field("kwargs").get_db_prep_save(message.kwargs, connection),
        connection.ops.adapt_datetimefield_value(message.created_at),
        message.last_error,
    ]
    table = connection.ops.quote_name(OutboxMessage._meta.db_table)
    head = f"INSERT INTO {table} (task, kwargs, created_at, last_error, sent_at, task_id, attempts)"
    if not _covered_in_statement(message.task):
        return [
            statements.Piece(
                name,
                f"{head} VALUES (%s, %s, %s, %s, NULL, '', 0) RETURNING id, sent_at",
                values,
                columns=("id", "sent_at"),
            )
        ]
    waiting = f"{name}_waiting"
    pending, column = connection.ops.quote_name(OutboxPending._meta.db_table), connection.ops.quote_name("key")
    covered = f"EXISTS (SELECT 1 FROM {waiting})"
    return [
        statements.Piece(
            waiting,
            f"SELECT id FROM {pending} WHERE {column} = %s AND sent_at >= %s FOR SHARE",
            [
                coalescing_key(message.task, message.kwargs),
                connection.ops.adapt_datetimefield_value(now - PENDING_FOR_AT_MOST),
            ],
            columns=("id",),
        ),
        statements.Piece(
            name,
            f"{head} SELECT %s, %s, %s, %s, CASE WHEN {covered} THEN %s END, "
            f"CASE WHEN {covered} THEN %s ELSE '' END, CASE WHEN {covered} THEN 1 ELSE 0 END RETURNING id, sent_at",
            [*values, connection.ops.adapt_datetimefield_value(now), COALESCED],
            columns=("id", "sent_at"),
        ),
    ]


def _covered_in_statement(task: str) -> bool:
    return task in COALESCED_TASKS and connection.vendor == "postgresql" and not current_app.conf.task_always_eager


def inserted(message: OutboxMessage, row: Sequence[Any]) -> None:
    """`message` as its INSERT of `insert_pieces` left it: saved, and marked coalesced when a run covers it."""
    message.pk, sent_at = row[0], row[1]
    message._state.adding, message._state.db = False, connection.alias
    if sent_at is not None:
        message.sent_at, message.task_id, message.attempts = sent_at, COALESCED, 1


def task_starting(sender=None, kwargs=None, **_: Any) -> None:
    """Celery's task_prerun: a coalesced run starting no longer covers messages committed from now on."""
    if sender is not None and sender.name in COALESCED_TASKS:
        OutboxPending.objects.filter(key=coalescing_key(sender.name, dict(kwargs or {}))).delete()


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
