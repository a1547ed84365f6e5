"""Race a call against a transaction that holds a lock, on PostgreSQL: the call is made to wait for the lock
while the holder's change is not yet committed, and only then is the holder let go."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import connection, transaction

T = TypeVar("T")


def wait_until_waiting_for_a_lock(pid: int, what: str) -> None:
    """Until the session `pid` waits for a lock (PostgreSQL's view of its sessions)."""
    with connection.cursor() as cursor:
        for _ in range(2000):
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'", [pid])
            if cursor.fetchone()[0]:
                return
            time.sleep(0.01)
    raise AssertionError(f"{what} never waited for the lock")


def behind_a_held_change(change: Callable[[], object], call: Callable[[], T], what: str = "the call") -> T:
    """`change()` runs in a transaction of its own thread and holds it open; `call()` runs in another thread,
    until it waits for a lock; then the change commits, and what `call()` returned once it could go on is
    returned. An error in either thread fails the test."""
    holding, release = threading.Event(), threading.Event()
    pids: list[int] = []
    answers: list[T] = []
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with transaction.atomic():
                change()
                holding.set()
                release.wait(30)
        except BaseException as error:  # reported below
            errors.append(error)
            holding.set()
        finally:
            connection.close()

    def run() -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                pids.append(cursor.fetchone()[0])
            answers.append(call())
        except BaseException as error:  # reported below
            errors.append(error)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    holding.wait(30)
    caller = threading.Thread(target=run)
    caller.start()
    while not pids and caller.is_alive():
        time.sleep(0.01)
    try:
        if not errors:
            wait_until_waiting_for_a_lock(pids[0], what)
    finally:
        release.set()
        holder.join(30)
        caller.join(30)
    if errors:
        raise errors[0]
    return answers[0]
