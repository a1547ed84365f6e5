"""Sourcing an order: which locations serve each line, and taking or holding their units."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from inventory.available import available, lapsed_expression
from inventory.models import (
    Reservation,
    StockLevel,
    StockMovement,
)
from inventory.services.stock import REASON_MAX_LENGTH, RESERVE, TAKE, _check_quantity, _insufficient, _record
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Location, LocationKind, Variant
from omni.errors import InsufficientStock, Invalid

CARRY_OUT = "carry_out"
SHIP_TO_HOME = "ship_to_home"
CLICK_AND_COLLECT = "click_and_collect"
SHIP_TO_STORE = "ship_to_store"
FULFILMENTS = (CARRY_OUT, SHIP_TO_HOME, CLICK_AND_COLLECT, SHIP_TO_STORE)


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
    for row in rows.annotate(lapsed=lapsed_expression()):
        usable = _usable(row.on_hand, row.reserved, row.safety_stock, row.lapsed, fulfilment)
        if usable > 0:
            found.setdefault(row.variant_id, []).append((row.pk, row.location, usable))
    return found


def _usable(on_hand: int, reserved: int, safety_stock: int, lapsed: int, fulfilment: str) -> int:
    """Units a fulfilment may use: a carry out may take the safety stock, the others may not."""
    return max(available(on_hand, reserved, safety_stock, lapsed=lapsed, keep_safety=fulfilment != CARRY_OUT), 0)


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
        .annotate(lapsed=lapsed_expression())
        .values_list("pk", "on_hand", "reserved", "safety_stock", "lapsed")
    )
    usable = {
        pk: _usable(on_hand, reserved, safety, lapsed, fulfilment) for pk, on_hand, reserved, safety, lapsed in rows
    }
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
        step = TAKE if fulfilment == CARRY_OUT else RESERVE
        changed = StockLevel.objects.filter(step.guard_expression(quantity), pk=level_id).update(
            **step.updates(quantity), updated_at=now
        )
        if not changed:
            raise _insufficient(line.variant, location, quantity)
        movements.append(step.movement((location.pk, line.variant.pk), quantity, reason=reason, actor=actor))
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
