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

A caller that knows its rows without having read them (a carry out takes
from the selling store) changes them with `apply_at`: the lines of one
location by variant, all or nothing, in one statement on PostgreSQL

    WITH line AS (the lines), want AS (SELECT the location's rows of their
        variants, its location active, ORDER BY id FOR NO KEY UPDATE),
    moved AS (UPDATE ... FROM want WHERE every row of `want` passes the guard)
    INSERT INTO <movement table> SELECT ... FROM moved JOIN line

`want` locks the rows in primary-key order, with the lock the UPDATE takes
anyway, and reads them as they are once locked; the UPDATE changes them
only when there is a row for each variant and each can give, so a missing
row, an inactive location or one short row changes nothing at all. A
basket of one variant is the case of one row: the UPDATE finds it by the
same match as `want` (location, variant, location active) and checks the
same guard on it, as it is once locked, with no `want` and no count

    WITH line AS (the lines), moved AS (UPDATE ... FROM need WHERE the row
        of the variant at the location passes the guard)
    INSERT INTO <movement table> SELECT ... FROM moved JOIN line

Lines of one variant change their row once, by their sum (`need`), with a
movement a line. The lines are one-row SELECTs, one text for every basket
of as many lines, which PostgreSQL prepares and plans once. SQLite sends the same UPDATE (its `want` read without a
lock: the database has one writer) and then the same INSERT.

The bulk forms (bulk.py: take_many, reserve_many, restock_many) send the
same UPDATE (`update_sql`) with their changes from unnest(...) arrays.

The UPDATE takes the row's lock; callers changing several rows issue them in
primary-key order (omni/concurrency.py).
"""

from __future__ import annotations

from collections.abc import Sequence
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
    """

    step: Step
    level_id: int
    quantity: int
    reason: str
    actor: Actor
    hold_for_order: int | None = None


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


def guarded_update_sql(step: Step, quantity: int, *, now: datetime, level_id: int) -> tuple[str, list[Any]]:
    """The guarded UPDATE ... RETURNING of `step` for `quantity` units on the stock row `level_id`."""
    condition, condition_params = condition_sql(step)
    source = (
        "(SELECT CAST(%s AS bigint) AS level_id, CAST(%s AS integer) AS on_hand_delta, "
        "CAST(%s AS integer) AS reserved_delta, CAST(%s AS integer) AS need) AS v"
    )
    params = [now, level_id, step.on_hand * quantity, step.reserved * quantity, quantity, *condition_params]
    return update_sql(condition, source=source, match="s.id = v.level_id"), params


def insert_from_moved_sql(
    model: type[Model], values: dict[str, Any], *, per_line: dict[str, tuple[str, list[Any]]] | None = None
) -> tuple[str, list[Any]]:
    """INSERT INTO the model's table ... SELECT FROM moved: location and variant from the row, `values` given.

    Every other column must be in `values` (by attname) or have a database
    default, so a column added later cannot be left out unnoticed. With
    `per_line` (attname: SQL and its params), those columns are computed from
    `line` (line_no, of_variant, part; see apply_at), one row for each line
    of the variant of each row moved, in line order.
    """
    meta: Any = model._meta  # the stubs do not know Field.has_db_default
    computed = per_line or {}
    columns: list[str] = []
    selected: list[str] = []
    params: list[Any] = []
    for field in meta.concrete_fields:
        if field.primary_key:
            continue
        if field.attname in FROM_ROW:
            columns.append(field.column)
            selected.append(f"moved.{field.attname}")
        elif field.attname in computed:
            columns.append(field.column)
            sql, sql_params = computed[field.attname]
            selected.append(sql)
            params += sql_params
        elif field.attname in values:
            columns.append(field.column)
            selected.append("%s")
            params.append(field.get_db_prep_save(values[field.attname], connection))
        elif not field.has_db_default():
            raise ValueError(f"{meta.label}.{field.name} needs a value")
    source = "moved"
    if per_line is not None:
        source += " JOIN line ON line.of_variant = moved.variant_id ORDER BY line.line_no"
    sql = f"INSERT INTO {meta.db_table} ({', '.join(columns)}) SELECT {', '.join(selected)} FROM {source} RETURNING id"
    return sql, params


def _who(actor: Actor) -> dict[str, Any]:
    user_id, api_client_id = bulk.attribution(actor)
    return {"user_id": user_id, "api_client_id": api_client_id}


def _movement_values(step: Step, reason: str, actor: Actor, now: datetime) -> dict[str, Any]:
    """The columns of a movement of `step` that every movement of one change shares."""
    return {
        "kind": step.kind,
        "quarantined_delta": 0,
        "reason": (reason or step.kind)[:REASON_MAX_LENGTH],
        "created_at": now,
        **_who(actor),
    }


def _writes(change: Change, now: datetime) -> list[tuple[str, list[Any]]]:
    """The INSERTs of a change, fed by `moved`: its movement, then its hold if any."""
    step, quantity = change.step, change.quantity
    writes = [
        insert_from_moved_sql(
            StockMovement,
            {
                **_movement_values(step, change.reason, change.actor, now),
                "on_hand_delta": step.on_hand * quantity,
                "reserved_delta": step.reserved * quantity,
            },
        )
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
                    **_who(change.actor),
                },
            )
        )
    return writes


def apply(change: Change, *, now: datetime) -> int | None:
    """Make `change` if its row can give: the id of its last row written (the hold, else the movement), or None.

    None: the row holds too little now (or is gone), and nothing was written.
    """
    update, params = guarded_update_sql(change.step, change.quantity, now=now, level_id=change.level_id)
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


