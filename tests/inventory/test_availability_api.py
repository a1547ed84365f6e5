"""GET /api/v1/availability/: the network's stock per SKU, nearest first, and how to get it."""

from decimal import Decimal

import pytest

from omni.catalog.models import Channel, LocationKind
from tests.factories import LocationFactory, VariantFactory
from tests.inventory.conftest import stock

pytestmark = pytest.mark.django_db

MILAN = "45.4642,9.1900"


@pytest.fixture
def turin(db):
    return LocationFactory(
        code="TO-CENTRO", name="Torino Centro", latitude=Decimal("45.070"), longitude=Decimal("7.686")
    )


def availability(api, **params):
    params.setdefault("sku", "SHIRT-RED-M")
    response = api.get("/api/v1/availability/", params)
    assert response.status_code == 200, response.json()
    return response.json()["results"]


def test_the_network_total_and_each_location_nearest_first(api, store, warehouse, turin, shirt):
    stock(store, shirt, 2)
    stock(warehouse, shirt, 10, safety_stock=3)
    stock(turin, shirt, 4)
    [entry] = availability(api, near="45.07,7.69")
    assert entry["network_available"] == 2 + 7 + 4
    assert [place["code"] for place in entry["locations"]] == ["TO-CENTRO", "MI-DUOMO", "WH-BO"]
    distances = [place["distance_km"] for place in entry["locations"]]
    assert distances[0] < 1 and 120 < distances[1] < 130 and distances == sorted(distances)


def test_the_options_on_the_web(api, store, warehouse, turin, shirt):
    stock(store, shirt, 2)
    stock(warehouse, shirt, 5)
    [entry] = availability(api, near=MILAN)
    options = {(o["fulfilment"], o["location"]): o["available"] for o in entry["options"]}
    assert options[("ship_to_home", None)] == 5
    assert options[("click_and_collect", "MI-DUOMO")] == 2
    assert ("click_and_collect", "TO-CENTRO") not in options  # nothing there
    assert options[("ship_to_store", "TO-CENTRO")] == 7
    assert options[("ship_to_store", "MI-DUOMO")] == 5  # from elsewhere than the store itself
    assert not any(o["fulfilment"] == "carry_out" for o in entry["options"])


def test_in_a_store_the_clerk_sees_carry_out_there_and_ship_to_store_from_elsewhere(api, store, warehouse, shirt):
    stock(store, shirt, 1)
    stock(warehouse, shirt, 3)
    [entry] = availability(api, channel="store", location="MI-DUOMO")
    options = {(o["fulfilment"], o["location"]): o["available"] for o in entry["options"]}
    assert options == {
        ("ship_to_home", None): 3,
        ("click_and_collect", "MI-DUOMO"): 1,
        ("ship_to_store", "MI-DUOMO"): 3,
        ("carry_out", "MI-DUOMO"): 1,
    }


def test_a_store_that_has_none_still_shows_itself_at_zero_and_offers_ship_to_store(api, store, warehouse, shirt):
    stock(warehouse, shirt, 3)
    [entry] = availability(api, channel="store", location="MI-DUOMO")
    assert {"code": "MI-DUOMO", "available": 0} in [
        {"code": p["code"], "available": p["available"]} for p in entry["locations"]
    ]
    assert {o["fulfilment"] for o in entry["options"]} == {"ship_to_home", "ship_to_store"}


def test_a_product_not_sold_on_the_channel_shows_nothing(api, store, shirt):
    stock(store, shirt, 4)
    shirt.product.channels.set(Channel.objects.filter(code="store"))
    [entry] = availability(api, channel="web")
    assert entry["sold_on_channel"] is False
    assert (entry["network_available"], entry["locations"], entry["options"]) == (0, [], [])


def test_inactive_locations_are_left_out(api, store, warehouse, shirt):
    stock(store, shirt, 4)
    stock(warehouse, shirt, 6)
    warehouse.is_active = False
    warehouse.save()
    [entry] = availability(api)
    assert entry["network_available"] == 4
    assert [p["code"] for p in entry["locations"]] == ["MI-DUOMO"]


