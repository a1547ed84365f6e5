"""Many stock rows at once: the set-based forms of the one-row services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from inventory.available import available, held, lapsed_expression
from inventory.models import (
    MovementKind,
    StockLevel,
    StockMovement,
)
from inventory.services import guarded
from inventory.services.stock import (
    MAX_ON_HAND,
    REASON_MAX_LENGTH,
    RESERVE,
    TAKE,
    MovementRow,
    Step,
    _check_quantity,
    _insufficient,
    _movement,
    _movement_row,
    _record,
    announce_availability,
    held_units,
    receiving,
)
from omni import bulk
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Location, Variant
from omni.errors import InsufficientStock, Invalid
from omni.uploads import whole_number

# --- Counting in bulk (the import) -----------------------------------------------------------------------------


@dataclass(frozen=True)
class CountRow:
    """One line of a stock count file, as read (values not yet checked)."""

    line: int
    location: Any
    sku: Any
    on_hand: Any
    reason: Any = ""


@dataclass(frozen=True)
class CountOutcome:
    line: int
    location: str
    sku: str
    before: int | None  # None: the row did not exist
    on_hand: int
    reason: str

    @property
    def delta(self) -> int:
        return self.on_hand - (self.before or 0)


class CountFileInvalid(Invalid):
    """A count file with bad rows: `row_errors` maps each bad line to its messages. Nothing was written."""

    def __init__(self, row_errors: dict[int, dict[str, list[str]]]):
        self.row_errors = row_errors
        flat = {
            f"row {line}.{name}": messages
            for line, fields in sorted(row_errors.items())
            for name, messages in fields.items()
        }
        super().__init__(f"{len(row_errors)} row(s) of the file are not valid; nothing was imported.", flat)


def count_many(rows: Sequence[CountRow], *, actor: Actor = SYSTEM, dry_run: bool = False) -> list[CountOutcome]:
    """Apply a whole count file, all or nothing: set-based reads and writes, one transaction.

    Every row is checked first (known location and SKU, on hand a whole number
    in 0..MAX_ON_HAND, no location and SKU twice); any bad row raises
    CountFileInvalid listing them all, and nothing is written. Then, in one
    transaction: one query reads the existing rows (locked), missing rows are
    bulk-created, changed rows bulk-updated, and one `count` movement per row
    is bulk-inserted. With `dry_run` the outcome is computed and nothing written.
    """
    errors: dict[int, dict[str, list[str]]] = {}
    codes = {str(row.location).strip() for row in rows if row.location not in (None, "")}
    skus = {str(row.sku).strip() for row in rows if row.sku not in (None, "")}
    locations = {loc.code: loc for loc in Location.objects.filter(code__in=codes)}
    variants = {var.sku: var for var in Variant.objects.filter(sku__in=skus)}
    parsed: list[tuple[CountRow, Location, Variant, int, str]] = []
    seen: dict[tuple[int, int], int] = {}
    for row in rows:
        problems: dict[str, list[str]] = {}
        code, sku = str(row.location or "").strip(), str(row.sku or "").strip()
        location, variant = locations.get(code), variants.get(sku)
        if not code:
            problems["location"] = ["This field is required."]
        elif location is None:
            problems["location"] = [f"No location with code {code}."]
        if not sku:
            problems["sku"] = ["This field is required."]
        elif variant is None:
            problems["sku"] = [f"No variant with SKU {sku}."]
        on_hand = whole_number(row.on_hand)
        if on_hand is None:
            problems["on_hand"] = ["A whole number is required."]
        elif not 0 <= on_hand <= MAX_ON_HAND:
            problems["on_hand"] = [f"Ensure this value is between 0 and {MAX_ON_HAND}."]
        reason = str(row.reason or "").strip() or "count"
        if len(reason) > REASON_MAX_LENGTH:
            problems["reason"] = [f"At most {REASON_MAX_LENGTH} characters."]
        if location is not None and variant is not None:
            key = (location.pk, variant.pk)
            if key in seen:
                problems["sku"] = [f"{sku} at {code} is already counted on row {seen[key]}."]
            else:
                seen[key] = row.line
        if problems:
            errors[row.line] = problems
        else:
            assert location is not None and variant is not None and on_hand is not None
            parsed.append((row, location, variant, on_hand, reason))
    if errors:
        raise CountFileInvalid(errors)

    with transaction.atomic():
        existing = {
            (level.location_id, level.variant_id): level
            for level in StockLevel.objects.select_for_update()
            .filter(location_id__in={p[1].pk for p in parsed}, variant_id__in={p[2].pk for p in parsed})
            .order_by("pk")
        }
        held = held_units(list(existing.values()), now=timezone.now())
        short = {
            row.line: {"on_hand": [f"{held[key]} unit(s) are held for customers and orders: count at least that."]}
            for row, location, variant, on_hand, _reason in parsed
            if on_hand < held.get(key := (location.pk, variant.pk), 0)
        }
        if short:
            raise CountFileInvalid(short)
        outcomes: list[CountOutcome] = []
        new_levels: list[StockLevel] = []
        changed: list[StockLevel] = []
        movements: list[StockMovement] = []
        now = timezone.now()
        for row, location, variant, on_hand, reason in parsed:
            level = existing.get((location.pk, variant.pk))
            before = level.on_hand if level is not None else None
            outcomes.append(CountOutcome(row.line, location.code, variant.sku, before, on_hand, reason))
            if level is None:
                new_levels.append(StockLevel(location=location, variant=variant, on_hand=on_hand))
            elif level.on_hand != on_hand:
                level.on_hand, level.updated_at = on_hand, now
                changed.append(level)
            movements.append(
                _movement(
                    level_or_ids=(location.pk, variant.pk),
                    kind=MovementKind.COUNT,
                    actor=actor,
                    reason=reason,
                    on_hand=on_hand - (before or 0),
                )
            )
        if not dry_run:
            StockLevel.objects.bulk_create(new_levels, batch_size=1000)
            StockLevel.objects.bulk_update(changed, ["on_hand", "updated_at"], batch_size=1000)
            _record(*movements)
    return outcomes


# --- Taking, holding and restocking many lines at once ---------------------------------------------------------

CHUNK = 5000  # ids per IN (...) list: SQLite limits the number of parameters
TILL_SHORTFALL_REASON = "sold at the till beyond the stock on file"


@dataclass(frozen=True)
class StockLine:
    """One line of a bulk stock change: `quantity` units of a variant at a location, by ids (any caller builds it).

    `shortfall_reason` is the reason of the adjustment written before a till
    sale of units beyond on hand (take_many with `at_the_till`).
    """

    location_id: int
    variant_id: int
    quantity: int
    reason: str = ""
    shortfall_reason: str = TILL_SHORTFALL_REASON

    @property
    def key(self) -> tuple[int, int]:
        return (self.location_id, self.variant_id)


@dataclass(frozen=True)
class LineShortfall:
    """Units a line sells beyond what its row could give: beyond on hand, or beyond the units not held."""

    index: int  # the line's position in the batch
    units: int
    beyond_on_hand: bool


@dataclass
class TillPlan:
    """The rows a batch of till sales takes from, read before anything is written, and the batch's shortfalls."""

    on_hand: dict[tuple[int, int], int]
    shortfalls: list[LineShortfall]
    locked: bool


