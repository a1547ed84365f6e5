"""Rows read by plain SQL made into model instances, as the ORM would have made them.

A hot path that reads with a plain cursor (no query building) still hands
its callers model instances: `columns` lists a model's columns for the
SELECT, in the order `builder` expects them, and `builder` applies the
ORM's converters (SQLite's text dates, booleans held as integers, ...) and
then `Model.from_db`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connections
from django.db.models import Model

M = TypeVar("M", bound=Model)


def columns(model: type[Model], alias: str, connection_alias: str = "default") -> str:
    """The model's concrete columns, quoted and prefixed with the table alias, in field order."""
    quote = connections[connection_alias].ops.quote_name
    return ", ".join(f"{alias}.{quote(field.column)}" for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    """How many values of a row `columns` selects for the model."""
    return len(model._meta.concrete_fields)


@functools.cache
def builder(model: type[M], connection_alias: str = "default") -> Callable[[Sequence[Any]], M]:
    """row -> instance, for a row of the model's columns in field order (a slice of a wider row is fine)."""
    connection = connections[connection_alias]
    steps = []
    for index, field in enumerate(model._meta.concrete_fields):
        column = field.get_col(model._meta.db_table)
        converters = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if converters:
            steps.append((index, converters, column))

    def build(row: Sequence[Any]) -> M:
        connection = connections[connection_alias]  # this thread's: the cache above is shared by every thread
        values = list(row)
        for index, converters, column in steps:
            for converter in converters:
                values[index] = converter(values[index], column, connection)
        return model.from_db(connection_alias, None, values)  # type: ignore[arg-type]  # None: every field

    return build


def insert(objects: Sequence[Model], connection_alias: str = "default") -> None:
    """INSERT new instances of one model in one statement, their ids set from RETURNING.

    The fields are prepared as `save()` prepares them (auto_now stamps
    included); no signal is sent. Runs in the caller's transaction.
    """
    if not objects:
        return
    connection = connections[connection_alias]
    meta = type(objects[0])._meta
    fields = [field for field in meta.concrete_fields if not field.primary_key]
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(field.column) for field in fields)}) "
        f"VALUES {', '.join([row] * len(objects))} RETURNING {quote(meta.pk.column)}"
    )
    params = [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objects for field in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [pk for (pk,) in cursor.fetchall()]
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding, obj._state.db = False, connection_alias
