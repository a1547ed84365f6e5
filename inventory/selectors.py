"""Reads of stock: availability across the network, one stock row, the ledger check.

`with_available()` is the one place that subtracts: every list of stock rows
(the API, the admin, availability) annotates `available` through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Exists, F, IntegerField, OuterRef, QuerySet, Sum, Value
from django.db.models.functions import Coalesce, Greatest

from inventory.models import StockLevel, StockMovement
from inventory.services import CARRY_OUT, CLICK_AND_COLLECT, SHIP_TO_HOME, SHIP_TO_STORE, distance_km
from omni.catalog.models import Location, Product, Variant

MAX_SKUS = 50
SHIP_TO_STORE_CHOICES = 3
CLICK_AND_COLLECT_CHOICES = 10


def with_available(queryset: QuerySet[StockLevel] | None = None) -> QuerySet[StockLevel]:
    """Stock rows annotated with `units_available` = on_hand - reserved - safety_stock, floored at 0."""
    rows = StockLevel.objects.all() if queryset is None else queryset
    return rows.annotate(
        units_available=Greatest(
            F("on_hand") - F("reserved") - F("safety_stock"), Value(0), output_field=IntegerField()
        )
    )


def units_available(row: StockLevel) -> int:
    """The annotation made by with_available()."""
    return row.units_available  # type: ignore[attr-defined]


def stock_rows() -> QuerySet[StockLevel]:
    """Stock rows with their location and variant, for lists."""
    return with_available().select_related("location", "variant", "variant__product")


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


# The columns of a location that an availability answer shows, in the order it shows them.
_PLACE_COLUMNS = ("code", "name", "kind", "city")


def availability_data(
    skus: Sequence[str],
    channel: str,
    near: tuple[float, float] | None = None,
    location: Location | None = None,
) -> list[dict[str, Any]]:
    """Per SKU: the network's available units, each location's, and the ways to get it on `channel`.

    The answer is plain data (dicts and lists, the API's shape), built from
    three queries of plain rows whatever the number of locations: the
    variants (with whether the channel sells them), their stock figures at
    active locations, and the active locations themselves. No model instance
    is made: an answer over hundreds of locations costs little more than the
    queries. Distances are computed once per location in Python (haversine).
    Locations are listed when they have units available (and the one asked
    for with `location`, even at 0), nearest first when `near` is given, else
    by code. Unknown SKUs are simply absent from the answer.

    Options (see the README): ship_to_home when locations that ship to
    customers hold units; click_and_collect at each pick-up store holding units
    (only the one asked for when `location` is given, else the nearest ten);
    ship_to_store to a pick-up store when other locations hold units (the one
    asked for, else the three nearest to `near`); carry_out on channel `store`
    at the `location` asked for when it holds units.
    """
    sold_here = Product.channels.through.objects.filter(product_id=OuterRef("product_id"), channel__code=channel)
    variants = list(
        Variant.objects.filter(sku__in=list(skus))
        .annotate(sold=Exists(sold_here))
        .order_by("sku")
        .values_list("pk", "sku", "product__name", "sold", "is_active", "product__is_active")
    )
    selling = [pk for pk, _sku, _name, sold, active, product_active in variants if sold and active and product_active]
    units: dict[int, dict[int, int]] = {pk: {} for pk in selling}  # variant -> location -> available
    if selling:
        for variant_id, location_id, available in (
            with_available()
            .filter(variant__in=selling, location__is_active=True)
            .values_list("variant_id", "location_id", "units_available")  # type: ignore[misc]  # an annotation
        ):
            units[variant_id][location_id] = available
    # The network's active locations, each with its distance, in the order answers list them:
    # (pk, code, name, kind, city, is_pickup_point, ships_to_customers, distance_km).
    columns = ("pk", *_PLACE_COLUMNS, "is_pickup_point", "ships_to_customers", "latitude", "longitude")
    rows = list(Location.objects.filter(is_active=True).values_list(*columns)) if selling else []
    if location is not None and location.is_active and location.pk not in {row[0] for row in rows}:
        rows.append(tuple(getattr(location, name) for name in columns))
    places = []
    for *head, latitude, longitude in rows:
        distance = (
            round(distance_km(near[0], near[1], float(latitude), float(longitude)), 1) if near is not None else None
        )
        places.append((*head, distance))
    places.sort(key=lambda place: (place[7] or 0.0, place[1]))
    asked, asked_code = (location.pk, location.code) if location is not None else (None, None)
    if asked is not None:
        ship_to_store_targets = [place for place in places if place[0] == asked and place[5]]
    elif near is not None:
        ship_to_store_targets = [place for place in places if place[5]][:SHIP_TO_STORE_CHOICES]
    else:
        ship_to_store_targets = []

    answer: list[dict[str, Any]] = []
    for pk, sku, product_name, *_flags in variants:
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
        listed = [place for place in places if units_at.get(place[0], 0) > 0 or place[0] == asked]
        entry["locations"] = [
            {
                "code": code,
                "name": name,
                "kind": kind,
                "city": city,
                "available": units_at.get(place_pk, 0),
                "is_pickup_point": is_pickup_point,
                "ships_to_customers": ships,
                "distance_km": distance,
            }
            for place_pk, code, name, kind, city, is_pickup_point, ships, distance in listed
        ]
        options = entry["options"]
        shipping = sum(units_at.get(place[0], 0) for place in listed if place[6])
        if shipping > 0:
            options.append({"fulfilment": SHIP_TO_HOME, "location": None, "available": shipping})
        collect_here = [
            place
            for place in listed
            if place[5] and units_at.get(place[0], 0) > 0 and (asked is None or place[0] == asked)
        ]
        for place in collect_here[:CLICK_AND_COLLECT_CHOICES]:
            options.append({"fulfilment": CLICK_AND_COLLECT, "location": place[1], "available": units_at[place[0]]})
        for place in ship_to_store_targets:
            elsewhere = entry["network_available"] - units_at.get(place[0], 0)
            if elsewhere > 0:
                options.append({"fulfilment": SHIP_TO_STORE, "location": place[1], "available": elsewhere})
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
