"""Reads of stock: availability across the network, one stock row, the ledger check.

`with_available()` is the one place that subtracts: every list of stock rows
(the API, the admin, availability) annotates `available` through it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

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
    """Per SKU: the network's available units, each location's, and the ways to get it on `channel`.

    Three queries whatever the number of locations: the variants (with whether
    the channel sells them), their stock figures at active locations, and the
    active locations themselves. Distances are computed once per location in
    Python (haversine). Locations are listed when they have units available
    (and the one asked for with `location`, even at 0), nearest first when
    `near` is given, else by code. Unknown SKUs are simply absent from the answer.

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
        .select_related("product")
        .annotate(sold=Exists(sold_here))
        .order_by("sku")
    )
    selling = [v.pk for v in variants if v.sold and v.is_active and v.product.is_active]
    units: dict[int, dict[int, int]] = {pk: {} for pk in selling}  # variant -> location -> available
    for variant_id, location_id, available in (
        with_available()
        .filter(variant__in=selling, location__is_active=True)
        .values_list("variant_id", "location_id", "units_available")  # type: ignore[misc]  # an annotation
    ):
        units[variant_id][location_id] = available
    # The network's active locations, each with its distance, in the order answers list them.
    places = list(Location.objects.filter(is_active=True)) if selling else []
    if location is not None and location.pk not in {p.pk for p in places} and location.is_active:
        places.append(location)
    distance = {
        place.pk: (
            round(distance_km(near[0], near[1], float(place.latitude), float(place.longitude)), 1)
            if near is not None
            else None
        )
        for place in places
    }
    places.sort(key=lambda place: (distance[place.pk] or 0.0, place.code))
    pickup_points = [place for place in places if place.is_pickup_point]
    ship_to_store_targets = (
        ([location] if location.is_pickup_point and location.is_active else [])
        if location is not None
        else (pickup_points[:SHIP_TO_STORE_CHOICES] if near is not None else [])
    )

    answer: list[SkuAvailability] = []
    for variant in variants:
        sold = variant.pk in units
        entry = SkuAvailability(sku=variant.sku, product=variant.product.name, sold_on_channel=sold)
        answer.append(entry)
        if not sold:
            continue
        units_at = units[variant.pk]
        entry.network_available = sum(units_at.values())
        listed = [
            place
            for place in places
            if units_at.get(place.pk, 0) > 0 or (location is not None and place.pk == location.pk)
        ]
        entry.locations = [
            LocationStock(
                code=place.code,
                name=place.name,
                kind=place.kind,
                city=place.city,
                available=units_at.get(place.pk, 0),
                is_pickup_point=place.is_pickup_point,
                ships_to_customers=place.ships_to_customers,
                distance_km=distance[place.pk],
            )
            for place in listed
        ]
        shipping = sum(units_at.get(place.pk, 0) for place in listed if place.ships_to_customers)
        if shipping > 0:
            entry.options.append(Option(SHIP_TO_HOME, None, shipping))
        collect_here = [
            place
            for place in listed
            if place.is_pickup_point and units_at.get(place.pk, 0) > 0 and (location is None or place.pk == location.pk)
        ]
        for place in collect_here[:CLICK_AND_COLLECT_CHOICES]:
            entry.options.append(Option(CLICK_AND_COLLECT, place.code, units_at[place.pk]))
        for place in ship_to_store_targets:
            elsewhere = entry.network_available - units_at.get(place.pk, 0)
            if elsewhere > 0:
                entry.options.append(Option(SHIP_TO_STORE, place.code, elsewhere))
        if channel == "store" and location is not None and units_at.get(location.pk, 0) > 0:
            entry.options.append(Option(CARRY_OUT, location.code, units_at[location.pk]))
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
