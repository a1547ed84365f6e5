"""Which reads may go to a read replica, and which replica is fit to take them.

A replica is a PostgreSQL streaming standby: it answers reads a little behind
the primary and refuses writes. Reads go to it only where a second or two of
staleness is harmless and the load is heavy: the dashboards, the KPI endpoint,
the exports, the segment counts and the parity report. Their code runs inside
`reads_from_replica()` (a context manager and a decorator); every other read,
and every write, stays on the primary (the router in omni/db_router.py asks
this module).

Inside that context a read still goes to the primary when
- the primary connection is inside `transaction.atomic` (a read that decides a
  write must see the latest committed row, and its own uncommitted ones);
- something was written earlier in the same context (read your own writes);
- no replica is healthy: each replica's lag is measured at most once every
  HEALTH_CACHE_SECONDS per process, and a replica more than
  DATABASE_REPLICA_MAX_LAG_SECONDS behind, or that does not answer within its
  connect timeout, is skipped.

One context reads from one replica: the first healthy one it picks, kept for
the rest of the context so that its reads are consistent with each other.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from contextlib import ContextDecorator, suppress
from contextvars import ContextVar, Token
from dataclasses import dataclass
from functools import wraps
from typing import ParamSpec, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError, connections

log = logging.getLogger(__name__)
P = ParamSpec("P")
R = TypeVar("R")

REPLICA_PREFIX = "replica_"
HEALTH_CACHE_SECONDS = 2.0

# How far behind the primary a standby is, in seconds. A standby that has replayed everything it
# received while streaming is not behind, however old its last replayed transaction (a quiet primary
# sends nothing to replay); otherwise the age of the last replayed transaction is the lag. NULL: it
# has WAL to replay and has replayed no transaction yet, so the lag is unknown. A server that is not
# in recovery is a primary, never behind.
LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN COALESCE((SELECT status FROM pg_stat_wal_receiver), '') = 'streaming'
         AND pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


@dataclass
class _Scope:
    dirty: bool = False
    alias: str | None = None


_scope: ContextVar[_Scope | None] = ContextVar("omni_replica_scope", default=None)


class reads_from_replica(ContextDecorator):
    """Reads inside may go to a healthy replica; see the module's docstring for when they do not.

    As a decorator it also covers a replica that fails after it was last measured healthy: when the
    function raises a connection error and its replica no longer answers, the replica is skipped from
    then on and the function runs again on the primary (the functions it decorates read, and write
    nothing before their reads). Prefer the decorator; the `with` form cannot run its block again.
    """

    def __init__(self, *, primary_only: bool = False) -> None:
        self._tokens: list[Token[_Scope | None]] = []
        self._primary_only = primary_only

    def _recreate_cm(self) -> reads_from_replica:
        # As a decorator, each call gets its own context manager: calls on other threads never share one.
        return type(self)()

    def __call__(self, func: Callable[P, R]) -> Callable[P, R]:
        @wraps(func)
        def inner(*args: P.args, **kwargs: P.kwargs) -> R:
            with self._recreate_cm() as context:
                try:
                    return func(*args, **kwargs)
                except (OperationalError, InterfaceError):
                    alias = context.alias
                    if alias is None or alias == DEFAULT_DB_ALIAS or _still_answers(alias):
                        raise
            with type(self)(primary_only=True):
                return func(*args, **kwargs)

        return inner

    @property
    def alias(self) -> str | None:
        scope = _scope.get()
        return scope.alias if scope is not None else None

    def __enter__(self) -> reads_from_replica:
        parent = _scope.get()
        dirty = self._primary_only or (parent.dirty if parent else False)
        self._tokens.append(_scope.set(_Scope(dirty=dirty)))
        return self

    def __exit__(self, *exc: object) -> None:
        inner = _scope.get()
        _scope.reset(self._tokens.pop())
        outer = _scope.get()
        if outer is not None and inner is not None and inner.dirty:
            outer.dirty = True


def replica_aliases() -> list[str]:
    return [alias for alias in settings.DATABASES if alias.startswith(REPLICA_PREFIX)]


def mark_written() -> None:
    """A write happened: the rest of the current context reads from the primary."""
    scope = _scope.get()
    if scope is not None:
        scope.dirty = True


def read_alias() -> str:
    """The database the next read goes to."""
    scope = _scope.get()
    if scope is None or scope.dirty or connections[DEFAULT_DB_ALIAS].in_atomic_block:
        return DEFAULT_DB_ALIAS
    if scope.alias is None:
        healthy = [alias for alias in replica_aliases() if is_healthy(alias)]
        scope.alias = random.choice(healthy) if healthy else DEFAULT_DB_ALIAS
    return scope.alias


_health: dict[str, tuple[float, bool]] = {}
_health_lock = threading.Lock()


def forget_health() -> None:
    """Measure every replica again on its next use (tests that stop and start one)."""
    with _health_lock:
        _health.clear()


def is_healthy(alias: str) -> bool:
    now = time.monotonic()
    with _health_lock:
        cached = _health.get(alias)
    if cached is not None and now - cached[0] < HEALTH_CACHE_SECONDS:
        return cached[1]
    healthy = _measure(alias)
    with _health_lock:
        previous = _health.get(alias)
        _health[alias] = (time.monotonic(), healthy)
    if previous is None or previous[1] != healthy:
        log.log(
            logging.INFO if healthy else logging.WARNING, "replica %s %s", alias, "in use" if healthy else "skipped"
        )
    return healthy


def _still_answers(alias: str) -> bool:
    """Measure again now, past the cache: a query on the replica failed."""
    with suppress(Exception):
        connections[alias].close()
    healthy = _measure(alias)
    with _health_lock:
        _health[alias] = (time.monotonic(), healthy)
    return healthy


def _measure(alias: str) -> bool:
    connection = connections[alias]
    try:
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.execute("SELECT 1")
                return True
            cursor.execute(LAG_SQL)
            (lag,) = cursor.fetchone()
    except Exception as error:  # down, refusing, misconfigured: the primary answers instead
        log.warning("replica %s unreachable: %s", alias, error)
        with suppress(Exception):  # the connection is broken already
            connection.close()
        return False
    if lag is None or float(lag) > settings.DATABASE_REPLICA_MAX_LAG_SECONDS:
        log.warning("replica %s is %s s behind", alias, lag)
        return False
    return True
