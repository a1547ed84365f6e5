"""An order's own rows as two chains of SQL pieces: two statements on PostgreSQL, one per piece elsewhere.

The one home of the SQL that writes a new order. `write_order` writes the
order row (numbered by the counter of `services.order_numbers`), its lines
and its payments; `write_placed`, once sourcing has served the lines,
writes their allocations, the order's PLACED event and the outbox row of
the KPI refresh (and, for an endless-aisle order its selling store serves
alone, clears the flag), after the buyer's points when the order earns.
The chains are run by `omni.statements.run_each`:
the pieces become the data-modifying CTEs of one statement on PostgreSQL,
and run one by one on SQLite, the same SQL text either way (only the
counter's piece differs: a sequence there, a one-row counter here).

Every piece written here is an ``INSERT ... VALUES``, so each value takes the type of
its column on both engines, whatever the binding; a row written later in
the chain names the order by ``(SELECT id FROM ord)``. Values are prepared
as the ORM prepares them for a save (`_prepared`), so a row reads back as
if the ORM had written it; the model instances are the caller's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils import timezone

from omni import outbox
from omni.bulk import PLAIN
from omni.models import OutboxMessage
from omni.orders.models import Allocation, Order, OrderEvent, OrderLine, Payment
from omni.statements import Piece, run_each

# The order number: a prefix of the day (`number_prefix`) and the counter's value, six digits at least.
NUMBER_SQL = (
    "(SELECT %s || CASE WHEN value < 1000000 THEN substr(CAST(1000000 + value AS text), 2) "
    "ELSE CAST(value AS text) END FROM num)"
)


def counter_sql(count: str = "1") -> str:
    """The piece that moves the order-number counter on by `count` (an SQL expression) and returns its values:
    a PostgreSQL sequence (one row per number), a one-row counter under SQLite's write lock (the last one)."""
    if connection.vendor == "postgresql":
        return f"SELECT nextval('orders_order_number_seq') FROM generate_series(1, {count})"
    return f"UPDATE orders_order_number_counter SET value = value + {count} WHERE id = 1 RETURNING value"


def number_prefix() -> str:
    """What an order number of today starts with: OM, the local date and a dash (OM261203-)."""
    return f"OM{timezone.localdate():%y%m%d}-"


def write_order(order: Order, lines: Sequence[OrderLine], payments: Sequence[Payment]) -> None:
    """Insert the unsaved `order` (its number drawn here), its `lines` and `payments`; sets their ids and the
    order's number. One statement on PostgreSQL. Raises IntegrityError (a channel's external id taken)."""
    columns = _columns(Order, skip=("number",))
    pieces = [
        Piece("num", counter_sql(), columns=("value",)),
        Piece(
            "ord",
            f"INSERT INTO {Order._meta.db_table} (number, {', '.join(columns)}) "
            f"VALUES ({NUMBER_SQL}, {_marks(columns)}) RETURNING id, number",
            [number_prefix(), *_prepared(order, columns)],
            columns=("id", "number"),
        ),
    ]
    for name, rows in (("lines", lines), ("paid", payments)):
        if rows:
            pieces.append(_rows_of_order(name, rows))
    found = run_each(pieces, results=[piece.name for piece in pieces[1:]])
    ((order_id, order.number),) = found["ord"]
    _saved(order, order_id)
    for name, rows in (("lines", lines), ("paid", payments)):
        # Ids come from one sequence per table, drawn in the order of the VALUES rows.
        for row, (pk,) in zip(rows, sorted(found.get(name, [])), strict=True):
            row.order = order  # type: ignore[attr-defined]  # sets order_id and keeps the order cached
            _saved(row, pk)


