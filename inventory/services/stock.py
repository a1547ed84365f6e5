"""One stock row at a time: count, adjust, receive, quarantine, reserve, release, take, ship."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from django.db import IntegrityError, transaction
from django.db.models import F, IntegerField
from django.db.models.expressions import RawSQL
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from inventory.available import available, available_expression, available_sql, held, lapsed_expression, lapsed_sql
from inventory.models import (
    MovementKind,
    NetworkAvailability,
    StockLevel,
    StockMovement,
)
from omni import webhooks
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Location, Variant
from omni.concurrency import retry_on_conflict
from omni.errors import CountBelowReserved, InsufficientStock, Invalid, InvalidTransition

MAX_ON_HAND = 1_000_000
MAX_QUANTITY = 100_000
DEFAULT_HOLD_MINUTES = 120
MAX_HOLD_MINUTES = 7 * 24 * 60
REASON_MAX_LENGTH = 200


# --- Small helpers ---------------------------------------------------------------------------------------------


class MovementRow(NamedTuple):
    """A ledger entry not yet written, as plain values in the order of the fields named like them: what the
    bulk paths write by COPY without building a model instance per line (`as_model` makes one)."""

    location_id: int
    variant_id: int
    kind: str
    on_hand_delta: int
    reserved_delta: int
    quarantined_delta: int
    reason: str
    user_id: int | None
    api_client_id: int | None

    def as_model(self) -> StockMovement:
        return StockMovement(**self._asdict())


def _movement_row(
    *,
    level_or_ids: StockLevel | tuple[int, int],
    kind: str,
    actor: Actor,
    reason: str,
    on_hand: int = 0,
    reserved: int = 0,
    quarantined: int = 0,
) -> MovementRow:
    """The ledger entry of a change: its row, its kind and deltas, its reason (the kind when none is given)
    and who made it."""
    if isinstance(level_or_ids, StockLevel):
        location_id, variant_id = level_or_ids.location_id, level_or_ids.variant_id
    else:
        location_id, variant_id = level_or_ids
    user, client = actor.user, actor.api_client
    return MovementRow(
        location_id,
        variant_id,
        kind,
        on_hand,
        reserved,
        quarantined,
        (reason or kind)[:REASON_MAX_LENGTH],
        user.pk if user is not None else None,
        client.pk if client is not None else None,
    )


def _movement(*, actor: Actor, **entry: Any) -> StockMovement:
    """An unsaved ledger entry (the caller saves it, alone or in bulk); the arguments are `_movement_row`'s."""
    movement = _movement_row(actor=actor, **entry).as_model()
    movement.user, movement.api_client = actor.user, actor.api_client  # the actor's rows, held as the caller's
    return movement


def _record(*movements: StockMovement) -> None:
    """Save the movements of a change (one INSERT, or bulk), then announce what they did to network availability."""
    if len(movements) == 1:
        movements[0].save()
    else:
        StockMovement.objects.bulk_create(movements, batch_size=1000)
    announce_availability((m.location_id, m.variant_id, m.on_hand_delta, m.reserved_delta) for m in movements)