def test_a_location_changed_after_the_process_read_the_places_is_answered_as_it_is_now(api, store, warehouse, shirt):
    """Availability takes the locations from what the process keeps between requests: a store closed, moved
    or turned into a pick-up point in the admin (a save) is answered as it is now by the very next request."""
    stock(store, shirt, 4)
    stock(warehouse, shirt, 6)
    [before] = availability(api, near=MILAN)  # the process reads the places now
    assert [p["code"] for p in before["locations"]] == ["MI-DUOMO", "WH-BO"]
    warehouse.is_active = False
    warehouse.save()
    store.latitude, store.longitude, store.is_pickup_point = Decimal("41.9"), Decimal("12.5"), False
    store.save()
    [after] = availability(api, near=MILAN)
    assert after["network_available"] == 4
    assert [(p["code"], p["is_pickup_point"]) for p in after["locations"]] == [("MI-DUOMO", False)]
    assert 470 < after["locations"][0]["distance_km"] < 490  # Milan to Rome
    assert "click_and_collect" not in [o["fulfilment"] for o in after["options"]]


def test_several_skus_in_one_call(api, store, shirt):
    other = VariantFactory(sku="SHIRT-BLUE-L", product=shirt.product)
    stock(store, shirt, 1)
    stock(store, other, 2)
    results = availability(api, sku=["SHIRT-RED-M", "SHIRT-BLUE-L"])
    assert {r["sku"]: r["network_available"] for r in results} == {"SHIRT-RED-M": 1, "SHIRT-BLUE-L": 2}


@pytest.mark.parametrize(
    "params, field",
    [
        ({"near": "91,9"}, "near"),
        ({"near": "45,181"}, "near"),
        ({"near": "milano"}, "near"),
        ({"channel": "fax"}, "channel"),
        ({"sku": [f"S{i}" for i in range(51)]}, "sku"),
        ({"sku": ""}, "sku"),
    ],
)
def test_bad_parameters_answer_invalid_naming_them(api, shirt, params, field):
    params.setdefault("sku", "SHIRT-RED-M")
    response = api.get("/api/v1/availability/", params)
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_an_unknown_sku_or_location_answers_not_found(api, shirt):
    assert api.get("/api/v1/availability/", {"sku": "NOPE"}).json()["code"] == "not_found"
    assert api.get("/api/v1/availability/", {"sku": "SHIRT-RED-M", "location": "NOWHERE"}).status_code == 404


def test_availability_needs_the_stock_scope(make_api_client, shirt):
    assert make_api_client(["orders"]).get("/api/v1/availability/", {"sku": "SHIRT-RED-M"}).status_code == 403


def make_network(size: int, variant) -> None:
    for index in range(size):
        kind = LocationKind.WAREHOUSE if index % 10 == 0 else LocationKind.STORE
        place = LocationFactory(
            kind=kind,
            latitude=Decimal("40") + Decimal(index) / 100,
            longitude=Decimal("9") + Decimal(index) / 100,
            ships_to_customers=kind == LocationKind.WAREHOUSE,
        )
        stock(place, variant, index % 4)


def test_one_sku_over_two_hundred_locations_costs_the_same_queries_as_over_three(api, shirt):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    make_network(3, shirt)
    availability(api, near=MILAN)  # the first request of a key also notes when it was last used
    with CaptureQueriesContext(connection) as few:
        availability(api, near=MILAN)
    make_network(200, shirt)
    with CaptureQueriesContext(connection) as changed:
        availability(api, near=MILAN)
    with CaptureQueriesContext(connection) as many:
        [entry] = availability(api, near=MILAN)
    assert len(entry["locations"]) > 100
    # The key; the variants and their stock rows, with the token of the places the process keeps.
    assert len(many.captured_queries) == len(few.captured_queries) == 2
    # Once the locations changed, the first request reads them again, with the channels: two queries, once.
    assert len(changed.captured_queries) == 4


def test_the_query_serializer_is_bound_once_for_many_requests_and_bad_params_answer_as_before(
    api, store, shirt, monkeypatch
):
    from inventory.api.serializers import AvailabilityQuerySerializer
    from omni.api import bound

    monkeypatch.setattr(bound._built, "by_class", {})
    built = []
    original = AvailabilityQuerySerializer.get_fields
    monkeypatch.setattr(AvailabilityQuerySerializer, "get_fields", lambda self: built.append(1) or original(self))
    stock(store, shirt, 2)
    for _ in range(3):
        availability(api, sku=["SHIRT-RED-M"], near=MILAN)
    assert len(built) == 1  # a serializer per request would build its fields three times
    bad = api.get("/api/v1/availability/", {"sku": "SHIRT-RED-M", "near": "north"})
    assert bad.status_code == 400 and "near" in bad.json()["errors"]
