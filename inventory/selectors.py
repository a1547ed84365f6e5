"""Reads of stock: availability across the network, one stock row, the ledger check.

The available formula lives in `inventory.available`: every list of stock
rows (the API, the admin) annotates it through `with_available()`, and
availability's plain SQL takes the same formula from `available_sql()`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import Coalesce

from inventory.available import annotate_available, available_sql
from inventory.available import units_available as units_available  # the annotation, read by callers
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import CARRY_OUT, CLICK_AND_COLLECT, SHIP_TO_HOME, SHIP_TO_STORE, distances_to_points
from omni import versions
from omni.catalog.models import Channel, Location, Product, Variant
from omni.catalog.selectors import Places, places

MAX_SKUS = 50
SHIP_TO_STORE_CHOICES = 3
CLICK_AND_COLLECT_CHOICES = 10


def with_available(queryset: QuerySet[StockLevel] | None = None) -> QuerySet[StockLevel]:
    """Stock rows annotated with `units_available` (inventory.available, lapsed holds holding nothing), floored at 0."""
    rows = StockLevel.objects.all() if queryset is None else queryset
    return annotate_available(rows)


def stock_rows() -> QuerySet[StockLevel]:
    """Stock rows with their location and variant, for lists."""
    return with_available().select_related("location", "variant", "variant__product")


def reservations() -> QuerySet[Reservation]:
    """Reservations with their variant and location, newest first."""
    return Reservation.objects.select_related("variant", "location").order_by("-created_at", "-pk")


def stock_of(location: Location, variant: Variant) -> StockLevel | None:
    """The stock row of `variant` at `location` (with `units_available`), or None."""
    return stock_rows().filter(location=location, variant=variant).first()


@dataclass
class LocationStock:
    code: str
    name: str
    kind: str
    city: str
    available: int
    is_pickup_point: bool
    ships_to_customers: bool
    distance_km: float | None


@dataclass
class Option:
    fulfilment: str
    location: str | None
    available: int


@dataclass
class SkuAvailability:
    sku: str
    product: str
    sold_on_channel: bool
    network_available: int = 0
    locations: list[LocationStock] = field(default_factory=list)
    options: list[Option] = field(default_factory=list)


def availability(
    skus: Sequence[str],
    channel: str,
    near: tuple[float, float] | None = None,
    location: Location | None = None,
) -> list[SkuAvailability]:
    """`availability_data()` as dataclasses, for code that prefers attributes (the admin)."""
    answer = []
    for entry in availability_data(skus, channel, near=near, location=location):
        answer.append(
            SkuAvailability(
                sku=entry["sku"],
                product=entry["product"],
                sold_on_channel=entry["sold_on_channel"],
                network_available=entry["network_available"],
                locations=[LocationStock(**place) for place in entry["locations"]],
                options=[Option(**option) for option in entry["options"]],
            )
        )
    return answer


# A location as availability shows it, kept per process with the places it was made from: (code, pk, name,
# kind, city, is_pickup_point, ships_to_customers, is_active, latitude in radians, its cosine, longitude).
Spot = tuple[str, int, str, str, str, bool, bool, bool, float, float, float]
_spots: tuple[Places, dict[int, Spot]] | None = None


def _spot(location: Location) -> Spot:
    phi = math.radians(float(location.latitude))
    return (
        location.code,
        location.pk,
        location.name,
        location.kind,
        location.city,
        location.is_pickup_point,
        location.ships_to_customers,
        location.is_active,
        phi,
        math.cos(phi),
        float(location.longitude),
    )


def _spots_by_pk() -> dict[int, Spot]:
    """Every location as a Spot, by pk: made again only when the process reads the places again (their token
    changed), so a request pays neither the join nor the conversions for hundreds of locations."""
    global _spots
    held, kept = places(), _spots
    if kept is None or kept[0] is not held:
        kept = (held, {location.pk: _spot(location) for location in held.locations.values()})
        _spots = kept
    return kept[1]


def _availability_rows(skus: Sequence[str], channel: str) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    """The one statement behind availability_data(), in plain SQL (PostgreSQL and SQLite alike).

    Returns the variants of `skus` in SKU order, as (pk, sku, product name,
    sold: whether `channel` sells it and the variant and its product are
    active), and for those sold their stock rows holding units, as (location
    pk, variant pk, units available). The locations themselves come from
    what the process keeps (omni.catalog.selectors.places): inside a
    `versions.one_read()` block the statement carries the read of their token.
    The formula is inventory.available's; rows without units are left out
    rather than floored at 0, which sums the same.
    """
    variant, product, stock = (model._meta.db_table for model in (Variant, Product, StockLevel))
    sold_on, channels = Product.channels.through._meta.db_table, Channel._meta.db_table
    units, units_params = available_sql("s")
    # A variant row has its place in SKU order in the first column (the database's collation, as the ORM's
    # order_by would give) and NULL in the sixth; a stock row has the location pk there.
    sql = (
        f"WITH asked AS (SELECT v.id, v.sku, p.name, v.is_active AND p.is_active AND EXISTS ("
        f"SELECT 1 FROM {sold_on} pc JOIN {channels} c ON c.id = pc.channel_id "
        f"WHERE pc.product_id = v.product_id AND c.code = %s) AS sold "
        f"FROM {variant} v JOIN {product} p ON p.id = v.product_id "
        f"WHERE v.sku IN ({', '.join(['%s'] * len(skus))})) "
        f"SELECT ROW_NUMBER() OVER (ORDER BY sku), id, sku, name, sold, NULL, NULL, NULL FROM asked "
        f"UNION ALL "
        f"SELECT NULL, NULL, NULL, NULL, NULL, s.location_id, s.variant_id, {units} FROM {stock} s "
        f"WHERE s.variant_id IN (SELECT id FROM asked WHERE sold) AND {units} > 0"
    )
    rows = versions.read_with_tokens(sql, [channel, *skus, *units_params, *units_params])
    variants = sorted(row[:5] for row in rows if row[5] is None)
    return [row[1:] for row in variants], [row[5:] for row in rows if row[5] is not None]


def availability_data(
    skus: Sequence[str],
    channel: str,
    near: tuple[float, float] | None = None,
    location: Location | None = None,
) -> list[dict[str, Any]]:
    """Per SKU: the network's available units, each location's, and the ways to get it on `channel`.

    The answer is plain data (dicts and lists, the API's shape), built from
    one SQL statement whatever the number of locations (_availability_rows):
    the variants, and the stock rows holding units of those sold on the
    channel. The locations are the ones the process keeps, with their
    radians (_spots_by_pk): no model instance is made, and an answer over
    hundreds of locations costs little more than the query. Locations are
    listed when they are active and have units available (and the one asked
    for with `location`, even at 0), nearest first when `near` is given, else
    by code. Unknown SKUs are simply absent from the answer.

    Options (see the README): ship_to_home when locations that ship to
    customers hold units; click_and_collect at each pick-up store holding units
    (only the one asked for when `location` is given, else the nearest ten);
    ship_to_store to a pick-up store when other locations hold units (the one
    asked for, else the three nearest to `near`, among every active pick-up
    point); carry_out on channel `store` at the `location` asked for when it
    holds units.
    """
    skus = list(skus)
    if not skus:
        return []
    asked, asked_code = (location.pk, location.code) if location is not None else (None, None)
    with versions.one_read():
        variants, rows = _availability_rows(skus, channel)
        spots = _spots_by_pk()
    # variant -> location -> units available, for the variants sold on the channel.
    units: dict[int, dict[int, int]] = {row[0]: {} for row in variants if row[3]}
    # The locations, each once, as (order: the distance shown or 0.0, code, pk, name, kind, city,
    # is_pickup_point, ships_to_customers, distance_km shown): sorting the tuples sorts them as shown.
    distance_to = distances_to_points(*near) if near is not None else None
    found: dict[int, tuple[Any, ...]] = {}

    def place(spot: Spot) -> tuple[Any, ...]:
        code, pk, name, kind, city, is_pickup_point, ships, _active, phi, cos_phi, longitude = spot
        distance = distance_to and round(distance_to(phi, cos_phi, longitude), 1)
        return (distance or 0.0, code, pk, name, kind, city, is_pickup_point, ships, distance)

    for location_pk, variant_id, available in rows:
        spot = spots.get(location_pk)
        if spot is None or not spot[7]:  # a closed location sells nothing
            continue
        if location_pk not in found:
            found[location_pk] = place(spot)
        units[variant_id][location_pk] = available
    if units:
        if location is not None and location.is_active and asked not in found:
            found[location.pk] = place(_spot(location))
        if near is not None and asked is None:  # the candidates for ship to store
            for spot in spots.values():
                if spot[5] and spot[7] and spot[1] not in found:
                    found[spot[1]] = place(spot)
    places_found = sorted(found.values())  # codes are unique: no two tuples compare beyond the code
    if asked is not None:
        ship_to_store_targets = [place for place in places_found if place[2] == asked and place[6]]
    elif near is not None:
        ship_to_store_targets = [place for place in places_found if place[6]][:SHIP_TO_STORE_CHOICES]
    else:
        ship_to_store_targets = []

    answer: list[dict[str, Any]] = []
    for pk, sku, product_name, *_ in variants:
        entry: dict[str, Any] = {
            "sku": sku,
            "product": product_name,
            "sold_on_channel": pk in units,
            "network_available": 0,
            "locations": [],
            "options": [],
        }
        answer.append(entry)
        if pk not in units:
            continue
        units_at = units[pk]
        entry["network_available"] = sum(units_at.values())
        # One pass over the places, nearest first: the listed ones, what ships, where to collect.
        shipping, collect_here = 0, []
        for _order, code, place_pk, name, kind, city, is_pickup_point, ships, distance in places_found:
            available = units_at.get(place_pk, 0)
            if available <= 0 and place_pk != asked:
                continue
            entry["locations"].append(
                {
                    "code": code,
                    "name": name,
                    "kind": kind,
                    "city": city,
                    "available": available,
                    "is_pickup_point": is_pickup_point,
                    "ships_to_customers": ships,
                    "distance_km": distance,
                }
            )
            if ships:
                shipping += available
            if is_pickup_point and available > 0 and asked in (None, place_pk):
                collect_here.append((code, available))
        options = entry["options"]
        if shipping > 0:
            options.append({"fulfilment": SHIP_TO_HOME, "location": None, "available": shipping})
        for code, available in collect_here[:CLICK_AND_COLLECT_CHOICES]:
            options.append({"fulfilment": CLICK_AND_COLLECT, "location": code, "available": available})
        for place_ in ship_to_store_targets:
            elsewhere = entry["network_available"] - units_at.get(place_[2], 0)
            if elsewhere > 0:
                options.append({"fulfilment": SHIP_TO_STORE, "location": place_[1], "available": elsewhere})
        if channel == "store" and asked is not None and units_at.get(asked, 0) > 0:
            options.append({"fulfilment": CARRY_OUT, "location": asked_code, "available": units_at[asked]})
    return answer


@dataclass(frozen=True)
class LedgerDifference:
    location: str
    sku: str
    on_hand: int
    on_hand_from_ledger: int
    reserved: int
    reserved_from_ledger: int
    quarantined: int
    quarantined_from_ledger: int


def ledger_differences() -> list[LedgerDifference]:
    """Stock rows whose on hand, reserved or quarantined differ from the sums of their movements.

    Two aggregate queries (rows, and ledger sums grouped by location and
    variant); there must never be a difference.
    """
    sums = {
        (s["location_id"], s["variant_id"]): s
        for s in StockMovement.objects.values("location_id", "variant_id")
        .order_by()
        .annotate(
            on_hand=Coalesce(Sum("on_hand_delta"), 0),
            reserved=Coalesce(Sum("reserved_delta"), 0),
            quarantined=Coalesce(Sum("quarantined_delta"), 0),
        )
    }
    differences: list[LedgerDifference] = []
    for row in (
        StockLevel.objects.values_list(
            "location_id", "variant_id", "location__code", "variant__sku", "on_hand", "reserved", "quarantined"
        )
        .order_by("pk")
        .iterator(chunk_size=5000)
    ):
        location_id, variant_id, code, sku, on_hand, reserved, quarantined = row
        total = sums.pop((location_id, variant_id), {"on_hand": 0, "reserved": 0, "quarantined": 0})
        if (on_hand, reserved, quarantined) != (total["on_hand"], total["reserved"], total["quarantined"]):
            differences.append(
                LedgerDifference(
                    code, sku, on_hand, total["on_hand"], reserved, total["reserved"], quarantined, total["quarantined"]
                )
            )
    # Movements of a location and variant that has no stock row at all.
    orphan_keys = [key for key, total in sums.items() if total["on_hand"] or total["reserved"] or total["quarantined"]]
    if orphan_keys:
        codes = dict(Location.objects.filter(pk__in={k[0] for k in orphan_keys}).values_list("pk", "code"))
        skus = dict(Variant.objects.filter(pk__in={k[1] for k in orphan_keys}).values_list("pk", "sku"))
        for key in orphan_keys:
            total = sums[key]
            differences.append(
                LedgerDifference(
                    codes.get(key[0], "?"),
                    skus.get(key[1], "?"),
                    0,
                    total["on_hand"],
                    0,
                    total["reserved"],
                    0,
                    total["quarantined"],
                )
            )
    return differences
