"""Click & collect holds: made, cancelled, and released by the scheduled task when they expire."""

from datetime import timedelta

import pytest
from django.utils import timezone

from inventory import services, tasks
from inventory.models import Reservation, StockMovement
from tests.factories import CustomerFactory
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


def hold_body(**overrides):
    return {"sku": "SHIRT-RED-M", "quantity": 2, "location": "MI-DUOMO", "hold_minutes": 60, **overrides}


def test_a_hold_reserves_the_units_and_answers_its_id_and_expiry(api, store, shirt):
    stock(store, shirt, 5)
    customer = CustomerFactory()
    before = timezone.now()
    response = api.post("/api/v1/reservations/", hold_body(customer=customer.pk), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "active" and body["quantity"] == 2 and body["customer"] == customer.pk
    expires = Reservation.objects.get(pk=body["id"]).expires_at
    assert timedelta(minutes=59) < expires - before < timedelta(minutes=61)
    assert level_of(store, shirt).reserved == 2


def test_holding_more_than_is_available_answers_insufficient_stock(api, store, shirt):
    stock(store, shirt, 1)
    response = api.post("/api/v1/reservations/", hold_body(), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_stock"
    assert not Reservation.objects.exists()
    assert level_of(store, shirt).reserved == 0


@pytest.mark.parametrize(
    "overrides, field",
    [
        ({"quantity": 0}, "quantity"),
        ({"quantity": 10**9}, "quantity"),
        ({"quantity": "two"}, "quantity"),
        ({"hold_minutes": 0}, "hold_minutes"),
        ({"hold_minutes": 20_000}, "hold_minutes"),
        ({"sku": None}, "sku"),
        ({"customer": "someone"}, "customer"),
    ],
)
def test_bad_input_answers_invalid_and_holds_nothing(api, store, shirt, overrides, field):
    stock(store, shirt, 5)
    response = api.post("/api/v1/reservations/", hold_body(**overrides), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not Reservation.objects.exists()


@pytest.mark.parametrize("overrides", [{"sku": "NOPE"}, {"location": "NOWHERE"}, {"customer": 999_999}])
def test_an_unknown_sku_location_or_customer_answers_not_found(api, store, shirt, overrides):
    stock(store, shirt, 5)
    response = api.post("/api/v1/reservations/", hold_body(**overrides), format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert level_of(store, shirt).reserved == 0


def test_a_warehouse_is_not_a_pick_up_point(api, warehouse, shirt):
    stock(warehouse, shirt, 5)
    response = api.post("/api/v1/reservations/", hold_body(location="WH-BO"), format="json")
    assert response.status_code == 400
    assert "location" in response.json()["errors"]


def test_cancelling_a_hold_gives_the_units_back_once(api, store, shirt):
    stock(store, shirt, 5)
    hold_id = api.post("/api/v1/reservations/", hold_body(), format="json").json()["id"]
    response = api.post(f"/api/v1/reservations/{hold_id}/cancel/")
    assert response.status_code == 200
    assert response.json()["status"] == "released"
    assert level_of(store, shirt).reserved == 0
    again = api.post(f"/api/v1/reservations/{hold_id}/cancel/")
    assert again.status_code == 409
    assert again.json()["code"] == "invalid_transition"
    assert level_of(store, shirt).reserved == 0


def test_cancelling_an_unknown_hold_answers_not_found(api):
    assert api.post("/api/v1/reservations/424242/cancel/").status_code == 404


def test_a_repeated_post_with_the_same_idempotency_key_holds_once(api, store, shirt):
    stock(store, shirt, 5)
    first = api.post("/api/v1/reservations/", hold_body(), format="json", HTTP_IDEMPOTENCY_KEY="hold-1")
    second = api.post("/api/v1/reservations/", hold_body(), format="json", HTTP_IDEMPOTENCY_KEY="hold-1")
    assert first.json() == second.json()
    assert level_of(store, shirt).reserved == 2


def test_reservations_need_the_orders_scope(make_api_client, store, shirt):
    stock(store, shirt, 5)
    assert make_api_client(["stock"]).post("/api/v1/reservations/", hold_body(), format="json").status_code == 403


def test_expired_holds_are_released_once_however_often_the_task_runs(store, shirt):
    stock(store, shirt, 5)
    now = timezone.now()
    old = services.hold(location=store, variant=shirt, quantity=2, hold_minutes=30, now=now - timedelta(hours=1))
    fresh = services.hold(location=store, variant=shirt, quantity=1, hold_minutes=30)
    assert tasks.release_expired_holds.apply().get() == 1
    assert services.release_expired_holds() == 0
    old.refresh_from_db()
    fresh.refresh_from_db()
    assert (old.status, fresh.status) == ("expired", "active")
    assert level_of(store, shirt).reserved == 1
    assert StockMovement.objects.filter(kind="release").count() == 1


def test_a_collected_hold_leaves_stock_and_cannot_expire_later(store, shirt):
    stock(store, shirt, 5)
    held = services.hold(location=store, variant=shirt, quantity=2, hold_minutes=1)
    services.collect_hold(reservation=held)
    assert services.release_expired_holds(timezone.now() + timedelta(hours=1)) == 0
    level = level_of(store, shirt)
    assert (level.on_hand, level.reserved) == (3, 0)
