"""The guarded stock change: a stock row changes only if it can give, and writes its ledger entry with it.

The one home of this SQL. A change of one stock row is

    WITH moved AS (UPDATE stock AS s SET ... FROM (the change, one row) AS v
                   WHERE s.id = v.level_id AND <guard> RETURNING location_id, variant_id)
    INSERT INTO <movement table> SELECT ... FROM moved RETURNING id

on PostgreSQL: one statement, and no row back means the row could not give
(the stock moved since it was read), with nothing written. A hold of an
order rides in the same statement (a second data-modifying CTE). The guard
is `Step.guard_sql`, that is `available.available_sql`: the one
availability formula, never written out here.

SQLite has no data-modifying CTEs: there the same UPDATE ... RETURNING runs
alone, and the same INSERT ... SELECT reads `moved` from the row it
returned (two statements, three with a hold).

A change may name its row by (location, variant) instead of its id, for a
caller that knows the row without having read it (a carry out takes from
the selling store): then the guard also asks the location to be active, and
a missing row, like an inactive store, gives nothing. Such a change may
serve several lines of the same variant: one UPDATE for their sum, one
movement a line.

The bulk forms (bulk.py: take_many, reserve_many, restock_many) send the
same UPDATE (`update_sql`) with their changes from unnest(...) arrays.

The UPDATE takes the row's lock; callers changing several rows issue them in
primary-key order (omni/concurrency.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Model

from inventory.models import Reservation, ReservationStatus, StockLevel, StockMovement
from inventory.services.stock import REASON_MAX_LENGTH, Step
from omni import bulk
from omni.actor import Actor
from omni.catalog.models import Location

# Columns an INSERT ... SELECT takes from the stock row the UPDATE returned.
FROM_ROW = ("location_id", "variant_id")


@dataclass(frozen=True)
class Change:
    """`quantity` units of `step` on the stock row `level_id`, its movement said by `reason` and `actor`.

    With `hold_for_order`, the change also writes an active hold of that order
    (no expiry) for the same units: the hold of an order's reserved line.

    With `at` (location id, variant id) instead of `level_id`, the row is the
    one of that pair, and only while its location is active. `parts` are then
    the units of each movement (they sum to `quantity`): one movement a line
    when several lines of one variant change the row at once.
    """

    step: Step
    level_id: int | None
    quantity: int
    reason: str
    actor: Actor
    hold_for_order: int | None = None
    at: tuple[int, int] | None = None
    parts: tuple[int, ...] = ()


def update_sql(condition: str, *, source: str, match: str) -> str:
    """The guarded UPDATE ... RETURNING of stock rows `s` by the changes `v`, for one row or for a set.

    `source` is the FROM of the changes, aliased `v`, with the columns
    on_hand_delta, reserved_delta and need (the units `condition` must see
    covered) and the row's key, which `match` joins to `s`. Its key columns
    are not named like the stock row's, so the RETURNING reads unqualified
    (SQLite allows nothing else there).
    """
    return (
        f"UPDATE {StockLevel._meta.db_table} AS s SET on_hand = s.on_hand + v.on_hand_delta, "
        f"reserved = s.reserved + v.reserved_delta, updated_at = %s FROM {source} WHERE {match} AND {condition} "
        f"RETURNING {', '.join(FROM_ROW)}"
    )


def condition_sql(step: Step, *, on_hand_only: bool = False) -> tuple[str, list[Any]]:
    """What a row must cover before it changes: the step's guard (available.py's formula), or on hand alone."""
    if on_hand_only:
        return "s.on_hand >= v.need", []
    return step.guard_sql("s", "v.need")


def guarded_update_sql(
    step: Step, quantity: int, *, now: datetime, level_id: int | None = None, at: tuple[int, int] | None = None
) -> tuple[str, list[Any]]:
    """The guarded UPDATE ... RETURNING of `step` for `quantity` units on the stock row `level_id`, or on the row
    of `at` (location id, variant id) while that location is active."""
    condition, condition_params = condition_sql(step)
    deltas = [step.on_hand * quantity, step.reserved * quantity, quantity]
    figures = "CAST(%s AS integer) AS on_hand_delta, CAST(%s AS integer) AS reserved_delta, CAST(%s AS integer) AS need"
    if at is None:
        source = f"(SELECT CAST(%s AS bigint) AS level_id, {figures}) AS v"
        return update_sql(condition, source=source, match="s.id = v.level_id"), [
            now,
            level_id,
            *deltas,
            *condition_params,
        ]
    location = Location._meta
    active = location.get_field("is_active").column
    source = f"(SELECT CAST(%s AS bigint) AS at_location, CAST(%s AS bigint) AS of_variant, {figures}) AS v"
    match = (
        "s.location_id = v.at_location AND s.variant_id = v.of_variant AND EXISTS (SELECT 1 FROM "
        f"{location.db_table} AS l WHERE l.{location.pk.column} = v.at_location AND l.{active})"
    )
    return update_sql(condition, source=source, match=match), [now, *at, *deltas, *condition_params]


def insert_from_moved_sql(model: type[Model], values: dict[str, Any]) -> tuple[str, list[Any]]:
    """INSERT INTO the model's table ... SELECT FROM moved: location and variant from the row, `values` given.

    Every other column must be in `values` (by attname) or have a database
    default, so a column added later cannot be left out unnoticed.
    """
    meta: Any = model._meta  # the stubs do not know Field.has_db_default
    columns: list[str] = []
    selected: list[str] = []
    params: list[Any] = []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in FROM_ROW:
            columns.append(field.column)
            selected.append(f"moved.{field.attname}")
        elif field.attname in values:
            columns.append(field.column)
            selected.append("%s")
            params.append(field.get_db_prep_save(values[field.attname], connection))
        elif not field.has_db_default():
            raise ValueError(f"{meta.label}.{field.name} needs a value")
    sql = f"INSERT INTO {meta.db_table} ({', '.join(columns)}) SELECT {', '.join(selected)} FROM moved RETURNING id"
    return sql, params


def _writes(change: Change, now: datetime) -> list[tuple[str, list[Any]]]:
    """The INSERTs of a change, fed by `moved`: its movements (one a part), then its hold if any."""
    step, quantity = change.step, change.quantity
    user_id, api_client_id = bulk.attribution(change.actor)
    who = {"user_id": user_id, "api_client_id": api_client_id}
    reason = (change.reason or step.kind)[:REASON_MAX_LENGTH]
    writes = [
        insert_from_moved_sql(
            StockMovement,
            {
                "kind": step.kind,
                "on_hand_delta": step.on_hand * part,
                "reserved_delta": step.reserved * part,
                "quarantined_delta": 0,
                "reason": reason,
                "created_at": now,
                **who,
            },
        )
        for part in change.parts or (quantity,)
    ]
    if change.hold_for_order is not None:
        writes.append(
            insert_from_moved_sql(
                Reservation,
                {
                    "quantity": quantity,
                    "customer_id": None,
                    "order_id": change.hold_for_order,
                    "status": ReservationStatus.ACTIVE.value,
                    "expires_at": None,
                    "reason": change.reason[:REASON_MAX_LENGTH],
                    "created_at": now,
                    "closed_at": None,
                    **who,
                },
            )
        )
    return writes


def apply(change: Change, *, now: datetime) -> int | None:
    """Make `change` if its row can give: the id of its last row written (the hold, else the movement), or None.

    None: the row holds too little now (or is gone), and nothing was written.
    """
    if change.parts and sum(change.parts) != change.quantity:
        raise ValueError("The parts of a change must sum to its quantity.")
    update, params = guarded_update_sql(change.step, change.quantity, now=now, level_id=change.level_id, at=change.at)
    writes = _writes(change, now)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            ctes = [f"moved AS ({update})"]
            for index, (sql, write_params) in enumerate(writes[:-1]):
                ctes.append(f"written_{index} AS ({sql})")
                params += write_params
            last_sql, last_params = writes[-1]
            cursor.execute(f"WITH {', '.join(ctes)} {last_sql}", [*params, *last_params])
            row = cursor.fetchone()
            return None if row is None else int(row[0])
        cursor.execute(update, params)
        moved = cursor.fetchone()
        if moved is None:
            return None
        last = None
        for sql, write_params in writes:
            cursor.execute(f"WITH moved({', '.join(FROM_ROW)}) AS (SELECT %s, %s) {sql}", [*moved, *write_params])
            last = cursor.fetchone()
        assert last is not None
        return int(last[0])