def _line_sql(lines: Sequence[tuple[int, int]]) -> tuple[str, list[Any]]:
    """The lines (variant id, units) as rows line_no, of_variant, part: a UNION ALL of one-row SELECTs.

    One text for every basket of as many lines, which PostgreSQL plans once
    when prepared: unnested arrays would be one text for any number of
    lines, but a generic plan cannot see their length, so each call was
    planned anew.
    """
    one = "SELECT CAST(%s AS integer) AS line_no, CAST(%s AS bigint) AS of_variant, CAST(%s AS integer) AS part"
    rest = " UNION ALL SELECT %s, %s, %s" * (len(lines) - 1)
    return one + rest, [value for index, (variant, units) in enumerate(lines) for value in (index, variant, units)]


def _need_sql(step: Step) -> tuple[str, list[Any]]:
    """The lines summed by variant (of_variant) with what its row must give: its deltas and the units `need`."""
    return (
        "(SELECT of_variant, CAST(%s * units AS integer) AS on_hand_delta, CAST(%s * units AS integer) AS "
        "reserved_delta, units AS need FROM (SELECT of_variant, CAST(SUM(part) AS integer) AS units FROM line "
        "GROUP BY of_variant) AS summed)",
        [step.on_hand, step.reserved],
    )


def _at_sql(row: str, need: str) -> str:
    """The stock row aliased `row` is the location's (the param) and of the variant of the summed lines aliased
    `need`, the location active."""
    location = Location._meta
    active = location.get_field("is_active").column
    return (
        f"{row}.variant_id = {need}.of_variant AND {row}.location_id = %s AND EXISTS (SELECT 1 FROM "
        f"{location.db_table} AS l WHERE l.{location.pk.column} = {row}.location_id AND l.{active})"
    )


def _want_sql(step: Step, location_id: int) -> tuple[str, list[Any]]:
    """The location's rows of the lines' variants with what each must give, named like stock rows for the guard;
    locked in primary-key order on PostgreSQL (and read as they are once locked)."""
    need, need_params = _need_sql(step)
    lock_sql = " FOR NO KEY UPDATE OF s" if connection.vendor == "postgresql" else ""
    sql = (
        "SELECT s.id AS level_id, s.location_id, s.variant_id, s.on_hand, s.reserved, s.safety_stock, "
        f"need.on_hand_delta, need.reserved_delta, need.need FROM {StockLevel._meta.db_table} AS s, {need} AS need "
        f"WHERE {_at_sql('s', 'need')} ORDER BY s.id{lock_sql}"
    )
    return sql, [*need_params, location_id]


def apply_at(
    step: Step, location_id: int, lines: Sequence[tuple[int, int]], *, reason: str, actor: Actor, now: datetime
) -> bool:
    """`step` for every line (variant id, units) on the location's rows, all or nothing, without reading first.

    True when every row gave (each row by the sum of its variant's lines, a
    movement a line, in line order). False when a line has no row, the
    location is inactive or a row holds too little now: then nothing was
    written, and the caller's transaction goes on (a guarded UPDATE that
    changes nothing does not abort it). On PostgreSQL the rows stay locked
    until the transaction ends, so a read made after a refusal plans on
    figures that cannot move under it.

    Lines of one variant change one row: its UPDATE finds it by location and
    variant, locks it and checks the guard on the row as it is then, so it
    needs neither `want` nor the count of rows that pass. The lines of any
    basket are one-row SELECTs (`_line_sql`), so PostgreSQL plans the
    statement once for every basket of as many lines.
    """
    if not lines:
        return True
    variants = len({variant for variant, _ in lines})
    line, line_params = _line_sql(lines)
    condition, condition_params = condition_sql(step)
    if variants == 1:
        need, need_params = _need_sql(step)
        update = update_sql(condition, source=f"{need} AS v", match=_at_sql("s", "v"))
        ctes, cte_params = f"WITH line AS ({line})", line_params
        update_params = [now, *need_params, location_id, *condition_params]
    else:
        want, want_params = _want_sql(step, location_id)
        guard, guard_params = step.guard_sql("w", "w.need")
        every = f"s.id = v.level_id AND (SELECT COUNT(*) FROM want AS w WHERE {guard}) = %s"
        update = update_sql(
            condition, source="(SELECT level_id, on_hand_delta, reserved_delta, need FROM want) AS v", match=every
        )
        ctes, cte_params = f"WITH line AS ({line}), want AS MATERIALIZED ({want})", [*line_params, *want_params]
        update_params = [now, *guard_params, variants, *condition_params]
    insert, insert_params = insert_from_moved_sql(
        StockMovement,
        _movement_values(step, reason, actor, now),
        per_line={
            "on_hand_delta": ("CAST(%s * line.part AS integer)", [step.on_hand]),
            "reserved_delta": ("CAST(%s * line.part AS integer)", [step.reserved]),
        },
    )
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f"{ctes}, moved AS ({update}) {insert}", [*cte_params, *update_params, *insert_params])
            return bool(cursor.fetchall())
        cursor.execute(f"{ctes} {update}", [*cte_params, *update_params])
        moved = cursor.fetchall()
        if not moved:
            return False
        rows = " UNION ALL ".join(["SELECT %s, %s"] * len(moved))
        cursor.execute(
            f"WITH line AS ({line}), moved({', '.join(FROM_ROW)}) AS ({rows}) {insert}",
            [*line_params, *(value for row in moved for value in row), *insert_params],
        )
        return True
