"""Sourcing an order: which locations serve each line, and taking or holding their units."""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from inventory.available import available, lapsed_sql
from inventory.models import StockLevel
from inventory.services import guarded
from inventory.services.stock import RESERVE, TAKE, _check_quantity, _insufficient, announce_availability
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Location, LocationKind, Variant
from omni.catalog.selectors import Places, places
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


def distances_to_points(lat1: float, lon1: float) -> Callable[[float, float, float], float]:
    """Great-circle distance (haversine) on a 6371 km sphere from one point, as a function of the other given as
    (latitude in radians, its cosine, longitude in degrees).

    What depends on either point alone is computed once: for the distances
    from one place to hundreds whose radians a process keeps (availability
    nearest first).
    """
    phi1 = math.radians(lat1)
    cos_phi1 = math.cos(phi1)
    radians, sin, asin, sqrt = math.radians, math.sin, math.asin, math.sqrt

    def distance(phi2: float, cos_phi2: float, lon2: float) -> float:
        dphi, dlambda = phi2 - phi1, radians(lon2 - lon1)
        a = sin(dphi / 2) ** 2 + cos_phi1 * cos_phi2 * sin(dlambda / 2) ** 2
        return 2 * 6371.0 * asin(min(1.0, sqrt(a)))

    return distance


def distances_from(lat1: float, lon1: float) -> Callable[[float, float], float]:
    """Great-circle distance (haversine) on a 6371 km sphere from one point, as a function of the other's
    latitude and longitude in degrees."""
    to_point = distances_to_points(lat1, lon1)

    def distance(lat2: float, lon2: float) -> float:
        phi2 = math.radians(lat2)
        return to_point(phi2, math.cos(phi2), lon2)

    return distance


def distance_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance (haversine) on a 6371 km sphere."""
    return distances_from(lat1, lon1)(lat2, lon2)


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
    the lines already served. A carry out needs no plan: the selling store's
    rows give every line's units in one guarded statement (`_take_at_store`),
    and only when they cannot does the order go the way of the others, whose
    answer is the one given. The plan is made
    from a plain read (`_candidates`); each planned
    row then changes by one guarded statement (inventory/services/guarded.py),
    in primary-key order. If a row can no longer give its units (the stock
    moved since the read), nothing of that plan stays written and the plan is
    made again (three times at most, then InsufficientStock). With `order_id`,
    each reserved part is recorded as a hold of that order.
    """
    if fulfilment not in FULFILMENTS:
        raise Invalid(f"Unknown fulfilment {fulfilment}.", {"fulfilment": [f"One of {', '.join(FULFILMENTS)}."]})
    for line in lines:
        _check_quantity(line.quantity)
    if fulfilment == CARRY_OUT and selling_location is None:
        raise Invalid("Carry out needs the selling store.", {"location": ["Required for carry out."]})
    if fulfilment in (CLICK_AND_COLLECT, SHIP_TO_STORE) and pickup_location is None:
        raise Invalid("This fulfilment needs a pick-up store.", {"pickup_location": ["Required."]})
    if not lines:
        return []  # an order of gift cards alone takes no stock
    if prefer_warehouses is None:
        prefer_warehouses = prefers_warehouses()
    if near is None and pickup_location is not None:
        near = (float(pickup_location.latitude), float(pickup_location.longitude))

    if fulfilment == CARRY_OUT and selling_location is not None:
        taken = _take_at_store(lines, selling_location, order_id=order_id, actor=actor)
        if taken is not None:
            return taken
    for _attempt in range(3):
        found = _candidates({line.variant.pk for line in lines}, fulfilment, selling_location)
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
        # transaction usable, and so does a plan the stock moved under (nothing of it stays written).
        with transaction.atomic(savepoint=False):
            allocated = _apply(plan, fulfilment=fulfilment, order_id=order_id, actor=actor)
        if allocated is not None:
            return allocated
    raise InsufficientStock("Stock kept changing while the order was sourced; try again.")


def _take_at_store(
    lines: Sequence[LineNeed], store: Location, *, order_id: int | None, actor: Actor
) -> list[Allocated] | None:
    """A carry out without reading first: None when it cannot be made so (nothing written).

    A carry out takes from the selling store only, so its stock rows are
    known: one guarded statement (guarded.apply_at) locks the store's rows of
    the lines' variants in primary-key order and takes every line's units,
    all or nothing, with a movement a line. None when any row cannot give
    (missing, the store inactive, too few units not held): the caller then
    plans from a read, which names the line that cannot be served exactly
    as before. A guarded UPDATE that changes no row writes nothing and does
    not abort the transaction, so no savepoint is needed.
    """
    reason = f"order {order_id}" if order_id is not None else CARRY_OUT
    taken = guarded.apply_at(
        TAKE,
        store.pk,
        [(line.variant.pk, line.quantity) for line in lines],
        reason=reason,
        actor=actor,
        now=timezone.now(),
    )
    if not taken:
        return None
    announce_availability((store.pk, line.variant.pk, TAKE.on_hand * line.quantity, 0) for line in lines)
    return [Allocated(line.variant, store, line.quantity, taken=True) for line in lines]


