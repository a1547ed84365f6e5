"""Writes that meet other writes: one global lock order, and a bounded retry of what still collides.

The lock order
--------------
Every write path takes its row locks in this order, and never goes back up
the list while it holds a lock further down:

1. customers: the rows of the customers concerned, in id order, locked
   ``FOR NO KEY UPDATE`` (``customers.services.lock_survivor`` and
   ``identify``). No key changes, so the foreign-key checks of other
   transactions (an order line or a hold naming that customer, checked by
   PostgreSQL only at their COMMIT) never wait on it. Merges lock both
   customers ``FOR UPDATE``: they are the only writes that retire a row.
2. orders: the order row (``select_for_update`` in ``apply_event``,
   returns), then its lines.
3. stock rows (``inventory_stocklevel``) in primary-key order
   (``inventory.allocate``); a single conditional ``UPDATE`` of one row
   (``reserve``, ``take``) is a lock of that row, taken at this step.
4. balances: store credit, then the loyalty account, then its points lots
   (oldest first).
5. everything else: ledger and movement rows are inserts, and the foreign
   keys they name are checked at COMMIT with ``KEY SHARE`` locks, which no
   lock above blocks. Last of all, a sale whose KPI refresh is already
   waiting locks that run's pending row ``FOR SHARE`` (``omni.outbox``):
   sales share it, and only the run's start, which holds nothing else,
   waits for them. A sale's points ride in that same statement: their
   pieces come first and are read first (``loyalty.services.Earning``),
   so the account and its lot are locked before that row.

So a till sale, a web order, an app order and a click & collect hold of
the same customer queue behind each other instead of waiting in a circle.

Bounded retry
-------------
A deadlock or serialization failure that still happens (PostgreSQL picks
a victim; SQLite reports a locked database) is not the caller's fault:
``retry_on_conflict`` runs the whole transaction again, at most
``DB_RETRY_ATTEMPTS`` times with a short random pause, then raises
``Busy`` (409 ``busy`` with ``Retry-After``). Inside a transaction opened
by a caller it cannot retry alone, so it raises ``Busy`` at once and the
caller that owns the transaction (the outermost service, or the API's
idempotency middleware) runs it again.

While the outermost ``retry_on_conflict`` runs its transaction, or the
idempotency middleware runs a request in the transaction it opened
(``retried_as_whole``), ``whole_transaction_retried()`` is true in that
transaction with no savepoint taken in it: a step there that meets a
collision may raise ``Busy`` instead of retrying alone under a savepoint of
its own, since the owner runs everything again and nothing of the failed
attempt is kept (``identify``). A service nested there needs no savepoint
of its own either (``atomic_unless_retried``): whatever it raises rolls
the owner's whole transaction back, and the owner answers or runs again.
"""

from __future__ import annotations

import contextlib
import functools
import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import DatabaseError, transaction

from omni.errors import Busy

P = ParamSpec("P")
R = TypeVar("R")

RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock_detected, serialization_failure


def is_retryable(error: BaseException) -> bool:
    """A deadlock, a serialization failure, or SQLite's busy database: the same transaction may succeed again."""
    if isinstance(error, Busy):
        return True
    if not isinstance(error, DatabaseError):
        return False
    cause = error.__cause__
    if getattr(cause, "sqlstate", None) in RETRYABLE_SQLSTATES:
        return True
    return "database is locked" in str(error)


_owner = threading.local()  # .running: this thread's outermost transaction is run again as a whole on a collision


def whole_transaction_retried() -> bool:
    """Whether a collision here makes the owner of the transaction run all of it again.

    True only inside the outermost transaction opened under an owner
    (``retry_on_conflict``, ``retried_as_whole``) while no savepoint is taken
    in it: a caller's savepoint may catch what is raised and go on, so a step
    below one keeps its own savepoint.
    """
    connection = transaction.get_connection()
    return (
        bool(getattr(_owner, "running", False))
        and connection.in_atomic_block
        and not any(connection.savepoint_ids)  # one entry per nested block, None where it took no savepoint
    )


@contextlib.contextmanager
def retried_as_whole() -> Iterator[None]:
    """Mark the caller as the owner of the transaction it opens in this block: it runs the whole transaction
    again, fresh, when a step raises ``Busy`` or a retryable error, and keeps nothing of a failed attempt.

    Only for a caller that opens the outermost transaction itself (the
    idempotency middleware); ``retry_on_conflict`` is the owner of its own.
    """
    outer = getattr(_owner, "running", False)
    _owner.running = True
    try:
        yield
    finally:
        _owner.running = outer


def atomic_unless_retried(func: Callable[P, R]) -> Callable[P, R]:
    """``transaction.atomic``, without a savepoint of its own where ``whole_transaction_retried()``.

    There the owner rolls its whole transaction back on anything `func`
    raises (Django marks it for rollback), so the savepoint would only cost
    two statements. A caller must then not query again in that transaction
    after catching an error of `func`: it is broken until the owner's
    rollback.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with transaction.atomic(savepoint=not whole_transaction_retried()):
            return func(*args, **kwargs)

    return wrapper


def pause(attempt: int) -> None:
    """A short random pause, longer after each attempt, so the colliding transactions do not meet again."""
    time.sleep(random.uniform(0.005, 0.03) * (attempt + 1))


def retry_on_conflict(func: Callable[P, R]) -> Callable[P, R]:
    """Run `func` (a service that owns its transaction) again when it collides; Busy after the last attempt."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        if transaction.get_connection().in_atomic_block:
            try:
                return func(*args, **kwargs)
            except DatabaseError as error:
                if is_retryable(error):
                    raise Busy() from error
                raise
        attempts = max(1, settings.DB_RETRY_ATTEMPTS)
        outer = getattr(_owner, "running", False)
        for attempt in range(attempts):
            _owner.running = True
            try:
                return func(*args, **kwargs)
            except (DatabaseError, Busy) as error:
                if not is_retryable(error):
                    raise
                if attempt == attempts - 1:
                    raise Busy() from error
            finally:
                _owner.running = outer
            pause(attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    return wrapper
