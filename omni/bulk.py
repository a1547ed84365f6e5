"""Set-based writes for the bulk paths: COPY on PostgreSQL, bulk_create and bulk_update elsewhere.

The one module that writes with COPY: the bulk services, the receipt import
and the demo's generator (`BackgroundCopy`, `drop_keys_and_indexes`) all come
through here.

The receipt import and the bulk services of the apps (loyalty's ledger,
lots and balances) write through these helpers, so a file of a hundred
thousand lines costs a few statements per table. Each helper writes only
what it is given, inside the caller's transaction; the rules of what to
write stay with the owner of the table.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from decimal import Decimal
from typing import Any

from django.db import DatabaseError, connection, models, transaction

from omni.actor import Actor

CHUNK = 5000  # ids per IN (...) list: SQLite limits the number of parameters


def chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def attribution(actor: Actor) -> tuple[Any, Any]:
    """(user_id, api_client_id) of an Attributed row written by `actor`."""
    user, client = actor.user, actor.api_client
    return (user.pk if user is not None else None, client.pk if client is not None else None)


PLAIN = (int, str, bool, Decimal, type(None))  # values the driver sends as they are, without Django preparing them
# The value types each kind of field hands to the driver unchanged (get_db_prep_save gives them back as they
# are); None goes unchanged to every field but a JSONField, where it and a str are JSON to encode.
AS_THEY_ARE: tuple[tuple[type[models.Field], tuple[type, ...]], ...] = (
    (models.JSONField, ()),
    (models.BooleanField, (bool, type(None))),
    (models.CharField, (str, type(None))),
    (models.TextField, (str, type(None))),
    (models.IntegerField, (int, type(None))),
    (models.ForeignKey, (int, type(None))),
    (models.DecimalField, (Decimal, type(None))),
)


def _plain_types(field: models.Field) -> tuple[type, ...]:
    """The value types `field` takes as they are: the first kind of AS_THEY_ARE it is (none when it is none)."""
    return next((types for kind, types in AS_THEY_ARE if isinstance(field, kind)), ())


def insert_objects(model: Any, objects: Sequence[Any]) -> None:
    """bulk_create of `objects`, their ids set; on PostgreSQL through COPY (fields prepared as bulk_create does)."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=1000)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [[f.pre_save(obj, True) for f in fields] for obj in objects]
    if any(hasattr(value, "resolve_expression") for row in rows for value in row):
        raise ValueError(f"{model._meta.label}: expressions (a database default left unset) need bulk_create")
    # A plain value of a field that would hand it to the driver unchanged goes to COPY as it is: preparing it
    # (get_db_prep_save) cost more than the COPY of it, a fifth of the receipt import's time.
    plain = [_plain_types(f) for f in fields]
    rows = [
        [
            value if type(value) in types else fields[i].get_db_prep_save(value, connection)
            for i, (types, value) in enumerate(zip(plain, row, strict=True))
        ]
        for row in rows
    ]
    ids = insert_rows(model, [f.attname for f in fields], rows, ids=True)
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


ARRAY_CHUNK = 50_000  # rows per UPDATE ... FROM unnest(...): one array parameter per column, whatever the rows


def update_rows(model: Any, names: Sequence[str], objects: Sequence[Any]) -> None:
    """bulk_update of the fields `names` of `objects`; on PostgreSQL one UPDATE ... FROM unnest(arrays) per chunk.

    Each column travels as one array parameter, so the statement stays short
    however many rows it updates (a statement of a VALUES row per object costs
    more to build and parse than to run).
    """
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, list(names), batch_size=1000)
        return
    meta = model._meta
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in fields]
    arrays = ", ".join(f"%s::{f.cast_db_type(connection)}[]" for f in fields)
    sets = ", ".join(f"{column} = v.{column}" for column in columns[1:])
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {sets} FROM unnest({arrays}) "
        f"AS v({', '.join(columns)}) WHERE t.{columns[0]} = v.{columns[0]}"
    )
    with connection.cursor() as cursor:
        for start in range(0, len(objects), ARRAY_CHUNK):
            part = objects[start : start + ARRAY_CHUNK]
            cursor.execute(
                sql,
                [
                    [
                        value if isinstance(value, PLAIN) else f.get_db_prep_save(value, connection)
                        for value in (getattr(obj, f.attname) for obj in part)
                    ]
                    for f in fields
                ],
            )


