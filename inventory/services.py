"""Writes of stock: every change of a stock row comes with its StockMovement, in one transaction.

The rules, in one place:

- available = on_hand - reserved - safety_stock (floored at 0 when shown).
- Taking or holding units is ONE conditional UPDATE whose WHERE clause says
  there is enough; the number of rows it changed decides success. Two channels
  after the last unit therefore get one success and one InsufficientStock, on
  PostgreSQL and SQLite alike, and on_hand never goes below zero.
- Holding (reserve) respects the safety stock; carry out (take) does not: the
  safety stock keeps units back from remote channels, but a customer holding
  the item at the till may buy it. Neither may touch units reserved for someone
  else.
- A count is the physical truth: it sets on_hand to what was counted (>= 0),
  even below what is reserved. Such a row shows 0 available and its shortfall
  (reserved - on_hand) until stock arrives or holds are released.
- Where several rows must be locked (allocation of an order), they are locked
  with select_for_update() ordered by primary key, so two orders never wait on
  each other in opposite orders.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from inventory.models import (
    MovementKind,
    NetworkAvailability,
    ProposalKind,
    ProposalStatus,
    ReplenishmentProposal,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from omni import webhooks
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Location, LocationKind, Variant
from omni.concurrency import retry_on_conflict
from omni.errors import CountBelowReserved, InsufficientStock, Invalid, InvalidTransition, NotFound
from omni.uploads import whole_number

MAX_ON_HAND = 1_000_000
MAX_QUANTITY = 100_000
DEFAULT_HOLD_MINUTES = 120
MAX_HOLD_MINUTES = 7 * 24 * 60
REASON_MAX_LENGTH = 200

CARRY_OUT = "carry_out"
SHIP_TO_HOME = "ship_to_home"
CLICK_AND_COLLECT = "click_and_collect"
SHIP_TO_STORE = "ship_to_store"
FULFILMENTS = (CARRY_OUT, SHIP_TO_HOME, CLICK_AND_COLLECT, SHIP_TO_STORE)


# --- Small helpers ---------------------------------------------------------------------------------------------


def _movement(
    *,
    level_or_ids: StockLevel | tuple[int, int],
    kind: str,
    actor: Actor,
    reason: str,
    on_hand: int = 0,
    reserved: int = 0,
    quarantined: int = 0,
) -> StockMovement:
    """An unsaved ledger entry (the caller saves it, alone or in bulk)."""
    if isinstance(level_or_ids, StockLevel):
        location_id, variant_id = level_or_ids.location_id, level_or_ids.variant_id
    else:
        location_id, variant_id = level_or_ids
    return StockMovement(
        location_id=location_id,
        variant_id=variant_id,
        kind=kind,
        on_hand_delta=on_hand,
        reserved_delta=reserved,
        quarantined_delta=quarantined,
        reason=(reason or kind)[:REASON_MAX_LENGTH],
        user=actor.user,
        api_client=actor.api_client,
    )


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
    rows = StockLevel.objects.filter(variant_id__in=variant_ids, location__is_active=True).values_list(
        "variant_id", "location_id", "on_hand", "reserved", "safety_stock"
    )
    for variant_id, location_id, on_hand, reserved, safety_stock in rows:
        on_hand_change, reserved_change = deltas[variant_id].get(location_id, (0, 0))
        now_units[variant_id] += max(on_hand - reserved - safety_stock, 0)
        before_units[variant_id] += max((on_hand - on_hand_change) - (reserved - reserved_change) - safety_stock, 0)
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
    """Units each stock row holds now: its reserved units less those of active holds past their expiry (one query)."""
    now = now or timezone.now()
    lapsed = {
        (row["location_id"], row["variant_id"]): row["units"]
        for row in Reservation.objects.filter(
            status=ReservationStatus.ACTIVE,
            expires_at__lte=now,
            location_id__in={level.location_id for level in levels},
            variant_id__in={level.variant_id for level in levels},
        )
        .values("location_id", "variant_id")
        .annotate(units=Sum("quantity"))
        .order_by()
    }
    return {
        (level.location_id, level.variant_id): max(
            level.reserved - lapsed.get((level.location_id, level.variant_id), 0), 0
        )
        for level in levels
    }


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
                location=location, variant=variant, on_hand__gte=F("reserved") - delta
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
    if kind not in RECEIVING_KINDS:
        raise Invalid(f"Cannot receive as {kind}.", {"kind": [f"One of {', '.join(RECEIVING_KINDS)}."]})
    with transaction.atomic():
        _ensure_row(location, variant)
        StockLevel.objects.filter(location=location, variant=variant).update(
            on_hand=F("on_hand") + quantity, **_touch()
        )
        _record(
            _movement(level_or_ids=(location.pk, variant.pk), kind=kind, actor=actor, reason=reason, on_hand=quantity)
        )
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
        changed = StockLevel.objects.filter(
            location=location, variant=variant, on_hand__gte=F("reserved") + F("safety_stock") + quantity
        ).update(reserved=F("reserved") + quantity, **_touch())
        if not changed:
            raise _insufficient(variant, location, quantity)
        _record(
            _movement(
                level_or_ids=(location.pk, variant.pk),
                kind=MovementKind.RESERVATION,
                actor=actor,
                reason=reason,
                reserved=quantity,
            )
        )


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
    """A carry-out sale: on_hand -= n where on_hand - reserved >= n. Raises InsufficientStock."""
    quantity = _check_quantity(quantity)
    with transaction.atomic():
        changed = StockLevel.objects.filter(
            location=location, variant=variant, on_hand__gte=F("reserved") + quantity
        ).update(on_hand=F("on_hand") - quantity, **_touch())
        if not changed:
            raise _insufficient(variant, location, quantity)
        _record(
            _movement(
                level_or_ids=(location.pk, variant.pk),
                kind=MovementKind.SALE,
                actor=actor,
                reason=reason,
                on_hand=-quantity,
            )
        )


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


# --- Holds for customers (click & collect) ---------------------------------------------------------------------


@retry_on_conflict
def hold(
    *,
    location: Location,
    variant: Variant,
    quantity: int,
    customer_id: int | None = None,
    order_id: int | None = None,
    hold_minutes: int | None = DEFAULT_HOLD_MINUTES,
    reason: str = "",
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Reservation:
    """Reserve units and record the hold. `hold_minutes=None` (order holds) never expires.

    Raises InsufficientStock, NotFound (unknown customer), Invalid (hold_minutes out of range).
    """
    quantity = _check_quantity(quantity)
    if hold_minutes is not None and (
        isinstance(hold_minutes, bool) or not isinstance(hold_minutes, int) or not 1 <= hold_minutes <= MAX_HOLD_MINUTES
    ):
        raise Invalid(
            "hold_minutes is out of range.",
            {"hold_minutes": [f"Ensure this value is between 1 and {MAX_HOLD_MINUTES}."]},
        )
    if customer_id is not None:
        customer_model = apps.get_model("customers", "Customer")
        if not customer_model.objects.filter(pk=customer_id).exists():
            raise NotFound(f"No customer {customer_id}.")
    now = now or timezone.now()
    with transaction.atomic():
        reservation = Reservation.objects.create(
            variant=variant,
            location=location,
            quantity=quantity,
            customer_id=customer_id,
            order_id=order_id,
            expires_at=None if hold_minutes is None else now + timedelta(minutes=hold_minutes),
            reason=reason[:REASON_MAX_LENGTH],
            user=actor.user,
            api_client=actor.api_client,
        )
        reserve(
            location=location,
            variant=variant,
            quantity=quantity,
            reason=reason or f"hold #{reservation.pk}",
            actor=actor,
        )
    return reservation


def _close_hold(reservation: Reservation, status: str, now: datetime) -> bool:
    """Move an active hold to `status`, once: True for the one caller that did it."""
    changed = Reservation.objects.filter(pk=reservation.pk, status=ReservationStatus.ACTIVE).update(
        status=status, closed_at=now
    )
    if changed:
        reservation.status, reservation.closed_at = status, now
    return bool(changed)


@retry_on_conflict
def cancel_hold(*, reservation: Reservation, reason: str = "", actor: Actor = SYSTEM) -> Reservation:
    """Release an active hold. A hold already released, collected or expired: InvalidTransition."""
    with transaction.atomic():
        if not _close_hold(reservation, ReservationStatus.RELEASED, timezone.now()):
            current = Reservation.objects.filter(pk=reservation.pk).values_list("status", flat=True).first()
            raise InvalidTransition(f"Reservation {reservation.pk} is {current}, not active.")
        release(
            location=reservation.location,
            variant=reservation.variant,
            quantity=reservation.quantity,
            reason=reason or f"hold #{reservation.pk} cancelled",
            actor=actor,
        )
    return reservation


@retry_on_conflict
def collect_hold(*, reservation: Reservation, reason: str = "", actor: Actor = SYSTEM) -> Reservation:
    """The held units are handed over or shipped: they leave stock and the hold is consumed."""
    with transaction.atomic():
        if not _close_hold(reservation, ReservationStatus.CONSUMED, timezone.now()):
            current = Reservation.objects.filter(pk=reservation.pk).values_list("status", flat=True).first()
            raise InvalidTransition(f"Reservation {reservation.pk} is {current}, not active.")
        ship_reserved(
            location=reservation.location,
            variant=reservation.variant,
            quantity=reservation.quantity,
            reason=reason or f"hold #{reservation.pk} collected",
            actor=actor,
        )
    return reservation


def release_expired_holds(now: datetime | None = None, *, limit: int = 10_000) -> int:
    """Release the active holds whose time has passed; returns how many this run released.

    Each hold is closed by a conditional update on its status in its own
    transaction, so two workers running at once release each hold once, and a
    second run finds nothing to do.
    """
    now = now or timezone.now()
    due = list(
        Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=now)
        .select_related("variant", "location")
        .order_by("pk")[:limit]
    )
    released = 0
    for reservation in due:
        with transaction.atomic():
            if not _close_hold(reservation, ReservationStatus.EXPIRED, now):
                continue
            release(
                location=reservation.location,
                variant=reservation.variant,
                quantity=reservation.quantity,
                reason=f"hold #{reservation.pk} expired",
                actor=SYSTEM,
            )
            released += 1
    return released


def _order_holds(order_id: int) -> list[Reservation]:
    return list(
        Reservation.objects.select_related("variant", "location")
        .filter(order_id=order_id, status=ReservationStatus.ACTIVE)
        .order_by("pk")
    )


def ship_order_holds(*, order_id: int, reason: str = "", actor: Actor = SYSTEM) -> int:
    """An order is shipped or collected: its active holds leave stock. Returns the units shipped."""
    with transaction.atomic():
        holds = _order_holds(order_id)
        for reservation in holds:
            collect_hold(reservation=reservation, reason=reason or f"order {order_id} handed over", actor=actor)
    return sum(h.quantity for h in holds)


def release_order_holds(*, order_id: int, reason: str = "", actor: Actor = SYSTEM) -> int:
    """An order is cancelled: its active holds are released. Returns the units released."""
    with transaction.atomic():
        holds = _order_holds(order_id)
        for reservation in holds:
            cancel_hold(reservation=reservation, reason=reason or f"order {order_id} cancelled", actor=actor)
    return sum(h.quantity for h in holds)


# --- Sourcing an order ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LineNeed:
    """One order line as sourcing sees it."""

    variant: Variant
    quantity: int


@dataclass(frozen=True)
class Allocated:
    """Units of one line served by one location: taken at once (carry out) or reserved."""

    variant: Variant
    location: Location
    quantity: int
    taken: bool
    reservation_id: int | None = None

    @property
    def reserved(self) -> bool:
        return not self.taken


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) on a 6371 km sphere."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi, dlambda = phi2 - phi1, math.radians(lon2 - lon1)
    a = math.sin(dphi / 2) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(dlambda / 2) ** 2
    return 2 * 6371.0 * math.asin(min(1.0, math.sqrt(a)))


def prefers_warehouses() -> bool:
    """Whether shipping sources warehouses before stores (setting INVENTORY_PREFER_WAREHOUSES, default True)."""
    return bool(getattr(settings, "INVENTORY_PREFER_WAREHOUSES", True))


def allocate(
    *,
    lines: Sequence[LineNeed],
    fulfilment: str,
    selling_location: Location | None = None,
    pickup_location: Location | None = None,
    near: tuple[float, float] | None = None,
    allow_split: bool = False,
    order_id: int | None = None,
    prefer_warehouses: bool | None = None,
    actor: Actor = SYSTEM,
) -> list[Allocated]:
    """Choose the locations that serve each line and take or hold their units.

    The sourcing policy:
    - carry_out: the selling store only, units taken at once (a `sale`);
    - click_and_collect: the pick-up store first, then the locations nearest to it;
    - ship_to_store: the locations nearest to the pick-up store;
    - ship_to_home: locations that ship to customers, nearest to `near`;
    in every case but carry out warehouses come before stores (unless
    `prefer_warehouses` or the setting says otherwise) and units are reserved.
    A line is served by one location unless `allow_split`.

    Call inside the caller's transaction: when a line cannot be served this
    raises InsufficientStock naming the SKU, and the caller's rollback undoes
    the lines already served. The planned stock rows are locked with
    select_for_update() in primary-key order before they change; if stock moved
    between the plan and the lock, the plan is made again (three times at most).
    With `order_id`, each reserved part is recorded as a hold of that order.
    """
    if fulfilment not in FULFILMENTS:
        raise Invalid(f"Unknown fulfilment {fulfilment}.", {"fulfilment": [f"One of {', '.join(FULFILMENTS)}."]})
    for line in lines:
        _check_quantity(line.quantity)
    if fulfilment == CARRY_OUT and selling_location is None:
        raise Invalid("Carry out needs the selling store.", {"location": ["Required for carry out."]})
    if fulfilment in (CLICK_AND_COLLECT, SHIP_TO_STORE) and pickup_location is None:
        raise Invalid("This fulfilment needs a pick-up store.", {"pickup_location": ["Required."]})
    if prefer_warehouses is None:
        prefer_warehouses = prefers_warehouses()
    if near is None and pickup_location is not None:
        near = (float(pickup_location.latitude), float(pickup_location.longitude))

    # A carry out inside the caller's transaction reads the selling store's rows locked, so the plan
    # is made on figures nobody can change; elsewhere the plan is checked again under the lock.
    locked_read = fulfilment == CARRY_OUT and transaction.get_connection().in_atomic_block
    for _attempt in range(3):
        found = _candidates({line.variant.pk for line in lines}, fulfilment, selling_location, lock=locked_read)
        plan = _plan(
            found,
            lines=lines,
            fulfilment=fulfilment,
            selling_location=selling_location,
            pickup_location=pickup_location,
            near=near,
            allow_split=allow_split,
            prefer_warehouses=prefer_warehouses,
        )
        # Nothing is written before this point: a plan that cannot be made leaves the caller's
        # transaction usable. From here a failure aborts the caller's transaction (no savepoint).
        with transaction.atomic(savepoint=False):
            if not locked_read and not _still_fits(plan, fulfilment):
                continue
            return _apply(plan, fulfilment=fulfilment, order_id=order_id, actor=actor)
    raise InsufficientStock("Stock kept changing while the order was sourced; try again.")


def _candidates(
    variant_ids: Iterable[int], fulfilment: str, selling_location: Location | None, *, lock: bool = False
) -> dict[int, list[tuple[int, Location, int]]]:
    """(row id, location, units usable) per variant, from one query over active locations.

    With `lock` the rows are locked (only the stock rows, in primary-key order).
    """
    rows = StockLevel.objects.filter(variant_id__in=list(variant_ids), location__is_active=True).select_related(
        "location"
    )
    if fulfilment == CARRY_OUT:
        rows = rows.filter(location=selling_location)
    elif fulfilment == SHIP_TO_HOME:
        rows = rows.filter(location__ships_to_customers=True)
    if lock:
        rows = rows.select_for_update(of=("self",)).order_by("pk")
    found: dict[int, list[tuple[int, Location, int]]] = {}
    for row in rows:
        usable = _usable(row.on_hand, row.reserved, row.safety_stock, fulfilment)
        if usable > 0:
            found.setdefault(row.variant_id, []).append((row.pk, row.location, usable))
    return found


def _usable(on_hand: int, reserved: int, safety_stock: int, fulfilment: str) -> int:
    """Units a fulfilment may use: a carry out may take the safety stock, the others may not."""
    if fulfilment == CARRY_OUT:
        return on_hand - reserved
    return max(on_hand - reserved - safety_stock, 0)


_Plan = list[tuple[LineNeed, int, Location, int]]  # (line, stock row id, location, units)


def _plan(
    found: dict[int, list[tuple[int, Location, int]]],
    *,
    lines: Sequence[LineNeed],
    fulfilment: str,
    selling_location: Location | None,
    pickup_location: Location | None,
    near: tuple[float, float] | None,
    allow_split: bool,
    prefer_warehouses: bool,
) -> _Plan:
    """Which rows serve which lines; raises InsufficientStock naming the first SKU that cannot be served."""
    left: dict[int, int] = {}  # row id -> units still usable by later lines of this order
    plan: _Plan = []
    for line in lines:
        ranked = []
        for level_id, location, usable in found.get(line.variant.pk, []):
            left.setdefault(level_id, usable)
            distance = (
                distance_km(near[0], near[1], float(location.latitude), float(location.longitude))
                if near is not None
                else None
            )
            first = (
                0
                if (
                    pickup_location is not None
                    and fulfilment == CLICK_AND_COLLECT
                    and location.pk == pickup_location.pk
                )
                else 1
            )
            kind_rank = 0 if (not prefer_warehouses or location.kind == LocationKind.WAREHOUSE) else 1
            ranked.append(
                (first, kind_rank, distance if distance is not None else 0.0, location.code, level_id, location)
            )
        ranked.sort(key=lambda item: item[:5])
        need = line.quantity
        if allow_split:
            for *_, level_id, location in ranked:
                part = min(need, left[level_id])
                if part > 0:
                    plan.append((line, level_id, location, part))
                    left[level_id] -= part
                    need -= part
                if need == 0:
                    break
        else:
            for *_, level_id, location in ranked:
                if left[level_id] >= need:
                    plan.append((line, level_id, location, need))
                    left[level_id] -= need
                    need = 0
                    break
        if need > 0:
            where = selling_location if fulfilment == CARRY_OUT else None
            raise _insufficient(line.variant, where, line.quantity)
    return plan


def _still_fits(plan: _Plan, fulfilment: str) -> bool:
    """Lock the planned rows in primary-key order and check the plan against what they hold now."""
    wanted: dict[int, int] = {}
    for _line, level_id, _location, quantity in plan:
        wanted[level_id] = wanted.get(level_id, 0) + quantity
    rows = (
        StockLevel.objects.select_for_update()
        .filter(pk__in=list(wanted))
        .order_by("pk")
        .values_list("pk", "on_hand", "reserved", "safety_stock")
    )
    usable = {pk: _usable(on_hand, reserved, safety, fulfilment) for pk, on_hand, reserved, safety in rows}
    return all(usable.get(level_id, 0) >= quantity for level_id, quantity in wanted.items())


def _apply(plan: _Plan, *, fulfilment: str, order_id: int | None, actor: Actor) -> list[Allocated]:
    """Take or hold the planned units (rows already locked), with their movements and holds written in bulk.

    Each change is still the conditional update of `take` / `reserve`: if one finds too little
    (it cannot, under the lock), InsufficientStock aborts the caller's transaction.
    """
    reason = f"order {order_id}" if order_id is not None else fulfilment
    now = timezone.now()
    movements: list[StockMovement] = []
    holds: list[Reservation] = []
    allocated: list[Allocated] = []
    for line, level_id, location, quantity in plan:
        if fulfilment == CARRY_OUT:
            changed = StockLevel.objects.filter(pk=level_id, on_hand__gte=F("reserved") + quantity).update(
                on_hand=F("on_hand") - quantity, updated_at=now
            )
            kind, deltas = MovementKind.SALE, {"on_hand": -quantity}
        else:
            changed = StockLevel.objects.filter(
                pk=level_id, on_hand__gte=F("reserved") + F("safety_stock") + quantity
            ).update(reserved=F("reserved") + quantity, updated_at=now)
            kind, deltas = MovementKind.RESERVATION, {"reserved": quantity}
        if not changed:
            raise _insufficient(line.variant, location, quantity)
        movements.append(
            _movement(level_or_ids=(location.pk, line.variant.pk), kind=kind, actor=actor, reason=reason, **deltas)
        )
        if fulfilment != CARRY_OUT and order_id is not None:
            holds.append(
                Reservation(
                    variant=line.variant,
                    location=location,
                    quantity=quantity,
                    order_id=order_id,
                    expires_at=None,
                    reason=reason[:REASON_MAX_LENGTH],
                    user=actor.user,
                    api_client=actor.api_client,
                )
            )
        allocated.append(Allocated(line.variant, location, quantity, taken=fulfilment == CARRY_OUT))
    _record(*movements)
    if holds:
        Reservation.objects.bulk_create(holds)
        held = iter(holds)
        allocated = [
            a if a.taken else Allocated(a.variant, a.location, a.quantity, taken=False, reservation_id=next(held).pk)
            for a in allocated
        ]
    return allocated


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


# --- Transfers between locations -------------------------------------------------------------------------------


def request_transfer(
    *,
    from_location: Location,
    to_location: Location,
    variant: Variant,
    quantity: int,
    reason: str = "",
    actor: Actor = SYSTEM,
) -> Transfer:
    """Ask for units to move; they are held (reserved) at the source until shipped. Raises InsufficientStock."""
    quantity = _check_quantity(quantity)
    if from_location.pk == to_location.pk:
        raise Invalid("A transfer needs two locations.", {"to_location": ["Must differ from the source."]})
    with transaction.atomic():
        transfer = Transfer.objects.create(
            variant=variant,
            from_location=from_location,
            to_location=to_location,
            quantity=quantity,
            reason=reason[:REASON_MAX_LENGTH],
            user=actor.user,
            api_client=actor.api_client,
        )
        reserve(
            location=from_location,
            variant=variant,
            quantity=quantity,
            reason=f"transfer T{transfer.pk} to {to_location.code}",
            actor=actor,
        )
    return transfer


def _move_transfer(transfer: Transfer, source: str, target: str, **stamps: Any) -> None:
    changed = Transfer.objects.filter(pk=transfer.pk, status=source).update(status=target, **stamps)
    if not changed:
        current = Transfer.objects.filter(pk=transfer.pk).values_list("status", flat=True).first()
        raise InvalidTransition(f"Transfer T{transfer.pk} is {current}, not {source}.")
    transfer.status = target
    for name, value in stamps.items():
        setattr(transfer, name, value)


def ship_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """The held units leave the source (`transfer_out`): requested -> in transit."""
    with transaction.atomic():
        _move_transfer(transfer, TransferStatus.REQUESTED, TransferStatus.IN_TRANSIT, shipped_at=timezone.now())
        changed = StockLevel.objects.filter(
            location_id=transfer.from_location_id,
            variant_id=transfer.variant_id,
            reserved__gte=transfer.quantity,
            on_hand__gte=transfer.quantity,
        ).update(on_hand=F("on_hand") - transfer.quantity, reserved=F("reserved") - transfer.quantity, **_touch())
        if not changed:
            raise InsufficientStock(f"The units of transfer T{transfer.pk} are no longer at the source.")
        _record(
            _movement(
                level_or_ids=(transfer.from_location_id, transfer.variant_id),
                kind=MovementKind.TRANSFER_OUT,
                actor=actor,
                reason=f"transfer T{transfer.pk}",
                on_hand=-transfer.quantity,
                reserved=-transfer.quantity,
            )
        )
    return transfer


def receive_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """The units arrive (`transfer_in`): in transit -> received."""
    with transaction.atomic():
        _move_transfer(transfer, TransferStatus.IN_TRANSIT, TransferStatus.RECEIVED, received_at=timezone.now())
        receive(
            location=transfer.to_location,
            variant=transfer.variant,
            quantity=transfer.quantity,
            kind=MovementKind.TRANSFER_IN,
            reason=f"transfer T{transfer.pk}",
            actor=actor,
        )
    return transfer


def cancel_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """A requested transfer is dropped; its held units are released at the source."""
    with transaction.atomic():
        _move_transfer(transfer, TransferStatus.REQUESTED, TransferStatus.CANCELLED)
        release(
            location=transfer.from_location,
            variant=transfer.variant,
            quantity=transfer.quantity,
            reason=f"transfer T{transfer.pk} cancelled",
            actor=actor,
        )
    return transfer


# --- Pull replenishment ----------------------------------------------------------------------------------------

VELOCITY_WEEKS = 4
MIN_COVER_DAYS = 7
TARGET_COVER_DAYS = 21


@dataclass(frozen=True)
class ReplenishmentRun:
    proposals: int
    replenish: int
    rebalance: int


def propose_replenishment(
    *,
    today: date | None = None,
    weeks: int = VELOCITY_WEEKS,
    min_cover_days: int = MIN_COVER_DAYS,
    target_cover_days: int = TARGET_COVER_DAYS,
) -> ReplenishmentRun:
    """Compute tonight's proposals from sales velocity; replaces the open proposals of earlier runs.

    Velocity is the store's `sale` movements over the last `weeks` weeks per
    day. A store whose available units cover fewer than `min_cover_days` days
    gets a proposal up to `target_cover_days` of cover: from the warehouse
    with the most available units (replenish), else from the store nearest
    to it that holds the SKU and sold none of it in the period (rebalance).
    Four queries whatever the size of the network; running it twice a day
    leaves the same open proposals.
    """
    today = today or timezone.localdate()
    since = timezone.make_aware(datetime.combine(today - timedelta(weeks=weeks), time.min))
    days = Decimal(weeks * 7)
    sold: dict[tuple[int, int], int] = {
        (row["location_id"], row["variant_id"]): -row["units"]
        for row in StockMovement.objects.filter(kind=MovementKind.SALE, created_at__gte=since)
        .values("location_id", "variant_id")
        .order_by()
        .annotate(units=Sum("on_hand_delta"))
    }
    variant_ids = {variant_id for _, variant_id in sold}
    rows = list(
        StockLevel.objects.filter(variant_id__in=variant_ids, location__is_active=True).select_related("location")
    )
    by_variant: dict[int, list[StockLevel]] = {}
    for row in rows:
        by_variant.setdefault(row.variant_id, []).append(row)

    proposals: list[ReplenishmentProposal] = []
    for variant_id, levels in by_variant.items():
        spare = {row.pk: row.available for row in levels}  # what sources can still give tonight
        for row in levels:
            units = sold.get((row.location_id, variant_id), 0)
            if row.location.kind != LocationKind.STORE or units <= 0:
                continue
            per_day = Decimal(units) / days
            cover = Decimal(row.available) / per_day
            if cover >= min_cover_days:
                continue
            need = math.ceil(per_day * target_cover_days) - row.available
            warehouses = sorted(
                (r for r in levels if r.location.kind == LocationKind.WAREHOUSE and spare[r.pk] > 0),
                key=lambda r: (-spare[r.pk], r.location.code),
            )
            idle_stores = sorted(
                (
                    r
                    for r in levels
                    if r.location.kind == LocationKind.STORE
                    and r.pk != row.pk
                    and spare[r.pk] > 0
                    and sold.get((r.location_id, variant_id), 0) == 0
                ),
                key=lambda r: distance_km(
                    float(row.location.latitude),
                    float(row.location.longitude),
                    float(r.location.latitude),
                    float(r.location.longitude),
                ),
            )
            for source, kind in [(w, ProposalKind.REPLENISH) for w in warehouses] + [
                (s, ProposalKind.REBALANCE) for s in idle_stores
            ]:
                if need <= 0:
                    break
                quantity = min(need, spare[source.pk])
                spare[source.pk] -= quantity
                need -= quantity
                proposals.append(
                    ReplenishmentProposal(
                        kind=kind,
                        variant_id=variant_id,
                        from_location_id=source.location_id,
                        to_location_id=row.location_id,
                        quantity=quantity,
                        daily_sales=per_day.quantize(Decimal("0.01")),
                        cover_days=cover.quantize(Decimal("0.1")),
                        computed_on=today,
                    )
                )
    with transaction.atomic():
        ReplenishmentProposal.objects.filter(status=ProposalStatus.PROPOSED).delete()
        ReplenishmentProposal.objects.bulk_create(proposals, batch_size=1000)
    return ReplenishmentRun(
        proposals=len(proposals),
        replenish=sum(1 for p in proposals if p.kind == ProposalKind.REPLENISH),
        rebalance=sum(1 for p in proposals if p.kind == ProposalKind.REBALANCE),
    )


def accept_proposal(*, proposal: ReplenishmentProposal, actor: Actor = SYSTEM) -> Transfer:
    """Turn an open proposal into a requested transfer (its units are held at the source)."""
    with transaction.atomic():
        locked = (
            ReplenishmentProposal.objects.select_for_update()
            .select_related("variant", "from_location", "to_location")
            .get(pk=proposal.pk)
        )
        if locked.status != ProposalStatus.PROPOSED:
            raise InvalidTransition(f"The proposal is {locked.status}, not proposed.")
        transfer = request_transfer(
            from_location=locked.from_location,
            to_location=locked.to_location,
            variant=locked.variant,
            quantity=locked.quantity,
            reason=f"{locked.get_kind_display()} (cover {locked.cover_days} days)",
            actor=actor,
        )
        locked.status, locked.transfer = ProposalStatus.ACCEPTED, transfer
        locked.save(update_fields=["status", "transfer"])
    return transfer
