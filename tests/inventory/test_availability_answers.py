"""GET /api/v1/availability/ gives the README's answer in every case, with a fixed number of queries.

The answer is built from plain SQL rows for speed; here it is checked, byte for
byte, against the same rules applied plainly to model instances and shaped by
the documented serializer, over combinations of channel, `near`, `location`
and SKUs on a network with the awkward cases (safety stock above on hand,
closed stores, ties in distance, more pick-up stores than the answer lists).
"""

from decimal import Decimal
from itertools import product

import pytest
from rest_framework.renderers import JSONRenderer

from inventory.api.serializers import AvailabilitySerializer
from inventory.models import StockLevel
from inventory.selectors import units_available, with_available
from inventory.services import distance_km
from omni.catalog.models import Channel, Location, LocationKind, Variant
from tests.factories import LocationFactory, ProductFactory, VariantFactory
from tests.inventory.conftest import stock

pytestmark = pytest.mark.django_db

MILAN, NAPLES = (45.4642, 9.19), (40.85, 14.27)


def expected(channel: str, skus: list[str], near, location) -> dict:
    """The README's rules, one model instance at a time, shaped by the serializer and rendered."""
    active = list(Location.objects.filter(is_active=True))

    def distance(place):
        if near is None:
            return None
        return round(distance_km(near[0], near[1], float(place.latitude), float(place.longitude)), 1)

    def order(place):
        return (distance(place) or 0.0, place.code)

    results = []
    for variant in Variant.objects.filter(sku__in=skus).select_related("product").order_by("sku"):
        product_ = variant.product
        sold = variant.is_active and product_.is_active and product_.channels.filter(code=channel).exists()
        entry = {"sku": variant.sku, "product": product_.name, "sold_on_channel": sold}
        entry.update(network_available=0, locations=[], options=[])
        results.append(entry)
        if not sold:
            continue
        rows = with_available(StockLevel.objects.filter(variant=variant, location__is_active=True))
        units = {row.location_id: units_available(row) for row in rows}
        entry["network_available"] = sum(units.values())
        listed = sorted((p for p in active if units.get(p.pk, 0) > 0 or p == location), key=order)
        entry["locations"] = [
            {
                "code": p.code,
                "name": p.name,
                "kind": p.kind,
                "city": p.city,
                "available": units.get(p.pk, 0),
                "is_pickup_point": p.is_pickup_point,
                "ships_to_customers": p.ships_to_customers,
                "distance_km": distance(p),
            }
            for p in listed
        ]
        options = entry["options"]
        shipping = sum(units.get(p.pk, 0) for p in listed if p.ships_to_customers)
        if shipping:
            options.append({"fulfilment": "ship_to_home", "location": None, "available": shipping})
        collect = [p for p in listed if p.is_pickup_point and units.get(p.pk, 0) > 0 and location in (None, p)]
        for p in collect[:10]:
            options.append({"fulfilment": "click_and_collect", "location": p.code, "available": units[p.pk]})
        if location is not None:
            targets = [location] if location.is_active and location.is_pickup_point else []
        elif near is not None:
            targets = sorted((p for p in active if p.is_pickup_point), key=order)[:3]
        else:
            targets = []
        for p in targets:
            if entry["network_available"] - units.get(p.pk, 0) > 0:
                options.append(
                    {
                        "fulfilment": "ship_to_store",
                        "location": p.code,
                        "available": entry["network_available"] - units.get(p.pk, 0),
                    }
                )
        if channel == "store" and location is not None and units.get(location.pk, 0) > 0:
            options.append({"fulfilment": "carry_out", "location": location.code, "available": units[location.pk]})
    return AvailabilitySerializer({"channel": channel, "results": results}).data


