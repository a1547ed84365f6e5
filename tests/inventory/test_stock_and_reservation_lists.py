"""Stock rows per location and SKU; reservations by customer, location and status, and one on its own."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services
from inventory.models import Reservation, ReservationStatus
from tests.factories import CustomerFactory, LocationFactory, VariantFactory
from tests.inventory.conftest import stock

pytestmark = pytest.mark.django_db


def test_stock_rows_are_listed_by_location_and_sku_and_filtered(api, store, warehouse, shirt):
    trousers = VariantFactory(sku="TROUSERS-40")
    stock(store, shirt, 5)
    stock(warehouse, shirt, 7)
    stock(warehouse, trousers, 3)
    rows = api.get("/api/v1/stock/").json()["results"]
    assert [(r["location"], r["sku"], r["on_hand"], r["available"]) for r in rows] == [
        ("MI-DUOMO", "SHIRT-RED-M", 5, 5),
        ("WH-BO", "SHIRT-RED-M", 7, 7),
        ("WH-BO", "TROUSERS-40", 3, 3),
    ]
    by_location = api.get("/api/v1/stock/", {"location": "WH-BO"}).json()["results"]
    assert [r["sku"] for r in by_location] == ["SHIRT-RED-M", "TROUSERS-40"]
    by_sku = api.get("/api/v1/stock/", {"sku": "SHIRT-RED-M"}).json()["results"]
    assert [r["location"] for r in by_sku] == ["MI-DUOMO", "WH-BO"]
    both = api.get("/api/v1/stock/", {"sku": "SHIRT-RED-M", "location": "WH-BO"}).json()
    assert both["count"] == 1 and both["results"][0]["reserved"] == 0


def test_the_stock_list_needs_the_stock_scope(make_api_client):
    assert make_api_client(scopes=["orders"]).get("/api/v1/stock/").status_code == 403


@pytest.fixture
def holds(store, shirt):
    other_store = LocationFactory(code="TO-CENTRO")
    stock(store, shirt, 10)
    stock(other_store, shirt, 10)
    anna, bruno = CustomerFactory(), CustomerFactory()

    def hold(location, customer, minutes=60):
        return services.hold(
            location=location, variant=shirt, quantity=1, customer_id=customer.pk, hold_minutes=minutes, reason="t"
        )

    made = {
        "anna-duomo": hold(store, anna),
        "anna-torino": hold(other_store, anna),
        "bruno-duomo": hold(store, bruno),
        "bruno-lapsed": hold(store, bruno),
        "bruno-cancelled": hold(store, bruno),
    }
    services.cancel_hold(reservation=made["bruno-cancelled"], reason="changed mind")
    # Past its expiry, and the tidying task has not run yet.
    Reservation.objects.filter(pk=made["bruno-lapsed"].pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    return {"anna": anna, "bruno": bruno, **{name: r.pk for name, r in made.items()}}


def ids(api, **params) -> set[int]:
    response = api.get("/api/v1/reservations/", params)
    assert response.status_code == 200, response.content
    return {row["id"] for row in response.json()["results"]}


def test_reservations_are_listed_by_customer_location_and_status(api, holds):
    assert ids(api, customer=holds["anna"].pk) == {holds["anna-duomo"], holds["anna-torino"]}
    assert ids(api, location="TO-CENTRO") == {holds["anna-torino"]}
    assert ids(api, customer=holds["bruno"].pk, status="released") == {holds["bruno-cancelled"]}
    assert ids(api, location="MI-DUOMO", status="active") == {holds["anna-duomo"], holds["bruno-duomo"]}
    assert len(ids(api)) == 5


def test_a_hold_past_its_expiry_is_listed_and_shown_as_expired_before_the_task_runs(api, holds):
    assert Reservation.objects.get(pk=holds["bruno-lapsed"]).status == ReservationStatus.ACTIVE
    assert ids(api, status="expired") == {holds["bruno-lapsed"]}
    assert holds["bruno-lapsed"] not in ids(api, status="active")
    detail = api.get(f"/api/v1/reservations/{holds['bruno-lapsed']}/").json()
    assert detail["status"] == "expired"


def test_one_reservation_is_read_on_its_own(api, holds):
    response = api.get(f"/api/v1/reservations/{holds['anna-torino']}/")
    assert response.status_code == 200
    assert response.json()["location"] == "TO-CENTRO" and response.json()["status"] == "active"
    assert api.get("/api/v1/reservations/999999/").json()["code"] == "not_found"


@pytest.mark.parametrize("params", [{"status": "lost"}, {"customer": "anna"}, {"customer": "0"}])
def test_bad_filter_values_are_a_400(api, holds, params):
    response = api.get("/api/v1/reservations/", params)
    assert response.status_code == 400 and response.json()["code"] == "invalid"
