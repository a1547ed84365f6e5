"""What a process keeps between requests, each thing behind a version token, and the one query that checks them.

A thing kept (`kept(name, load)`: loyalty's programme, rules and promotions,
the catalog's channels and locations) is read again when its token in
`omni_version` differs from the one it was read under. Every save and delete
of what it is made of gives it a new token in the writer's transaction
(`watch` connects the model signals; a writer that bypasses them calls
`changed` itself), so once that commits every process reads the thing again
at its next use: a change made in the admin is seen by the next order.

Tokens are random, never a counter: a transaction that changed something and
was rolled back leaves no token behind that a later change could give again.
A token of 0, or none at all (a fresh or flushed database), is replaced by
the first reader.

All the tokens are read by one statement (`SELECT name, value FROM
omni_version`, no ORM). Inside `one_read()` they are read once for the whole
block: an order through the API checks its channel, its locations and the
loyalty rules with that one query. A change made inside the block stops the
sharing for the rest of it, so what a rolled-back change left behind is
never reused. A block's first query of its own can carry that read
(`read_with_tokens`): an order checks its receipt's external id and reads
the tokens in one statement.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Model
from django.db.models.signals import m2m_changed, post_delete, post_save

from omni.replicas import reads_from_replica

T = TypeVar("T")

# (database, name) -> (the token read, what was read after it). Shared by every thread of the process: the
# values are read, never changed.
_kept: dict[tuple[str, str], tuple[int, Any]] = {}


class _OneRead:
    """The tokens read once inside a `one_read()` block; `written` once the block changed one; `held`, what
    `once_in_block` read."""

    __slots__ = ("held", "tokens", "written")

    def __init__(self) -> None:
        self.tokens: dict[str, int] | None = None
        self.written = False
        self.held: dict[str, Any] = {}


_block: ContextVar[_OneRead | None] = ContextVar("omni_versions_one_read", default=None)


def _assign(name: str) -> int:
    token = secrets.randbits(62) or 1
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(
            "INSERT INTO omni_version (name, value) VALUES (%s, %s) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            [name, token],
        )
    return token


def changed(name: str) -> int:
    """Give `name` a new token, in the caller's transaction; returns it. Every process reads the thing again at
    its next use once this commits."""
    block = _block.get()
    if block is not None:
        block.written, block.tokens = True, None
    return _assign(name)


_TOKENS_SQL = "SELECT name, value FROM omni_version"

# The caller's query (as `q`) and the tokens side by side: one row per token with the caller's columns empty,
# one row per row of the caller's with the token's empty. The anchor's two rows keep each side when the other
# has none; `present` tells a row of the caller's from the empty one its side gets when it has none.
_WITH_TOKENS_SQL = (
    "SELECT s.side, v.name, v.value, r.* FROM (SELECT 0 AS side UNION ALL SELECT 1) s "
    "LEFT JOIN omni_version v ON s.side = 0 "
    "LEFT JOIN (SELECT 1 AS present, q.* FROM ({sql}) q) r ON s.side = 1"
)


def tokens() -> dict[str, int]:
    """Every token, in one query on the primary; inside `one_read()`, the ones the block read first."""
    block = _block.get()
    if block is not None and block.tokens is not None:
        return block.tokens
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute(_TOKENS_SQL)
        read = {name: value for name, value in cursor.fetchall()}
    _keep_in_block(block, read)
    return read


def read_with_tokens(sql: str, params: Sequence[Any]) -> list[tuple[Any, ...]]:
    """The rows of `sql` (run on the primary, with `params`); inside a `one_read()` block that has not read the
    tokens yet, they are read in the same statement and kept for the block, so its first query of its own costs
    the block's token read nothing. Elsewhere `sql` runs alone."""
    block = _block.get()
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        if block is None or block.tokens is not None or block.written:
            cursor.execute(sql, params)
            return [tuple(row) for row in cursor.fetchall()]
        cursor.execute(_WITH_TOKENS_SQL.format(sql=sql), params)
        found = cursor.fetchall()
    _keep_in_block(block, {row[1]: row[2] for row in found if row[0] == 0 and row[1] is not None})
    return [tuple(row[4:]) for row in found if row[0] == 1 and row[3] is not None]


def _keep_in_block(block: _OneRead | None, read: dict[str, int]) -> None:
    if block is not None and not block.written:
        block.tokens = read


def token(name: str) -> int:
    """The current token of `name`; a missing or 0 token is set first."""
    value = tokens().get(name)
    if not value:
        value = _assign(name)  # nothing changed: what is kept under the new token is what the database holds
        block = _block.get()
        if block is not None and block.tokens is not None:
            block.tokens[name] = value
    return value


def kept(name: str, load: Callable[[], T]) -> T:
    """What `load()` returns, read again only when the token of `name` changed since this process read it.

    The token is read before the thing: a change committed in between is
    kept under the older token, and read again at the next use. `load` reads
    the primary, never a replica that may lag behind the token.
    """
    current = token(name)
    key = (connections[DEFAULT_DB_ALIAS].settings_dict["NAME"], name)
    held = _kept.get(key)
    if held is not None and held[0] == current:
        return held[1]
    with reads_from_replica(primary_only=True):
        value = load()
    _kept[key] = (current, value)
    return value


def once_in_block(name: str, load: Callable[[], T]) -> T:
    """What `load()` returns, read once for a whole `one_read()` block (a request) and called every time
    outside one: for a value read from the shared cache that a request would otherwise fetch once for each of
    its uses. `forget_in_block(name)` drops it, for a block that changes it."""
    block = _block.get()
    if block is None:
        return load()
    if name not in block.held:
        block.held[name] = load()
    return block.held[name]


def forget_in_block(name: str) -> None:
    """The current block reads `name` again at its next `once_in_block`."""
    block = _block.get()
    if block is not None:
        block.held.pop(name, None)


@contextmanager
def one_read() -> Iterator[None]:
    """Inside, the tokens are read at most once (until the block changes one): for a request that checks
    several kept things, such as an order. A block inside another is the outer block."""
    if _block.get() is not None:
        yield
        return
    reset = _block.set(_OneRead())
    try:
        yield
    finally:
        _block.reset(reset)


def watch(name: str, *models: type[Model], m2m: tuple[type[Model], ...] = ()) -> None:
    """Give `name` a new token on every save and delete of `models` and every change of the `m2m` tables."""

    def receiver(**_signal: Any) -> None:
        changed(name)

    for model in models:
        label = model._meta.label
        post_save.connect(receiver, sender=model, weak=False, dispatch_uid=f"version-{name}-save-{label}")
        post_delete.connect(receiver, sender=model, weak=False, dispatch_uid=f"version-{name}-delete-{label}")
    for through in m2m:
        label = through._meta.label
        m2m_changed.connect(receiver, sender=through, weak=False, dispatch_uid=f"version-{name}-m2m-{label}")