def announce_availability(changes: Iterable[tuple[int, int, int, int]]) -> None:
    """Publish availability.changed for each variant these changes sold out across the network or brought back.

    `changes` are (location id, variant id, on hand change, reserved change),
    already applied to the stock rows in this transaction. Nothing is read
    unless someone subscribes to the event. Then the variants' rows in
    NetworkAvailability are locked (created first if missing, in variant
    order), the network's units available are summed after the lock (so a
    concurrent change that committed meanwhile is counted), and each variant
    whose answer to "any available?" differs from the one last announced is
    published. A variant never announced before is compared with its figures
    before these changes.
    """
    if not webhooks.listens("availability.changed"):
        return
    deltas: dict[int, dict[int, tuple[int, int]]] = {}
    for location_id, variant_id, on_hand, reserved in changes:
        at = deltas.setdefault(variant_id, {})
        before = at.get(location_id, (0, 0))
        at[location_id] = (before[0] + on_hand, before[1] + reserved)
    if not deltas:
        return
    variant_ids = sorted(deltas)
    NetworkAvailability.objects.bulk_create(
        [NetworkAvailability(variant_id=pk, is_available=None) for pk in variant_ids], ignore_conflicts=True
    )
    announced = dict(
        NetworkAvailability.objects.select_for_update()
        .filter(variant_id__in=variant_ids)
        .order_by("variant_id")
        .values_list("variant_id", "is_available")
    )
    now_units: dict[int, int] = dict.fromkeys(variant_ids, 0)
    before_units: dict[int, int] = dict.fromkeys(variant_ids, 0)
    rows = (
        StockLevel.objects.filter(variant_id__in=variant_ids, location__is_active=True)
        .annotate(lapsed=lapsed_expression())
        .values_list("variant_id", "location_id", "on_hand", "reserved", "safety_stock", "lapsed")
    )
    for variant_id, location_id, on_hand, reserved, safety_stock, lapsed in rows:
        on_hand_change, reserved_change = deltas[variant_id].get(location_id, (0, 0))
        now_units[variant_id] += max(available(on_hand, reserved, safety_stock, lapsed=lapsed), 0)
        earlier = available(on_hand - on_hand_change, reserved - reserved_change, safety_stock, lapsed=lapsed)
        before_units[variant_id] += max(earlier, 0)
    flipped = []
    for variant_id in variant_ids:
        was = announced.get(variant_id)
        was = before_units[variant_id] > 0 if was is None else was
        is_now = now_units[variant_id] > 0
        if announced.get(variant_id) is not is_now:
            NetworkAvailability.objects.filter(variant_id=variant_id).update(
                is_available=is_now, changed_at=timezone.now()
            )
        if was != is_now:
            flipped.append(variant_id)
    if flipped:
        skus = dict(Variant.objects.filter(pk__in=flipped).values_list("pk", "sku"))
        webhooks.publish_many(
            "availability.changed",
            [{"sku": skus[pk], "network_available": now_units[pk]} for pk in flipped],
        )


def _check_quantity(quantity: Any, name: str = "quantity") -> int:
    if isinstance(quantity, bool) or not isinstance(quantity, int):
        raise Invalid(f"{name} must be a whole number.", {name: ["A whole number is required."]})
    if quantity < 1:
        raise Invalid(f"{name} must be at least 1.", {name: ["Ensure this value is greater than or equal to 1."]})
    if quantity > MAX_QUANTITY:
        raise Invalid(f"{name} is too large.", {name: [f"Ensure this value is less than or equal to {MAX_QUANTITY}."]})
    return quantity


def _check_on_hand(on_hand: Any) -> int:
    if isinstance(on_hand, bool) or not isinstance(on_hand, int):
        raise Invalid("on_hand must be a whole number.", {"on_hand": ["A whole number is required."]})
    if on_hand < 0 or on_hand > MAX_ON_HAND:
        raise Invalid("on_hand is out of range.", {"on_hand": [f"Ensure this value is between 0 and {MAX_ON_HAND}."]})
    return on_hand