def _chunks(values: Sequence[Any]) -> list[Sequence[Any]]:
    return [values[i : i + CHUNK] for i in range(0, len(values), CHUNK)]


def _existing_keys(keys: set[tuple[int, int]]) -> set[tuple[int, int]]:
    location_ids = sorted({loc for loc, _ in keys})
    found: set[tuple[int, int]] = set()
    for part in _chunks(sorted({var for _, var in keys})):
        found.update(
            StockLevel.objects.filter(location_id__in=location_ids, variant_id__in=part).values_list(
                "location_id", "variant_id"
            )
        )
    return found & keys


def ensure_rows(keys: set[tuple[int, int]]) -> None:
    """Empty stock rows for the (location id, variant id) pairs that have none; a row made meanwhile is kept.

    On PostgreSQL one INSERT ... SELECT FROM unnest(...) ON CONFLICT DO NOTHING;
    elsewhere bulk_create of the pairs not found.
    """
    if not keys:
        return
    if connection.vendor != "postgresql":
        missing = keys - _existing_keys(keys)
        StockLevel.objects.bulk_create(
            [StockLevel(location_id=loc, variant_id=var) for loc, var in sorted(missing)],
            ignore_conflicts=True,
            batch_size=1000,
        )
        return
    pairs = sorted(keys)
    others = [
        f for f in StockLevel._meta.concrete_fields if not f.primary_key and f.name not in ("location", "variant")
    ]
    columns = ", ".join(["location_id", "variant_id", *(f.column for f in others)])
    values = [timezone.now() if f.name == "updated_at" else f.get_default() for f in others]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {StockLevel._meta.db_table} ({columns}) "
            f"SELECT t.location_id, t.variant_id{', %s' * len(others)} "
            "FROM unnest(%s::bigint[], %s::bigint[]) AS t(location_id, variant_id) "
            "ORDER BY 1, 2 ON CONFLICT (location_id, variant_id) DO NOTHING",
            [*values, [loc for loc, _ in pairs], [var for _, var in pairs]],
        )


