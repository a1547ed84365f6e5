"""Locations: create, list with filters, detail; bad input writes nothing."""

import pytest

from omni.catalog.models import Location
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/locations/"


def roma(**changes) -> dict:
    body = {
        "code": "RM01",
        "name": "Roma Via del Corso",
        "kind": "store",
        "city": "Roma",
        "postcode": "00186",
        "latitude": 41.9028,
        "longitude": 12.4964,
        "is_pickup_point": True,
        "ships_to_customers": True,
    }
    body.update(changes)
    return body


def test_a_store_is_created_and_answered_back(api):
    response = api.post(URL, roma(), format="json")
    assert response.status_code == 201
    body = response.json()
    assert body["code"] == "RM01"
    assert body["latitude"] == pytest.approx(41.9028)
    assert body["is_pickup_point"] is True
    assert api.get(URL + "RM01/").json()["name"] == "Roma Via del Corso"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"latitude": 91}, "latitude"),
        ({"latitude": -90.5}, "latitude"),
        ({"longitude": 181}, "longitude"),
        ({"longitude": "east"}, "longitude"),
        ({"kind": "kiosk"}, "kind"),
        ({"code": "RM 01/x"}, "code"),
        ({"code": ""}, "code"),
        ({"is_pickup_point": "perhaps"}, "is_pickup_point"),
        ({"name": None}, "name"),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, changes, field):
    response = api.post(URL, roma(**changes), format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert not Location.objects.exists()


def test_a_duplicate_code_is_a_400_on_code(api):
    assert api.post(URL, roma(), format="json").status_code == 201
    response = api.post(URL, roma(name="Another"), format="json")
    assert response.status_code == 400
    assert "code" in response.json()["errors"]
    assert Location.objects.count() == 1


def test_the_list_filters_by_kind_and_city(api):
    LocationFactory(code="MI01", city="Milano")
    LocationFactory(code="MI-WH", city="Milano", kind="warehouse")
    LocationFactory(code="RM01", city="Roma")
    stores_in_milano = api.get(URL, {"kind": "store", "city": "milano"}).json()
    assert [row["code"] for row in stores_in_milano["results"]] == ["MI01"]
    assert api.get(URL).json()["count"] == 3


def test_the_list_is_paginated_with_page_size_up_to_500(api):
    LocationFactory.create_batch(7)
    page = api.get(URL, {"page_size": 3, "page": 2}).json()
    assert page["count"] == 7
    assert len(page["results"]) == 3
    assert page["next"] and page["previous"]
    assert len(api.get(URL, {"page_size": 9999}).json()["results"]) == 7


def test_the_list_costs_the_same_queries_for_3_or_60_locations(api, django_assert_max_num_queries):
    LocationFactory.create_batch(3)
    with django_assert_max_num_queries(4) as small:
        api.get(URL, {"page_size": 500})
    LocationFactory.create_batch(57)
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.get(URL, {"page_size": 500}).json()["results"]) == 60
