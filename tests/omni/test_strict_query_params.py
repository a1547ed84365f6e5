"""A list refuses query parameters it does not know: a misspelt filter never lists everything."""

import pytest

from tests.factories import CustomerFactory, LocationFactory, OrderFactory, ProductFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("url", "misspelt"),
    [
        ("/api/v1/orders/", "chanel"),
        ("/api/v1/products/", "serch"),
        ("/api/v1/locations/", "kinds"),
        ("/api/v1/returns/", "oder"),
        ("/api/v1/customers/", "identifer"),
        ("/api/v1/variants/", "q"),
        ("/api/v1/stock/", "loc"),
        ("/api/v1/reservations/", "state"),
    ],
)
def test_an_unknown_parameter_is_a_400_naming_it(api, url, misspelt):
    OrderFactory()
    ProductFactory()
    LocationFactory()
    response = api.get(url, {misspelt: "web"})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert list(body["errors"]) == [misspelt]
    assert misspelt in body["detail"]


def test_every_unknown_parameter_is_named_and_the_known_ones_still_work(api):
    OrderFactory()
    response = api.get("/api/v1/orders/", {"chanel": "web", "stauts": "placed", "channel": "web", "page": 1})
    assert response.status_code == 400
    assert sorted(response.json()["errors"]) == ["chanel", "stauts"]


@pytest.mark.parametrize("param", ["page", "page_size", "format"])
def test_paging_and_format_are_known_to_every_list(api, param):
    OrderFactory()
    value = {"page": "1", "page_size": "10", "format": "json"}[param]
    response = api.get("/api/v1/orders/", {param: value})
    assert response.status_code == 200, response.content
    assert response.json()["count"] == 1


def test_a_list_that_reads_a_parameter_itself_knows_it(api):
    CustomerFactory(email="giulia@example.it")
    assert api.get("/api/v1/customers/", {"identifier": "nobody@example.it"}).status_code == 200


def test_a_list_paginated_without_filters_refuses_unknown_parameters_too(api):
    customer = CustomerFactory()
    assert api.get(f"/api/v1/customers/{customer.pk}/timeline/").status_code == 200
    response = api.get(f"/api/v1/customers/{customer.pk}/timeline/", {"kind": "order"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["kind"]