def _level(location: Location, variant: Variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def _insufficient(variant: Variant, location: Location | None, quantity: int) -> InsufficientStock:
    where = f" at {location.code}" if location is not None else " in the network"
    return InsufficientStock(f"Not enough stock of {variant.sku}{where} for {quantity} unit(s).", sku=variant.sku)


def _touch() -> dict[str, Any]:
    return {"updated_at": timezone.now()}


# --- Counting and receiving ------------------------------------------------------------------------------------


@retry_on_conflict
def count(
    *, location: Location, variant: Variant, on_hand: int, reason: str = "count", actor: Actor = SYSTEM
) -> StockLevel:
    """Set on hand to what was counted; the ledger gets a `count` movement with the difference.

    Creates the row on a first count. The row is locked while it changes, so a
    count and a sale at the same moment both land in the ledger. A count equal
    to the figure on file still writes a movement (of 0): who counted, and when.
    A count below the units held for customers and orders (holds past their
    expiry hold nothing) raises CountBelowReserved and writes nothing: the holds
    must be released, or the shelf counted again, first.
    """
    on_hand = _check_on_hand(on_hand)
    with transaction.atomic():
        level = StockLevel.objects.select_for_update().filter(location=location, variant=variant).first()
        if level is None:
            try:
                with transaction.atomic():
                    level = StockLevel.objects.create(location=location, variant=variant)
            except IntegrityError:  # created by someone else in between
                level = StockLevel.objects.select_for_update().get(location=location, variant=variant)
        check_count_covers_holds(level, on_hand)
        delta = on_hand - level.on_hand
        level.on_hand = on_hand
        level.save(update_fields=["on_hand", "updated_at"])
        _record(_movement(level_or_ids=level, kind=MovementKind.COUNT, actor=actor, reason=reason, on_hand=delta))
    return level


def held_units(levels: Sequence[StockLevel], now: datetime | None = None) -> dict[tuple[int, int], int]:
    """Units each stock row holds now (available.held: lapsed holds hold nothing), in one query."""
    if not levels:
        return {}
    sql, params = lapsed_sql(StockLevel._meta.db_table, now=now)
    lapsed = dict(
        StockLevel.objects.filter(pk__in=[level.pk for level in levels])
        .annotate(lapsed=RawSQL(sql, params, output_field=IntegerField()))
        .values_list("pk", "lapsed")
    )
    return {(level.location_id, level.variant_id): held(level.reserved, lapsed.get(level.pk, 0)) for level in levels}


def can_give(quantity: int, *, keep_safety: bool = True) -> GreaterThanOrEqual:
    """The oversell guard of a conditional update: the row's available units (available.py) cover `quantity`.

    A till sale (`keep_safety=False`) may sell the safety stock, never a held unit.
    """
    return GreaterThanOrEqual(available_expression(keep_safety=keep_safety), quantity)


@dataclass(frozen=True)
class Step:
    """One kind of stock change, as the one-row services and their bulk forms (bulk.py) both apply it.

    `on_hand` and `reserved` are the signs of the change per unit; `guard` is
    what must cover the units before the row changes: "available" (a hold:
    the safety stock is kept back), "unheld" (a till sale may sell the safety
    stock, never a held unit) or None (units arriving).
    """

    kind: str
    on_hand: int
    reserved: int
    guard: str | None

    def guard_expression(self, quantity: int) -> GreaterThanOrEqual | None:
        """The WHERE of the one-row conditional update (None: nothing to check)."""
        if self.guard is None:
            return None
        return can_give(quantity, keep_safety=self.guard == "available")

    def guard_sql(self, row: str, units: str) -> tuple[str, list[Any]]:
        """The same guard in SQL, for the stock row aliased `row` and the units in the SQL `units`."""
        if self.guard is None:
            return "TRUE", []
        sql, params = available_sql(row, keep_safety=self.guard == "available")
        return f"{sql} >= {units}", params

    def updates(self, quantity: int) -> dict[str, Any]:
        """The column updates of the one-row conditional update."""
        changes: dict[str, Any] = {}
        if self.on_hand:
            changes["on_hand"] = F("on_hand") + self.on_hand * quantity
        if self.reserved:
            changes["reserved"] = F("reserved") + self.reserved * quantity
        return changes

    def movement(self, key: tuple[int, int], quantity: int, *, reason: str, actor: Actor) -> StockMovement:
        """The ledger entry of `quantity` units of this change on the row `key` (location id, variant id)."""
        return self.movement_row(key, quantity, reason=reason, actor=actor).as_model()

    def movement_row(self, key: tuple[int, int], quantity: int, *, reason: str, actor: Actor) -> MovementRow:
        """`movement` as plain values, for the bulk paths."""
        return _movement_row(
            level_or_ids=key,
            kind=self.kind,
            actor=actor,
            reason=reason,
            on_hand=self.on_hand * quantity,
            reserved=self.reserved * quantity,
        )


TAKE = Step(MovementKind.SALE, on_hand=-1, reserved=0, guard="unheld")
RESERVE = Step(MovementKind.RESERVATION, on_hand=0, reserved=1, guard="available")


def receiving(kind: str) -> Step:
    """Units arriving as `kind` (receipt, return, transfer_in): no guard. Invalid for any other kind."""
    if kind not in RECEIVING_KINDS:
        raise Invalid(f"Cannot receive as {kind}.", {"kind": [f"One of {', '.join(RECEIVING_KINDS)}."]})
    return Step(kind, on_hand=1, reserved=0, guard=None)


def _one_row(step: Step, *, location: Location, variant: Variant, quantity: int, reason: str, actor: Actor) -> None:
    """Apply `step` to one row with its conditional update and movement. Raises InsufficientStock."""
    guard = step.guard_expression(quantity)
    rows = StockLevel.objects.filter(location=location, variant=variant)
    changed = (rows if guard is None else rows.filter(guard)).update(**step.updates(quantity), **_touch())
    if not changed:
        raise _insufficient(variant, location, quantity)
    _record(step.movement((location.pk, variant.pk), quantity, reason=reason, actor=actor))


def check_count_covers_holds(level: StockLevel, on_hand: int) -> None:
    """A count may not leave fewer units on the shelf than are promised to customers (CountBelowReserved)."""
    if not level.reserved or on_hand >= level.reserved:
        return
    held = held_units([level])[(level.location_id, level.variant_id)]
    if on_hand < held:
        raise CountBelowReserved(
            f"{on_hand} counted, but {held} unit(s) are held for customers and orders: release them or count again.",
            held=held,
        )


def adjust(*, location: Location, variant: Variant, delta: int, reason: str, actor: Actor = SYSTEM) -> StockLevel:
    """Add or remove units for a known cause (breakage, found stock); on hand cannot go below zero."""
    if isinstance(delta, bool) or not isinstance(delta, int) or delta == 0 or abs(delta) > MAX_QUANTITY:
        raise Invalid("delta must be a non-zero whole number.", {"delta": ["A non-zero whole number is required."]})
    if not reason.strip():
        raise Invalid("An adjustment needs a reason.", {"reason": ["This field may not be blank."]})
    with transaction.atomic():
        if delta > 0:
            _ensure_row(location, variant)
            changed = StockLevel.objects.filter(location=location, variant=variant).update(
                on_hand=F("on_hand") + delta, **_touch()
            )
        else:
            changed = StockLevel.objects.filter(
                can_give(-delta, keep_safety=False), location=location, variant=variant
            ).update(on_hand=F("on_hand") + delta, **_touch())
        if not changed:
            raise _insufficient(variant, location, -delta)
        _record(
            _movement(
                level_or_ids=(location.pk, variant.pk),
                kind=MovementKind.ADJUSTMENT,
                actor=actor,
                reason=reason,
                on_hand=delta,
            )
        )
        return _level(location, variant)


def _ensure_row(location: Location, variant: Variant) -> None:
    """The stock row exists afterwards (made empty if it did not)."""
    if StockLevel.objects.filter(location=location, variant=variant).exists():
        return
    try:
        with transaction.atomic():
            StockLevel.objects.create(location=location, variant=variant)
    except IntegrityError:
        pass  # made by a concurrent writer: fine


RECEIVING_KINDS = (MovementKind.RECEIPT, MovementKind.RETURN, MovementKind.TRANSFER_IN)


def receive(
    *,
    location: Location,
    variant: Variant,
    quantity: int,
    kind: str = MovementKind.RECEIPT,
    reason: str = "",
    actor: Actor = SYSTEM,
) -> StockLevel:
    """Units arrive at `location`: a delivery (`receipt`), a resellable `return` or a `transfer_in`."""
    quantity = _check_quantity(quantity)
    step = receiving(kind)
    with transaction.atomic():
        _ensure_row(location, variant)
        _one_row(step, location=location, variant=variant, quantity=quantity, reason=reason, actor=actor)
        return _level(location, variant)


def quarantine(
    *, location: Location, variant: Variant, quantity: int, reason: str = "", actor: Actor = SYSTEM
) -> StockLevel:
    """Damaged units (a return) are held at `location` apart from sellable stock."""
    quantity = _check_quantity(quantity)
    with transaction.atomic():
        _ensure_row(location, variant)
        StockLevel.objects.filter(location=location, variant=variant).update(
            quarantined=F("quarantined") + quantity, **_touch()
        )
        _record(
            _movement(
                level_or_ids=(location.pk, variant.pk),
                kind=MovementKind.QUARANTINE,
                actor=actor,
                reason=reason,
                quarantined=quantity,
            )
        )
        return _level(location, variant)


# --- Holding and taking units ----------------------------------------------------------------------------------


def reserve(*, location: Location, variant: Variant, quantity: int, reason: str = "", actor: Actor = SYSTEM) -> None:
    """Hold `quantity` units at `location`: reserved += n where available >= n. Raises InsufficientStock."""
    quantity = _check_quantity(quantity)
    with transaction.atomic():
        _one_row(RESERVE, location=location, variant=variant, quantity=quantity, reason=reason, actor=actor)


def release(*, location: Location, variant: Variant, quantity: int, reason: str = "", actor: Actor = SYSTEM) -> None:
    """Give back `quantity` held units (a cancelled order or hold). Raises InvalidTransition if fewer are held."""
    quantity = _check_quantity(quantity)
    with transaction.atomic():
        changed = StockLevel.objects.filter(location=location, variant=variant, reserved__gte=quantity).update(
            reserved=F("reserved") - quantity, **_touch()
        )
        if not changed:
            raise InvalidTransition(f"Fewer than {quantity} unit(s) of {variant.sku} are held at {location.code}.")
        _record(
            _movement(
                level_or_ids=(location.pk, variant.pk),
                kind=MovementKind.RELEASE,
                actor=actor,
                reason=reason,
                reserved=-quantity,
            )
        )


def take(*, location: Location, variant: Variant, quantity: int, reason: str = "", actor: Actor = SYSTEM) -> None:
    """A carry-out sale: on_hand -= n where the units not held (safety stock too) cover n. Raises InsufficientStock."""
    quantity = _check_quantity(quantity)
    with transaction.atomic():
        _one_row(TAKE, location=location, variant=variant, quantity=quantity, reason=reason, actor=actor)


def ship_reserved(
    *, location: Location, variant: Variant, quantity: int, reason: str = "", actor: Actor = SYSTEM
) -> None:
    """Held units leave (shipped or collected): on_hand -= n and reserved -= n, in one update."""
    quantity = _check_quantity(quantity)
    with transaction.atomic():
        changed = StockLevel.objects.filter(
            location=location, variant=variant, reserved__gte=quantity, on_hand__gte=quantity
        ).update(on_hand=F("on_hand") - quantity, reserved=F("reserved") - quantity, **_touch())
        if not changed:
            raise InvalidTransition(f"Fewer than {quantity} unit(s) of {variant.sku} are held at {location.code}.")
        _record(
            _movement(
                level_or_ids=(location.pk, variant.pk),
                kind=MovementKind.SALE,
                actor=actor,
                reason=reason,
                on_hand=-quantity,
                reserved=-quantity,
            )
        )