def write_placed(
    order: Order,
    allocations: Sequence[Allocation],
    event: OrderEvent,
    message: OutboxMessage,
    *,
    endless_aisle: bool | None = None,
    first: Sequence[Piece] = (),
    first_results: Sequence[str] = (),
) -> dict[str, list[tuple[Any, ...]]]:
    """Insert the saved order's `allocations`, its `event` and the outbox `message`; sets their ids. With
    `endless_aisle` set, the order's flag becomes that. One statement on PostgreSQL.

    `first`: another owner's pieces run at the head of the chain (the buyer's
    earn, `loyalty.services.Earning`), whose locks come before the ones taken
    here; the rows of its pieces named in `first_results`, read in that order,
    are returned by name.
    """
    pieces = list(first)
    if allocations:
        pieces.append(_rows_of("alloc", Allocation, allocations))
    pieces.append(_rows_of("event", OrderEvent, [event]))
    pieces.extend(outbox.insert_pieces(message, name="message"))  # marked coalesced here when a KPI run waits
    if endless_aisle is not None:
        # A queryset update, as before: updated_at stays the order's creation stamp.
        pieces.append(
            Piece(
                "aisle",
                f"UPDATE {Order._meta.db_table} SET is_endless_aisle = %s WHERE id = %s",
                [endless_aisle, order.pk],
            )
        )
    own = [piece.name for piece in pieces[len(first) :] if piece.columns]
    found = run_each(pieces, results=[*first_results, *own])
    for name, rows in (("alloc", allocations), ("event", [event])):
        for row, (pk,) in zip(rows, sorted(found.get(name, [])), strict=True):
            _saved(row, pk)
    (inserted,) = found["message"]
    outbox.inserted(message, inserted)
    if endless_aisle is not None:
        order.is_endless_aisle = endless_aisle
    return {name: found[name] for name in first_results}


def _rows_of_order(name: str, rows: Sequence[Model]) -> Piece:
    """Rows of a table whose `order_id` is the order the chain inserted."""
    model = type(rows[0])
    columns = _columns(model, skip=("order_id",))
    one = f"((SELECT id FROM ord), {_marks(columns)})"
    return Piece(
        name,
        f"INSERT INTO {model._meta.db_table} (order_id, {', '.join(columns)}) VALUES "
        f"{', '.join(one for _ in rows)} RETURNING id",
        [value for row in rows for value in _prepared(row, columns)],
        columns=("id",),
    )


def _rows_of(name: str, model: type[Model], rows: Sequence[Model]) -> Piece:
    columns = _columns(model)
    one = f"({_marks(columns)})"
    return Piece(
        name,
        f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) VALUES {', '.join(one for _ in rows)} RETURNING id",
        [value for row in rows for value in _prepared(row, columns)],
        columns=("id",),
    )


_COLUMNS: dict[tuple[type[Model], tuple[str, ...]], list[str]] = {}


def _columns(model: type[Model], skip: tuple[str, ...] = ()) -> list[str]:
    """The columns an ORM insert of `model` writes (all but the primary key), but those in `skip`."""
    key = (model, skip)
    if key not in _COLUMNS:
        _COLUMNS[key] = [f.column for f in model._meta.concrete_fields if not f.primary_key and f.attname not in skip]
    return _COLUMNS[key]


def _marks(columns: Sequence[str]) -> str:
    return ", ".join("%s" for _ in columns)


def _prepared(row: Model, columns: Sequence[str]) -> list[Any]:
    """The values of `row` for `columns`, as a save prepares them: auto_now and auto_now_add stamped now (on the
    instance too), anything but a plain value through the field's get_db_prep_save."""
    by_column = {f.column: f for f in row._meta.concrete_fields}
    values = []
    for column in columns:
        field = by_column[column]
        value = field.pre_save(row, True)  # type: ignore[arg-type]
        values.append(value if isinstance(value, PLAIN) else field.get_db_prep_save(value, connection))
    return values


def _saved(row: Model, pk: int) -> None:
    """The instance as a save leaves it."""
    row.pk = pk
    row._state.adding = False
    row._state.db = connection.alias
