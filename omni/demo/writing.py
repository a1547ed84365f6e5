"""Writing the fixture rows in bulk: executemany, or COPY on PostgreSQL through omni.bulk."""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from django.core.management.color import no_style
from django.db import connection, models
from django.db.models import Max

from omni import bulk
from omni.demo.data import (
    DAY_SECONDS,
    INSERT_BATCH,
    Progress,
)


class RowWriter:
    """Inserts tuples with ``executemany``: the portable path (SQLite and anything without COPY).

    Every database access of a run goes through the writer, so that a writer that copies in the
    background (below) knows when the connection is free again.
    """

    timestamp_suffix = ""  # naive UTC, as Django stores aware datetimes on SQLite

    def __init__(self, say: Progress) -> None:
        self.say = say
        self._day_text: dict[int, str] = {}

    def insert(self, model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        """Write `rows` (the writer owns the list from now on: callers start a new one)."""
        if not rows:
            return
        table, columns, defaults = _target(model, fields)
        placeholders = ", ".join(["%s"] * len(columns))
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        with connection.cursor() as cursor:
            for start in range(0, len(rows), INSERT_BATCH):
                batch = rows[start : start + INSERT_BATCH]
                cursor.executemany(sql, [row + defaults for row in batch] if defaults else batch)

    def next_id(self, model: type[models.Model]) -> int:
        """The first free id: the seeder numbers its rows itself so children can point at parents at once."""
        self.wait()
        return (model._default_manager.aggregate(top=Max("pk"))["top"] or 0) + 1

    def timestamp(self, epoch: int) -> str:
        """A UTC instant as the database's text form; faster than formatting a datetime per row."""
        day, seconds = divmod(epoch, DAY_SECONDS)
        text = self._day_text.get(day)
        if text is None:
            text = self._day_text[day] = datetime.fromtimestamp(day * DAY_SECONDS, UTC).strftime("%Y-%m-%d")
        hours, rest = divmod(seconds, 3600)
        return f"{text} {hours:02d}:{rest // 60:02d}:{rest % 60:02d}{self.timestamp_suffix}"

    def prepare(self, written: Sequence[type[models.Model]]) -> None:
        """Anything to set up in the transaction before the first row."""

    def wait(self) -> None:
        """Return once every row handed over so far is in the database."""

    def finish(self, written: Sequence[type[models.Model]]) -> None:
        """Move the id sequences past the ids the seeder chose (no-op where max(id) drives them)."""
        self.wait()
        statements = connection.ops.sequence_reset_sql(no_style(), list(written))
        if statements:
            with connection.cursor() as cursor:
                for sql in statements:
                    cursor.execute(sql)

    def close(self) -> None:
        """Release what the writer holds, after success or failure."""


class CopyWriter(RowWriter):
    """PostgreSQL: ``COPY ... FROM STDIN`` through omni.bulk, an order of magnitude faster than INSERT.

    The COPY runs beside the generator (`bulk.BackgroundCopy`), and the foreign keys and plain indexes of the
    written tables are dropped for the load and put back at the end (`bulk.drop_keys_and_indexes`; measured:
    the per-row way took 2.5 times as long).
    """

    timestamp_suffix = "+00"

    def __init__(self, say: Progress) -> None:
        super().__init__(say)
        self._copy = bulk.BackgroundCopy()
        self._restore: list[str] = []  # DDL that puts back the keys and indexes dropped for the load

    def insert(self, model: type[models.Model], fields: Sequence[str], rows: list[tuple[Any, ...]]) -> None:
        if not rows:
            return
        _table, columns, defaults = _target(model, fields)
        self._copy.write(model, columns, rows, defaults)

    def wait(self) -> None:
        self._copy.wait()

    def prepare(self, written: Sequence[type[models.Model]]) -> None:
        self._restore = bulk.drop_keys_and_indexes(written)

    def finish(self, written: Sequence[type[models.Model]]) -> None:
        self.wait()
        if self._restore:
            started = time.monotonic()
            self.say(f"indexes and foreign keys: rebuilding {len(self._restore)}")
            bulk.restore_keys_and_indexes(self._restore)
            self.say(f"indexes and foreign keys: rebuilt in {time.monotonic() - started:.0f} s")
        self._restore = []
        super().finish(written)

    def close(self) -> None:
        self._copy.close()


def settle() -> None:
    """PostgreSQL: no parallel plans for the rest of the transaction, and ANALYZE every table.

    The demo writes its year in one transaction, with a savepoint for every order the services record. A
    parallel plan copies the transaction's state, with every subtransaction id so far, to its workers, and
    PostgreSQL keeps that copy until the transaction ends: 4 bytes for each savepoint, on every parallel
    query. Measured on PostgreSQL 15, after 200,000 savepoints: 0.77 MB more per parallel query, none with
    parallel plans off. At scale 140 the seeding server passed 23 GB of memory and the kernel
    ended it. The parallel plans came from statistics: autovacuum cannot see rows not yet committed, so every
    table the demo fills kept those of an empty one, and an equality on a foreign key was guessed to match
    0.5% of a table (6,935 rows for the lines of one order). ANALYZE in the transaction counts its own rows.
    Elsewhere (SQLite) nothing is done.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
            cursor.execute("ANALYZE")


def _target(model: type[models.Model], fields: Sequence[str]) -> tuple[str, list[str], tuple[Any, ...]]:
    """The table, its columns for `fields`, then the other columns with the value each row gets.

    The models grow while the demo stays the same: a column the seeder does not name gets what a model
    instance would get (the field's default, "" or NULL); one that would be NULL and may not is an error
    that names it.
    """
    quote = connection.ops.quote_name
    columns = []
    for name in fields:
        field = model._meta.get_field(name)
        assert isinstance(field, models.Field), f"{model.__name__}.{name} is not a column"
        columns.append(quote(field.column))
    defaults = []
    for field in model._meta.concrete_fields:
        if field.name in fields or field.attname in fields:
            continue
        value = field.get_default()
        if value is None and not field.null:
            raise RuntimeError(
                f"{model._meta.label}.{field.name} has no default: tell omni/demo/ what the demo puts there"
            )
        columns.append(quote(field.column))
        defaults.append(field.get_db_prep_save(value, connection))
    return quote(model._meta.db_table), columns, tuple(defaults)


def writer_for_connection(say: Progress) -> RowWriter:
    return CopyWriter(say) if connection.vendor == "postgresql" else RowWriter(say)


ZERO = "0.00"


def _euros(cents: int) -> str:
    """Integer cents as the exact decimal text the databases store (cents are never negative here)."""
    return f"{cents // 100}.{cents % 100:02d}"
