"""Set-based writes for the bulk paths: COPY on PostgreSQL, bulk_create and bulk_update elsewhere.

The receipt import and the bulk services of the apps (loyalty's ledger,
lots and balances) write through these helpers, so a file of a hundred
thousand lines costs a few statements per table. Each helper writes only
what it is given, inside the caller's transaction; the rules of what to
write stay with the owner of the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.db import connection, models

from omni.actor import Actor

CHUNK = 5000  # ids per IN (...) list: SQLite limits the number of parameters


def chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def attribution(actor: Actor) -> tuple[Any, Any]:
    """(user_id, api_client_id) of an Attributed row written by `actor`."""
    user, client = actor.user, actor.api_client
    return (user.pk if user is not None else None, client.pk if client is not None else None)


def insert_objects(model: Any, objects: Sequence[Any]) -> None:
    """bulk_create of `objects`, their ids set; on PostgreSQL through COPY (fields prepared as bulk_create does)."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=1000)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [[f.pre_save(obj, True) for f in fields] for obj in objects]
    if any(hasattr(value, "resolve_expression") for row in rows for value in row):
        raise ValueError(f"{model._meta.label}: expressions (a database default left unset) need bulk_create")
    # A Decimal goes to COPY as it is: preparing it (get_db_prep_save) costs more than the COPY of it.
    prepare = [None if isinstance(f, models.DecimalField) else f for f in fields]
    rows = [
        [
            value if f is None and isinstance(value, Decimal) else (f or fields[i]).get_db_prep_save(value, connection)
            for i, (f, value) in enumerate(zip(prepare, row, strict=True))
        ]
        for row in rows
    ]
    ids = insert_rows(model, [f.attname for f in fields], rows, ids=True)
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


PLAIN = (int, str, bool, Decimal, type(None))  # values the driver sends as they are, without Django preparing them
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
