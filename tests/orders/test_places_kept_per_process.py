"""Each process keeps the channels and locations between orders (omni.catalog.selectors.places); a change made in
the admin, or by another process, is seen by the very next order, and a change rolled back is never seen."""

import multiprocessing

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from omni.catalog import selectors
from omni.catalog.models import Location
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/"


def till_sale(external_id: str, location: str = "MI01") -> dict:
    return {
        "channel": "store",
        "location": location,
        "external_id": external_id,
        "identifiers": [{"kind": "email", "value": "anna@example.it"}],
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "card", "amount": "39.90"}],
    }


def location_form(location: Location, **changes) -> dict:
    form = {
        "code": location.code,
        "name": location.name,
        "kind": location.kind,
        "address": location.address,
        "postcode": location.postcode,
        "city": location.city,
        "country": location.country,
        "latitude": str(location.latitude),
        "longitude": str(location.longitude),
        **({"is_active": "on"} if location.is_active else {}),
        **({"is_pickup_point": "on"} if location.is_pickup_point else {}),
        **({"ships_to_customers": "on"} if location.ships_to_customers else {}),
    }
    form.update(changes)
    return {name: value for name, value in form.items() if value is not None}


def test_an_order_through_the_api_checks_its_channel_locations_and_rules_with_one_query(api, network):
    stock(network["milano"], network["shirt"], 5)
    assert api.post(URL, till_sale("R-1"), format="json", HTTP_IDEMPOTENCY_KEY="k-1").status_code == 201

    with CaptureQueriesContext(connection) as queries:
        response = api.post(URL, till_sale("R-2"), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 201, response.content
    sql = [query["sql"] for query in queries.captured_queries]
    assert len([s for s in sql if "omni_version" in s]) == 1  # the tokens of the places and of the rules at once
    assert not [s for s in sql if 'FROM "catalog_channel"' in s or 'FROM "catalog_location"' in s]
    assert not [s for s in sql if "loyalty_programme" in s or "loyalty_promotion" in s]


def test_a_quote_through_the_api_checks_its_channel_and_rules_with_one_query(api, network):
    basket = {"channel": "web", "lines": [{"sku": "CAM-ROSSA-M", "quantity": 2}]}
    assert api.post("/api/v1/loyalty/quote/", basket, format="json").status_code == 200

    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/loyalty/quote/", basket, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["total"] == "79.80"
    sql = [query["sql"] for query in queries.captured_queries]
    assert len([s for s in sql if "omni_version" in s]) == 1
    assert not [s for s in sql if 'FROM "catalog_channel"' in s]


def test_a_location_closed_in_the_admin_is_refused_by_the_next_order(api, network, admin_client):
    stock(network["milano"], network["shirt"], 5)
    assert api.post(URL, till_sale("R-1"), format="json").status_code == 201

    milano = network["milano"]
    response = admin_client.post(f"/admin/catalog/location/{milano.pk}/change/", location_form(milano, is_active=None))
    assert response.status_code == 302, response.content.decode()[-2000:]
    refused = api.post(URL, till_sale("R-2"), format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["location"] == ["Unknown location MI01."]

    milano.refresh_from_db()
    response = admin_client.post(f"/admin/catalog/location/{milano.pk}/change/", location_form(milano, is_active="on"))
    assert response.status_code == 302
    assert api.post(URL, till_sale("R-3"), format="json").status_code == 201


def test_a_channel_renamed_in_the_admin_is_seen_at_once(admin_client, db):
    store = selectors.channel_by_code("store")
    assert store is not None
    response = admin_client.post(
        f"/admin/catalog/channel/{store.pk}/change/",
        {"code": "store", "name": "Negozi fisici", "currency": store.currency, "is_active": "on"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert selectors.channel_by_code("store").name == "Negozi fisici"


def test_a_location_opened_is_found_and_one_closed_then_rolled_back_stays_open(network):
    assert selectors.location_by_code("MI01").pk == network["milano"].pk
    with pytest.raises(RuntimeError), transaction.atomic():
        milano = Location.objects.get(code="MI01")
        milano.is_active = False
        milano.save()
        assert selectors.location_by_code("MI01") is None  # this process now holds a change never committed
        raise RuntimeError("rolled back")
    assert selectors.location_by_code("MI01").pk == network["milano"].pk


def test_the_places_handed_out_are_copies_of_what_the_process_keeps(network):
    handed = selectors.location_by_code("MI01")
    handed.name = "Changed by a caller"
    assert selectors.location_by_code("MI01").name == "Milano Duomo"
    assert selectors.channel_by_code("store") is not selectors.channel_by_code("store")


def _close_in_another_process(code: str) -> None:
    for alias in connections:  # the parent's connections are not ours: forget them without closing them
        connections[alias].connection = None
    location = Location.objects.get(code=code)
    location.is_active = False
    location.save()
    connections.close_all()


@pytest.mark.postgres_only("a second process writes and commits while this one holds the places")
@pytest.mark.django_db(transaction=True)
def test_a_location_closed_by_another_process_is_refused_by_this_ones_next_order(api, network):
    stock(network["milano"], network["shirt"], 5)
    assert api.post(URL, till_sale("R-1"), format="json").status_code == 201
    assert selectors.location_by_code("MI01") is not None  # this process holds the places

    child = multiprocessing.get_context("fork").Process(target=_close_in_another_process, args=("MI01",))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert Location.objects.get(code="MI01").is_active is False

    refused = api.post(URL, till_sale("R-2"), format="json")
    assert refused.status_code == 400
    assert refused.json()["errors"]["location"] == ["Unknown location MI01."]