def insert_rows(
    model: Any, names: Sequence[str], rows: Sequence[Sequence[Any]], *, ids: bool = False, restamp: bool = False
) -> list[int]:
    """Insert `rows` (values of the fields whose attnames are `names`) into the model's table, in order.

    Fields not named get their default (those with a database default are left
    to the database). On PostgreSQL the rows are written with COPY, their ids
    reserved from the table's sequence first when `ids` is asked for; elsewhere
    model instances go through bulk_create. Returns the new ids when `ids`.
    A named auto_now_add field keeps the value given on PostgreSQL; elsewhere
    only with `restamp` (bulk_create stamps it, a bulk_update puts it back).
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(names, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects, batch_size=2000)
        stamped = [n for n in names if restamp and getattr(model._meta.get_field(n), "auto_now_add", False)]
        if stamped:  # auto_now_add stamped the insert: put the given values back
            for obj, row in zip(objects, rows, strict=True):
                for name in stamped:
                    setattr(obj, name, row[names.index(name)])
            model.objects.bulk_update(objects, stamped, batch_size=1000)
        return [obj.pk for obj in objects] if ids else []
    meta = model._meta
    by_name = {f.attname: f for f in meta.concrete_fields}
    rest = [f for f in meta.concrete_fields if f.attname not in names and not f.primary_key and not f.has_db_default()]
    for f in rest:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            raise ValueError(f"{meta.label}.{f.name} must be given")
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    columns = [by_name[name].column for name in names] + [f.column for f in rest]
    quote = connection.ops.quote_name
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            new_ids = sorted(row[0] for row in cursor.fetchall())
            columns.insert(0, meta.pk.column)
        sql = f"COPY {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            if ids:
                for pk, row in zip(new_ids, rows, strict=True):
                    copy.write_row((pk, *row, *defaults))
            else:
                for row in rows:
                    copy.write_row((*row, *defaults))
    return new_ids


# --- Loading many rows into empty tables (the demo's retailer, a first import) ------------------------------------


class BackgroundCopy:
    """``COPY ... FROM STDIN`` in a worker thread, on the caller's psycopg connection and transaction (PostgreSQL).

    The caller generates the next rows while the previous ones are copied, so
    PostgreSQL and Python work at the same time. At most `max_pending` copies
    wait (flat memory). Call `wait` before reading what was copied, and
    `close` in a ``finally``: after a failure it lets a copy in flight end
    before the transaction is rolled back on the same connection.
    """

    def __init__(self, *, max_pending: int = 4) -> None:
        self.max_pending = max_pending
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="bulk-copy")
        self._pending: deque[Future[None]] = deque()

    def write(self, model: Any, columns: Sequence[str], rows: list[tuple[Any, ...]], defaults: tuple[Any, ...]) -> None:
        """Copy `rows` (each followed by `defaults`) into the model's table's `columns` (quoted column names)."""
        while len(self._pending) >= self.max_pending:
            self._pending.popleft().result()
        table = connection.ops.quote_name(model._meta.db_table)
        sql = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        connection.ensure_connection()
        self._pending.append(self._worker.submit(_copy_rows, connection.connection, sql, rows, defaults))

    def wait(self) -> None:
        while self._pending:
            self._pending.popleft().result()

    def close(self) -> None:
        for pending in self._pending:
            pending.exception()
        self._pending.clear()
        self._worker.shutdown(wait=True)


def _copy_rows(pg_connection: Any, sql: str, rows: list[tuple[Any, ...]], defaults: tuple[Any, ...]) -> None:
    """Runs in the copying thread, on the caller's psycopg connection (psycopg connections are thread-safe)."""
    with pg_connection.cursor() as cursor, cursor.copy(sql) as copy:
        if defaults:
            for row in rows:
                copy.write_row(row + defaults)
        else:
            for row in rows:
                copy.write_row(row)


def drop_keys_and_indexes(models_: Sequence[Any]) -> list[str]:
    """Drop the foreign keys and plain indexes of the models' tables for a load; returns the DDL that puts them back.

    PostgreSQL then checks each key with one join and builds each index with
    one sort when they are put back (`restore_keys_and_indexes`), instead of
    a lookup and an index insertion per row. Primary keys and unique
    constraints stay. All of it happens in the caller's transaction: a
    failure leaves the schema as it was. Without the right to alter the
    tables nothing is dropped (the keys are then checked per statement).
    Elsewhere than on PostgreSQL: nothing to do.
    """
    if connection.vendor != "postgresql":
        return []
    tables = [model._meta.db_table for model in models_]
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(FOREIGN_KEYS_SQL, [tables])
        foreign_keys = cursor.fetchall()
        cursor.execute(PLAIN_INDEXES_SQL, [tables])
        indexes = cursor.fetchall()
        try:
            with transaction.atomic():
                for table, name, _definition in foreign_keys:
                    cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
                for name, _definition in indexes:
                    cursor.execute(f"DROP INDEX {name}")
        except DatabaseError:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            return []
    # Indexes first. A partitioned table's index reads "ON ONLY table" (the parent alone): it is rebuilt as it
    # was dropped, on the parent and every partition.
    return [definition.replace(" ON ONLY ", " ON ", 1) for _name, definition in indexes] + [
        f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}" for table, name, definition in foreign_keys
    ]


def restore_keys_and_indexes(statements: Sequence[str]) -> None:
    """Put back what `drop_keys_and_indexes` dropped, with memory enough to sort large indexes."""
    if not statements:
        return
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for sql in statements:
            cursor.execute(sql)


# The foreign keys and the plain indexes (not the primary keys and unique constraints) of some tables.
FOREIGN_KEYS_SQL = """
    SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)
    FROM pg_constraint
    WHERE contype = 'f' AND conrelid = ANY(SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)
    ORDER BY 1, 2
"""
PLAIN_INDEXES_SQL = """
    SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
    FROM pg_index AS i
    WHERE i.indrelid = ANY(SELECT to_regclass(name) FROM unnest(%s::text[]) AS name)
      AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid)
    ORDER BY 1
"""
