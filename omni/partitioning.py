"""Monthly range partitions for the append-only tables, on PostgreSQL only.

A partitioned table is split by the month (Europe/Rome, the project's time
zone) of one timestamp column, so a month's rows sit in one table of their
own: a query bounded by that column reads only the months it names, and an
old month leaves the database as one `DETACH PARTITION` instead of millions
of `DELETE`s. Each table also has a DEFAULT partition, so a row outside
every month made so far (a very old or far future timestamp) is stored, not
refused; `ensure_partitions` moves such rows out when it creates their month.

PostgreSQL requires every unique constraint of a partitioned table, its
primary key included, to contain the partition key. The table's primary key
in SQL is therefore `(id, <key>)`, while Django's model keeps `id` as its
primary key: Django never relies on the database to keep the key unique (it
reads `id` back from `INSERT ... RETURNING` and looks rows up by it), and
`id` still comes from one sequence for the whole table, so it stays unique
in fact. A lookup by `id` alone reads every partition's index (one probe
each), which is cheap for the few single-row reads these tables get.

A table cannot be partitioned while a foreign key points at it (the key
would have to name the partition column too, which Django cannot express);
`partition_table` refuses then. On SQLite (the demo) every function here
does nothing and the tables stay plain.

The frame knows the tables by name only (`TABLES`), so it imports no app.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone


@dataclass(frozen=True)
class Partitioned:
    """A table partitioned by month of `key`; `companions` are (table, column) pairs pruned with it."""

    table: str
    key: str
    companions: tuple[tuple[str, str], ...] = ()


# Every partitioned table. The loyalty points ledger is not here: the points
# lots point at its entries with a foreign key (see the README, "Partitions").
TABLES: tuple[Partitioned, ...] = (
    # The event ids seen, kept to refuse a repeated id, are pruned with the events they belonged to.
    Partitioned("kpis_touchpointevent", "occurred_at", companions=(("kpis_eventkey", "occurred_at"),)),
    Partitioned("inventory_stockmovement", "created_at"),
)
# Months created before the month of a table's oldest row, when it is partitioned.
MONTHS_BEHIND = 12


def months_ahead() -> int:
    """How many months after the current one must always have their partition (setting `PARTITION_MONTHS_AHEAD`)."""
    return int(getattr(settings, "PARTITION_MONTHS_AHEAD", 3))


def spec(table: str) -> Partitioned:
    for item in TABLES:
        if item.table == table:
            return item
    raise KeyError(f"{table} is not a partitioned table")


def month_of(moment: date | datetime) -> date:
    """The first day of the month `moment` falls in (in the project's time zone for a datetime)."""
    if isinstance(moment, datetime):
        moment = timezone.localtime(moment, ZoneInfo(settings.TIME_ZONE)).date()
    return moment.replace(day=1)


def add_months(month: date, count: int) -> date:
    index = month.year * 12 + month.month - 1 + count
    return date(index // 12, index % 12 + 1, 1)


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The first moment of `month` and of the next one, as aware datetimes in the project's time zone."""
    zone = ZoneInfo(settings.TIME_ZONE)
    start = datetime(month.year, month.month, 1, tzinfo=zone)
    end_month = add_months(month, 1)
    return start, datetime(end_month.year, end_month.month, 1, tzinfo=zone)


def partition_name(table: str, month: date) -> str:
    return f"{table}_p{month:%Y_%m}"


def default_name(table: str) -> str:
    return f"{table}_default"


_NAME = re.compile(r"^[a-z_][a-z0-9_]*$")


def _q(name: str) -> str:
    """A quoted identifier; the names here come from code, but a stray one must not become SQL."""
    if not _NAME.match(name):
        raise ValueError(f"not a plain identifier: {name!r}")
    return f'"{name}"'


# An aware datetime's isoformat(); before 1893 Rome's offset has seconds (local mean time, +00:49:56).
_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}(:\d{2})?$")


def _bounds_sql(month: date) -> str:
    """`FROM (...) TO (...)` for `month`'s partition, its bounds written as literals.

    PostgreSQL takes no parameters in DDL, and with server-side binding
    (DATABASE_SERVER_SIDE_BINDING) a `%s` there would reach it as `$1`. The
    bounds are aware datetimes made here, written in ISO form and checked
    against a strict pattern before they become SQL.
    """
    literals = []
    for moment in month_bounds(month):
        text = moment.isoformat()
        if not _MOMENT.match(text):
            raise ValueError(f"not a partition bound: {text!r}")
        literals.append(f"'{text}'")
    return f"FROM ({literals[0]}) TO ({literals[1]})"


def _is_postgres(connection: BaseDatabaseWrapper) -> bool:
    return connection.vendor == "postgresql"


def is_partitioned(table: str, using: str = DEFAULT_DB_ALIAS) -> bool:
    connection = connections[using]
    if not _is_postgres(connection):
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        row = cursor.fetchone()
    return bool(row and row[0] == "p")


@dataclass(frozen=True)
class Partition:
    name: str
    month: date | None  # None for the DEFAULT partition


def partitions(table: str, using: str = DEFAULT_DB_ALIAS) -> list[Partition]:
    """The partitions attached to `table`, months first (oldest first), then the DEFAULT one."""
    connection = connections[using]
    if not _is_postgres(connection):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname, pg_get_expr(c.relpartbound, c.oid)
            FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
            WHERE i.inhparent = to_regclass(%s)
            """,
            [table],
        )
        rows = cursor.fetchall()
    found = []
    pattern = re.compile(rf"^{re.escape(table)}_p(\d{{4}})_(\d{{2}})$")
    for name, bound in rows:
        match = pattern.match(name)
        if bound == "DEFAULT":
            found.append(Partition(name, None))
        elif match:
            found.append(Partition(name, date(int(match[1]), int(match[2]), 1)))
    return sorted(found, key=lambda p: (p.month is None, p.month or date.min))


def _create_month(cursor: Any, table: str, key: str, month: date) -> None:
    """Create `month`'s partition, moving into it any of its rows that the DEFAULT partition holds.

    The partition is built as a plain table and attached afterwards, so rows
    already in the DEFAULT partition never make the creation fail.
    """
    name, default = partition_name(table, month), default_name(table)
    start, end = month_bounds(month)
    cursor.execute(
        f"CREATE TABLE {_q(name)} (LIKE {_q(table)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING STORAGE)"
    )
    cursor.execute(
        f"WITH moved AS (DELETE FROM {_q(default)} WHERE {_q(key)} >= %s AND {_q(key)} < %s RETURNING *) "
        f"INSERT INTO {_q(name)} SELECT * FROM moved",
        [start, end],
    )
    cursor.execute(f"ALTER TABLE {_q(table)} ATTACH PARTITION {_q(name)} FOR VALUES {_bounds_sql(month)}")


def ensure_partitions(
    table: str, *, through: date | None = None, since: date | None = None, using: str = DEFAULT_DB_ALIAS
) -> list[str]:
    """Create the monthly partitions of `table` missing from `since` (this month) to `through`; return their names.

    `through` defaults to `months_ahead()` months after the current one. A
    month that was detached is not created again unless asked for by `since`.
    Does nothing on a database that is not PostgreSQL or a table that is not partitioned.
    """
    connection = connections[using]
    if not is_partitioned(table, using):
        return []
    key = spec(table).key
    current = month_of(timezone.now())
    first = since or current
    last = through or add_months(current, months_ahead())
    created = []
    month = first
    with transaction.atomic(using=using), connection.cursor() as cursor:
        # One creator at a time per table (the task may overlap a deployment's or a retry's run).
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"partitions:{table}"])
        existing = {p.month for p in partitions(table, using)}
        while month <= last:
            if month not in existing:
                _create_month(cursor, table, key, month)
                created.append(partition_name(table, month))
            month = add_months(month, 1)
    return created


def ensure_all_partitions(using: str = DEFAULT_DB_ALIAS) -> dict[str, list[str]]:
    """`ensure_partitions` for every partitioned table: what the scheduled task runs."""
    return {item.table: ensure_partitions(item.table, using=using) for item in TABLES}


def partition_table(schema_editor: Any, table: str) -> None:
    """Turn the plain table `table` into one partitioned by month of its key, keeping its rows and ids.

    For a migration's RunPython. Its indexes, check constraints and outgoing
    foreign keys are recreated on the partitioned table under the same
    names; the primary key becomes `(id, key)`. Partitions are created from
    MONTHS_BEHIND months before the oldest row (or now) to `months_ahead()`
    months after the current month, plus the DEFAULT partition. Raises
    ValueError when a foreign key points at the table or a unique index
    lacks the key. Does nothing on a database that is not PostgreSQL.
    """
    connection = schema_editor.connection
    if not _is_postgres(connection) or is_partitioned(table, connection.alias):
        return
    key = spec(table).key
    old = f"{table}_unpartitioned"
    with connection.cursor() as cursor:
        # Foreign-key checks deferred to the commit (rows written earlier in the same
        # transaction) would block dropping the old table: run them now.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SELECT conname FROM pg_constraint WHERE confrelid = to_regclass(%s) AND contype = 'f'", [table])
        incoming = [row[0] for row in cursor.fetchall()]
        if incoming:
            raise ValueError(f"{table} cannot be partitioned: foreign keys point at it ({', '.join(incoming)})")
        cursor.execute(
            """
            SELECT c.relname, pg_get_indexdef(i.indexrelid), i.indisunique
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary
            """,
            [table],
        )
        indexes = cursor.fetchall()
        unique = [name for name, _definition, is_unique in indexes if is_unique]
        if unique:
            raise ValueError(f"{table} cannot be partitioned: unique indexes without {key} ({', '.join(unique)})")
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) "
            "AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(f"SELECT min({_q(key)}), max(id) FROM {_q(table)}")
        oldest, last_id = cursor.fetchone()

        cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
        cursor.execute(
            f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING DEFAULTS INCLUDING CONSTRAINTS "
            f"INCLUDING STORAGE INCLUDING COMMENTS) PARTITION BY RANGE ({_q(key)})"
        )
        cursor.execute(f"CREATE TABLE {_q(default_name(table))} PARTITION OF {_q(table)} DEFAULT")
        current = month_of(timezone.now())
        since = add_months(current, -MONTHS_BEHIND)
        if oldest is not None:
            since = min(since, month_of(oldest))
        month = since
        while month <= add_months(current, months_ahead()):
            cursor.execute(
                f"CREATE TABLE {_q(partition_name(table, month))} PARTITION OF {_q(table)} "
                f"FOR VALUES {_bounds_sql(month)}"
            )
            month = add_months(month, 1)
        cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
        cursor.execute(f"DROP TABLE {_q(old)}")

        sequence = f"{table}_id_seq"
        cursor.execute(f"CREATE SEQUENCE {_q(sequence)} AS bigint OWNED BY {_q(table)}.id")
        cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id SET DEFAULT nextval('{sequence}')")
        if last_id is not None:
            cursor.execute("SELECT setval(%s, %s)", [sequence, last_id])
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id, {_q(key)})")
        for _name, definition, _unique in indexes:
            cursor.execute(definition)
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")


def unpartition_table(schema_editor: Any, table: str) -> None:
    """Undo `partition_table`: one plain table again, primary key `id`, same rows, indexes and foreign keys."""
    connection = schema_editor.connection
    if not _is_postgres(connection) or not is_partitioned(table, connection.alias):
        return
    old = f"{table}_partitioned"
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # as in partition_table
        cursor.execute(
            """
            SELECT c.relname, pg_get_indexdef(i.indexrelid)
            FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
            WHERE i.indrelid = to_regclass(%s) AND NOT i.indisprimary
            """,
            [table],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = to_regclass(%s) "
            "AND contype = 'f'",
            [table],
        )
        foreign_keys = cursor.fetchall()
        cursor.execute(f"SELECT max(id) FROM {_q(table)}")
        (last_id,) = cursor.fetchone()
        cursor.execute(f"ALTER TABLE {_q(table)} RENAME TO {_q(old)}")
        cursor.execute(
            f"CREATE TABLE {_q(table)} (LIKE {_q(old)} INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS)"
        )
        cursor.execute(f"INSERT INTO {_q(table)} SELECT * FROM {_q(old)}")
        cursor.execute(f"DROP TABLE {_q(old)} CASCADE")  # the partitions, and the sequence it owned
        cursor.execute(f"ALTER TABLE {_q(table)} ALTER COLUMN id ADD GENERATED BY DEFAULT AS IDENTITY")
        if last_id is not None:
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s)", [table, last_id])
        cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(table + '_pkey')} PRIMARY KEY (id)")
        for _name, definition in indexes:
            # A partitioned table's index reads back as "ON ONLY", which means nothing on a plain table.
            cursor.execute(definition.replace(" ON ONLY ", " ON ", 1))
        for name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {_q(table)} ADD CONSTRAINT {_q(name)} {definition}")


@dataclass(frozen=True)
class Detached:
    table: str
    partition: str
    month: date
    rows: int
    archive: Path | None


def detach_before(
    before: date,
    *,
    archive: Path | None = None,
    dry_run: bool = False,
    tables: Iterable[str] | None = None,
    using: str = DEFAULT_DB_ALIAS,
) -> list[Detached]:
    """Detach every monthly partition older than the month `before`; archive and drop them when `archive` is given.

    Each partition is first copied to `<archive>/<partition>.csv` (CSV with a
    header, through `COPY ... TO STDOUT`, so the file is written where this
    runs, not on the database server), then detached and dropped, one
    partition per transaction. Without `archive` a detached partition stays
    in the database as a plain table, out of every query on the parent.
    The companions' rows of each detached month go with it (the event ids
    kept to refuse repeats: an id older than the retention is accepted again).
    `dry_run` only counts. The DEFAULT partition is never detached.
    """
    connection = connections[using]
    if not _is_postgres(connection):
        return []
    cutoff = month_of(before)
    if archive is not None and not dry_run:
        archive.mkdir(parents=True, exist_ok=True)
    done = []
    for item in TABLES:
        if tables is not None and item.table not in tables:
            continue
        old = [p for p in partitions(item.table, using) if p.month is not None and p.month < cutoff]
        for part in old:
            assert part.month is not None
            target = archive / f"{part.name}.csv" if archive is not None else None
            with transaction.atomic(using=using), connection.cursor() as cursor:
                cursor.execute(f"SELECT count(*) FROM {_q(part.name)}")
                (rows,) = cursor.fetchone()
                if not dry_run:
                    if target is not None:
                        _copy_out(cursor, part.name, target)
                    cursor.execute(f"ALTER TABLE {_q(item.table)} DETACH PARTITION {_q(part.name)}")
                    start, end = month_bounds(part.month)
                    for companion, column in item.companions:
                        cursor.execute(
                            f"DELETE FROM {_q(companion)} WHERE {_q(column)} >= %s AND {_q(column)} < %s", [start, end]
                        )
                    if target is not None:
                        # Checks deferred to the commit (foreign keys of rows written in this
                        # transaction) would otherwise block the drop; they are run now instead.
                        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                        cursor.execute(f"DROP TABLE {_q(part.name)}")
            done.append(Detached(item.table, part.name, part.month, rows, target))
    return done


def _copy_out(cursor: Any, table: str, target: Path) -> None:
    """Write `table` to `target` as CSV with a header, streamed from the database (psycopg 3's COPY)."""
    partial = target.with_suffix(".csv.partial")
    with partial.open("wb") as out, cursor.cursor.copy(f"COPY {_q(table)} TO STDOUT WITH (FORMAT csv, HEADER)") as copy:
        for chunk in copy:
            out.write(chunk)
    partial.replace(target)