def _figures(keys: set[tuple[int, int]], *, lock: bool) -> dict[tuple[int, int], tuple[int, int]]:
    """(on hand, held) of the rows of `keys`, locked in primary-key order when `lock` (held: available.held)."""
    location_ids = sorted({loc for loc, _ in keys})
    figures: dict[tuple[int, int], tuple[int, int]] = {}
    for part in _chunks(sorted({var for _, var in keys})):
        rows = StockLevel.objects.filter(location_id__in=location_ids, variant_id__in=part).order_by("pk")
        if lock:
            rows = rows.select_for_update()
        for location_id, variant_id, on_hand, reserved, lapsed in rows.annotate(lapsed=lapsed_expression()).values_list(
            "location_id", "variant_id", "on_hand", "reserved", "lapsed"
        ):
            if (location_id, variant_id) in keys:
                figures[(location_id, variant_id)] = (on_hand, held(reserved, lapsed))
    return figures


def plan_till_sales(lines: Sequence[StockLine], *, lock: bool) -> TillPlan:
    """The rows a batch of till sales takes from and what it sells beyond them; nothing of the stock is changed.

    With `lock` (inside the caller's transaction, before writing) the missing
    rows are made empty and every row is locked in primary-key order, so the
    figures cannot move before take_many(at_the_till=True) applies them. A line
    beyond the row's on hand is a shortfall `beyond_on_hand`; a line beyond
    the units not held (available.py, safety stock sellable at the till) is a
    shortfall of held units, which the till sells all the same.
    """
    keys = {line.key for line in lines}
    if lock:
        ensure_rows(keys)
    figures = _figures(keys, lock=lock)
    on_hand = {key: units for key, (units, _held) in figures.items()}
    left = dict(on_hand)
    free = {key: available(units, held_units_, keep_safety=False) for key, (units, held_units_) in figures.items()}
    shortfalls = []
    for index, line in enumerate(lines):
        have, unheld = left.get(line.key, 0), free.get(line.key, 0)
        if line.quantity > have:
            shortfalls.append(LineShortfall(index, line.quantity - have, True))
        elif line.quantity > unheld:
            shortfalls.append(LineShortfall(index, line.quantity - max(unheld, 0), False))
        left[line.key] = max(have - line.quantity, 0)
        free[line.key] = unheld - line.quantity
    return TillPlan(on_hand=on_hand, shortfalls=shortfalls, locked=lock)