@pytest.fixture
def network(store, warehouse, shirt):
    """Stores around Italy holding the red shirt, and SKUs that are not sold, not active or nowhere."""
    rome = LocationFactory(
        code="RM-01", latitude=Decimal("41.9"), longitude=Decimal("12.5"), ships_to_customers=True, city="Roma"
    )
    empty = LocationFactory(code="MI-EMPTY", latitude=Decimal("45.47"), longitude=Decimal("9.2"))
    closed = LocationFactory(code="MI-CLOSED", latitude=Decimal("45.46"), longitude=Decimal("9.19"))
    stock(store, shirt, 2)
    stock(warehouse, shirt, 10, safety_stock=3)
    stock(rome, shirt, 4)
    stock(empty, shirt, 2, safety_stock=5)  # safety stock above on hand: nothing to sell, not below zero
    stock(closed, shirt, 9)
    Location.objects.filter(pk=closed.pk).update(is_active=False)
    for index in range(12):  # more pick-up stores than click & collect lists; pairs at the same spot
        place = LocationFactory(
            code=f"NA-{index:02d}",
            kind=LocationKind.STORE,
            latitude=Decimal("40.8") + Decimal(index // 2) / 50,
            longitude=Decimal("14.2"),
        )
        stock(place, shirt, index % 3)
    blue = VariantFactory(sku="SHIRT-BLUE-L", product=shirt.product)
    stock(store, blue, 1)
    stock(rome, blue, 5)
    StockLevel.objects.filter(location=rome, variant=blue).update(reserved=2)
    only_in_store = VariantFactory(
        sku="TIE-STORE", product=ProductFactory(channels=Channel.objects.filter(code="store"))
    )
    stock(warehouse, only_in_store, 3)
    retired = VariantFactory(sku="SHIRT-OLD", product=shirt.product, is_active=False)
    stock(store, retired, 3)
    withdrawn = VariantFactory(sku="HAT-WITHDRAWN", product=ProductFactory(is_active=False))
    stock(store, withdrawn, 3)
    VariantFactory(sku="SOCKS-NONE")
    return {"store": store, "warehouse": warehouse, "empty": empty, "closed": Location.objects.get(pk=closed.pk)}


EVERY_SKU = ["SHIRT-RED-M", "SHIRT-BLUE-L", "TIE-STORE", "SHIRT-OLD", "HAT-WITHDRAWN", "SOCKS-NONE"]


def test_every_combination_answers_as_the_rules_say_byte_for_byte(api, network):
    combinations = list(
        product(
            ["web", "store", "app"],
            [None, MILAN, NAPLES],
            [None, "store", "warehouse", "empty", "closed"],
            [["SHIRT-RED-M"], EVERY_SKU],
        )
    )
    for channel, near, asked, skus in combinations:
        location = network[asked] if asked else None
        params = {"sku": skus, "channel": channel}
        if near is not None:
            params["near"] = f"{near[0]},{near[1]}"
        if location is not None:
            params["location"] = location.code
        response = api.get("/api/v1/availability/", params)
        assert response.status_code == 200, response.content
        want = JSONRenderer().render(expected(channel, skus, near, location))
        assert response.content == want, (channel, near, asked, skus)
    assert len(combinations) == 90


def test_the_network_in_the_fixture_covers_the_awkward_cases(api, network):
    [blue, red] = api.get("/api/v1/availability/", {"sku": "SHIRT-RED-M,SHIRT-BLUE-L", "near": "40.8,14.2"}).json()[
        "results"
    ]
    assert [p["code"] for p in red["locations"]][:3] == ["NA-01", "NA-02", "NA-04"]  # nearest first
    assert "MI-EMPTY" not in [p["code"] for p in red["locations"]] and "MI-CLOSED" not in str(red)
    assert len([o for o in red["options"] if o["fulfilment"] == "click_and_collect"]) == 10
    assert [o["location"] for o in red["options"] if o["fulfilment"] == "ship_to_store"] == ["NA-00", "NA-01", "NA-02"]
    assert {p["code"]: p["available"] for p in blue["locations"]} == {"RM-01": 3, "MI-DUOMO": 1}


def test_an_availability_request_makes_two_queries_whatever_the_network(api, network, django_assert_num_queries):
    api.get("/api/v1/availability/", {"sku": "SHIRT-RED-M"})  # the key's first use notes when it was last used
    # The API key, then the variants with the locations holding units (and the pick-up points).
    with django_assert_num_queries(2):
        response = api.get("/api/v1/availability/", {"sku": EVERY_SKU, "near": "45.46,9.19"})
    assert response.status_code == 200 and len(response.json()["results"]) == 6
    # Asking for a store adds the lookup of its code.
    with django_assert_num_queries(3):
        response = api.get("/api/v1/availability/", {"sku": "SHIRT-RED-M", "channel": "store", "location": "MI-DUOMO"})
    assert response.status_code == 200
