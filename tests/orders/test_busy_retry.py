"""A transaction that PostgreSQL picks as a deadlock victim is run again; one that keeps losing answers 409 busy.

The collision is made real on the server: the step that takes stock raises
SQLSTATE 40P01 (deadlock_detected) in PostgreSQL itself, which aborts the
transaction exactly as a detected deadlock does.
"""

from __future__ import annotations

from django.db import connection

from inventory import services as inventory
from inventory.models import StockMovement
from omni.orders.models import Order
from tests.orders.conftest import stock

BODY = {
    "channel": "store",
    "location": "MI01",
    "fulfilment": {"type": "carry_out"},
    "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
    "payments": [{"tender": "card", "amount": "39.90"}],
}


def losing(times: int, monkeypatch) -> list[int]:
    """Make the next `times` stock allocations deadlock victims; returns the list of attempts seen."""
    real_allocate = inventory.allocate
    attempts: list[int] = []

    def allocate(**kwargs):
        attempts.append(1)
        if len(attempts) <= times:
            with connection.cursor() as cursor:
                cursor.execute("DO $$ BEGIN RAISE EXCEPTION 'deadlock (test)' USING ERRCODE = '40P01'; END $$")
        return real_allocate(**kwargs)

    monkeypatch.setattr(inventory, "allocate", allocate)
    return attempts


def test_an_order_that_loses_a_deadlock_once_is_recorded_on_the_next_attempt(postgres, network, api, monkeypatch):
    stock(network["milano"], network["shirt"], 5)
    attempts = losing(1, monkeypatch)
    response = api.post("/api/v1/orders/", BODY, format="json")
    assert response.status_code == 201, response.content
    assert len(attempts) == 2
    assert Order.objects.count() == 1


def test_an_order_that_keeps_losing_answers_409_busy_with_retry_after_and_writes_nothing(
    postgres, network, api, monkeypatch, settings
):
    stock(network["milano"], network["shirt"], 5)
    movements = StockMovement.objects.count()
    attempts = losing(100, monkeypatch)
    response = api.post("/api/v1/orders/", BODY, format="json")
    assert response.status_code == 409, response.content
    assert response.json()["code"] == "busy"
    assert int(response["Retry-After"]) >= 1
    assert len(attempts) == settings.DB_RETRY_ATTEMPTS
    assert Order.objects.count() == 0
    assert StockMovement.objects.count() == movements


def test_with_an_idempotency_key_the_whole_request_is_run_again(postgres, network, api, monkeypatch):
    stock(network["milano"], network["shirt"], 5)
    attempts = losing(1, monkeypatch)
    response = api.post("/api/v1/orders/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="deadlocked-once")
    assert response.status_code == 201, response.content
    assert len(attempts) == 2
    replay = api.post("/api/v1/orders/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="deadlocked-once")
    assert replay.json()["number"] == response.json()["number"]
    assert Order.objects.count() == 1


def test_a_busy_answer_does_not_burn_the_idempotency_key(postgres, network, api, monkeypatch, settings):
    stock(network["milano"], network["shirt"], 5)
    attempts = losing(settings.DB_RETRY_ATTEMPTS, monkeypatch)
    busy = api.post("/api/v1/orders/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="busy-then-fine")
    assert busy.status_code == 409 and busy.json()["code"] == "busy"
    assert int(busy["Retry-After"]) >= 1
    again = api.post("/api/v1/orders/", BODY, format="json", HTTP_IDEMPOTENCY_KEY="busy-then-fine")
    assert again.status_code == 201, again.content
    assert len(attempts) == settings.DB_RETRY_ATTEMPTS + 1
    assert Order.objects.count() == 1