def _apply(
    step: Step, changes: dict[tuple[int, int], tuple[int, int, int]], *, guard: str | None = "step"
) -> set[tuple[int, int]]:
    """Apply per-row changes (on hand delta, reserved delta, units the guard must cover) set-based.

    PostgreSQL: one UPDATE ... FROM unnest(...) for them all, guarded row by row
    by `step`'s guard (or by on hand alone with guard="on_hand"); elsewhere one
    conditional UPDATE per row with the same guard. Returns the keys whose
    guard failed (their rows unchanged).
    """
    if not changes:
        return set()
    now = timezone.now()
    keys = sorted(changes)
    condition, condition_params = guarded.condition_sql(step, on_hand_only=guard == "on_hand")
    match = "s.location_id = v.at_location AND s.variant_id = v.of_variant"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            source = (
                "unnest(%s::bigint[], %s::bigint[], %s::integer[], %s::integer[], %s::integer[]) "
                "AS v(at_location, of_variant, on_hand_delta, reserved_delta, need)"
            )
            cursor.execute(
                guarded.update_sql(condition, source=source, match=match),
                [
                    now,
                    [key[0] for key in keys],
                    [key[1] for key in keys],
                    *([changes[key][i] for key in keys] for i in range(3)),
                    *condition_params,
                ],
            )
            return set(keys) - {(row[0], row[1]) for row in cursor.fetchall()}
        # One row per statement elsewhere: the same UPDATE, its changes one row of parameters.
        sql = guarded.update_sql(
            condition,
            source=(
                "(SELECT CAST(%s AS bigint) AS at_location, CAST(%s AS bigint) AS of_variant, "
                "CAST(%s AS integer) AS on_hand_delta, CAST(%s AS integer) AS reserved_delta, "
                "CAST(%s AS integer) AS need) AS v"
            ),
            match=match,
        )
        failed: set[tuple[int, int]] = set()
        for key in keys:
            cursor.execute(sql, [now, *key, *changes[key], *condition_params])
            if cursor.fetchone() is None:
                failed.add(key)
        return failed


def _insert_movements(rows: Sequence[MovementRow]) -> None:
    """The batch's ledger entries in one statement (COPY on PostgreSQL, no model instance built), then what
    they did to availability."""
    if connection.vendor != "postgresql" or len(rows) < 2:
        _record(*(row.as_model() for row in rows))
        return
    now = timezone.now()
    bulk.insert_rows(StockMovement, (*MovementRow._fields, "created_at"), [(*row, now) for row in rows])
    announce_availability((r.location_id, r.variant_id, r.on_hand_delta, r.reserved_delta) for r in rows)


def _refuse(lines: Sequence[StockLine], failed: set[tuple[int, int]]) -> InsufficientStock:
    """InsufficientStock naming the first line (in batch order) whose row could not give its units."""
    first = next(line for line in lines if line.key in failed)
    total = sum(line.quantity for line in lines if line.key == first.key)
    return _insufficient(Variant.objects.get(pk=first.variant_id), Location.objects.get(pk=first.location_id), total)


def _checked(lines: Sequence[StockLine]) -> list[StockLine]:
    for line in lines:
        _check_quantity(line.quantity)
    return list(lines)


def _lock(keys: set[tuple[int, int]]) -> None:
    """Lock the rows of `keys` in primary-key order, so two batches never wait on each other crosswise."""
    location_ids = sorted({loc for loc, _ in keys})
    for part in _chunks(sorted({var for _, var in keys})):
        list(
            StockLevel.objects.select_for_update()
            .filter(location_id__in=location_ids, variant_id__in=part)
            .order_by("pk")
            .values_list("pk", flat=True)
        )


