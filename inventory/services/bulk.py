"""Many stock rows at once: the set-based forms of the one-row services."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory.models import (
    MovementKind,
    StockLevel,
    StockMovement,
)
from inventory.services.stock import MAX_ON_HAND, REASON_MAX_LENGTH, _movement, _record, held_units
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Location, Variant
from omni.errors import Invalid
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