# The kept places (omni.catalog.selectors) and their locations by id, made once for each Places read.
_by_id: tuple[Places, dict[int, Location]] | None = None


def _locations() -> dict[int, Location]:
    """Every location by id, from the channels and locations this process keeps (read, never changed)."""
    global _by_id
    kept = places()
    held = _by_id
    if held is None or held[0] is not kept:
        held = _by_id = (kept, {location.pk: location for location in kept.locations.values()})
    return held[1]


_ROW = ("id", "location", "variant", "on_hand", "reserved", "safety_stock")


def _candidates_sql(variant_ids: Sequence[int], location_id: int | None) -> tuple[str, list[Any]]:
    """The read of the stock rows of these variants (at one location, or at all) with the units of their lapsed
    holds (available.py's term): the same text on every engine."""
    meta = StockLevel._meta
    column = {field.name: field.column for field in meta.concrete_fields}
    lapsed, params = lapsed_sql("s")
    where = f"s.{column['variant']} IN ({', '.join(['%s'] * len(variant_ids))})"
    params = [*params, *variant_ids]
    if location_id is not None:
        where += f" AND s.{column['location']} = %s"
        params.append(location_id)
    selected = ", ".join(f"s.{column[name]}" for name in _ROW)
    return f"SELECT {selected}, {lapsed} FROM {meta.db_table} AS s WHERE {where}", params


def _candidates(
    variant_ids: Iterable[int], fulfilment: str, selling_location: Location | None
) -> dict[int, list[tuple[int, Location, int]]]:
    """(row id, location, units usable) per variant over active locations, from one plain read (no lock).

    The stock rows alone are read; their locations are the ones this process
    keeps (omni.catalog.selectors.places), so no join builds them again.
    """
    at_store = selling_location.pk if fulfilment == CARRY_OUT and selling_location is not None else None
    with connection.cursor() as cursor:
        cursor.execute(*_candidates_sql(sorted(set(variant_ids)), at_store))
        rows = cursor.fetchall()
    locations = _locations()
    found: dict[int, list[tuple[int, Location, int]]] = {}
    for level_id, location_id, variant_id, on_hand, reserved, safety_stock, lapsed in rows:
        location = locations.get(location_id)
        if location is None or not location.is_active:
            continue
        if fulfilment == SHIP_TO_HOME and not location.ships_to_customers:
            continue
        usable = _usable(on_hand, reserved, safety_stock, lapsed, fulfilment)
        if usable > 0:
            found.setdefault(variant_id, []).append((level_id, location, usable))
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


class _StockMoved(Exception):
    """A planned row gave less than planned: the rows already changed go back with the savepoint."""


def _apply(plan: _Plan, *, fulfilment: str, order_id: int | None, actor: Actor) -> list[Allocated] | None:
    """Take or hold the planned units, each row by one guarded change with its movement (and its order's hold).

    The rows change in primary-key order (the one lock order). None when a row
    could not give its units any more (the stock moved since the plan was
    read): then nothing of the plan stays written. A plan of one row needs
    nothing more (its one guarded statement wrote nothing); a plan of several
    rows runs under a savepoint, so the rows changed before the one that
    failed go back.
    """
    reason = f"order {order_id}" if order_id is not None else fulfilment
    step = TAKE if fulfilment == CARRY_OUT else RESERVE
    hold_for_order = order_id if fulfilment != CARRY_OUT else None
    now = timezone.now()
    ids: dict[int, int] = {}  # position in the plan -> id of its hold (or of its movement)

    def change_all() -> bool:
        for index in sorted(range(len(plan)), key=lambda i: plan[i][1]):
            _line, level_id, _location, quantity = plan[index]
            written = guarded.apply(guarded.Change(step, level_id, quantity, reason, actor, hold_for_order), now=now)
            if written is None:
                return False
            ids[index] = written
        return True

    if len(plan) == 1:
        if not change_all():
            return None
    else:
        try:
            with transaction.atomic():
                if not change_all():
                    raise _StockMoved
        except _StockMoved:
            return None
    announce_availability(
        (location.pk, line.variant.pk, step.on_hand * quantity, step.reserved * quantity)
        for line, _level_id, location, quantity in plan
    )
    copies: dict[int, Location] = {}  # the kept locations are shared by the process: the answer hands out copies
    for _line, _level_id, location, _quantity in plan:
        copies.setdefault(location.pk, copy.copy(location))
    return [
        Allocated(
            line.variant,
            copies[location.pk],
            quantity,
            taken=fulfilment == CARRY_OUT,
            reservation_id=ids[index] if hold_for_order is not None else None,
        )
        for index, (line, _level_id, location, quantity) in enumerate(plan)
    ]