def _many(step: Step, lines: Sequence[StockLine], *, actor: Actor) -> None:
    """Apply `step` to every line, all or nothing: the bulk form of stock._one_row."""
    lines = _checked(lines)
    if not lines:
        return
    changes: dict[tuple[int, int], tuple[int, int, int]] = {}
    for line in lines:
        on_hand, reserved, need = changes.get(line.key, (0, 0, 0))
        changes[line.key] = (
            on_hand + step.on_hand * line.quantity,
            reserved + step.reserved * line.quantity,
            need + line.quantity,
        )
    with transaction.atomic():
        if step.guard is None:
            ensure_rows(set(changes))
        _lock(set(changes))
        failed = _apply(step, changes)
        if failed:
            raise _refuse(lines, failed)
        _insert_movements(
            [step.movement_row(line.key, line.quantity, reason=line.reason, actor=actor) for line in lines]
        )


def reserve_many(lines: Sequence[StockLine], *, actor: Actor = SYSTEM) -> None:
    """Hold the units of many lines at once, all or nothing: `reserve` for each, set-based.

    Same guard (available units, safety stock kept back, lapsed holds holding
    nothing), same `reservation` movements, one per line. Rows are locked in
    primary-key order; any line its row cannot cover raises InsufficientStock
    naming it, and nothing is written.
    """
    _many(RESERVE, lines, actor=actor)


def restock_many(lines: Sequence[StockLine], *, kind: str = MovementKind.RECEIPT, actor: Actor = SYSTEM) -> None:
    """Units of many lines arrive at once (`receive` for each): missing rows made, one movement of `kind` a line."""
    _many(receiving(kind), lines, actor=actor)


def take_many(
    lines: Sequence[StockLine], *, actor: Actor = SYSTEM, at_the_till: bool = False, plan: TillPlan | None = None
) -> TillPlan | None:
    """Sell the units of many lines at once: `take` for each, set-based, all or nothing.

    Same guard as `take` (units not held, safety stock sellable), same `sale`
    movements, one per line in batch order; any line its row cannot cover
    raises InsufficientStock naming it, and nothing is written.

    `at_the_till`: the lines are till receipts, which are facts. Units sold
    beyond on hand are first found by an `adjustment` (each line's
    `shortfall_reason`), so on hand stops at zero and the row still equals its
    ledger; held units are sold all the same (the plan lists them). The plan
    is `plan_till_sales(lines, lock=True)`, made in the caller's transaction
    (made here when not given) and returned.
    """
    if not at_the_till:
        _many(TAKE, lines, actor=actor)
        return None
    lines = _checked(lines)
    with transaction.atomic():
        if plan is None or not plan.locked:
            plan = plan_till_sales(lines, lock=True)
        left = dict(plan.on_hand)
        sold: dict[tuple[int, int], int] = {}
        found: dict[tuple[int, int], int] = {}
        adjustments: list[MovementRow] = []
        sales: list[MovementRow] = []
        for line in lines:
            short = max(line.quantity - left.get(line.key, 0), 0)
            left[line.key] = left.get(line.key, 0) + short - line.quantity
            sold[line.key] = sold.get(line.key, 0) + line.quantity
            found[line.key] = found.get(line.key, 0) + short
            if short:
                adjustments.append(
                    _movement_row(
                        level_or_ids=line.key,
                        kind=MovementKind.ADJUSTMENT,
                        actor=actor,
                        reason=line.shortfall_reason,
                        on_hand=short,
                    )
                )
            sales.append(TAKE.movement_row(line.key, line.quantity, reason=line.reason, actor=actor))
        changes = {key: (found[key] - units, 0, units - found[key]) for key, units in sold.items()}
        if _apply(TAKE, changes, guard="on_hand"):  # the rows are locked: the plan was made on other figures
            raise RuntimeError("stock rows changed under their lock")
        _insert_movements(adjustments + sales)
    return plan
