"""Order history for an integrator: filtered by customer and by status."""

import pytest

from omni.orders.models import OrderStatus
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def numbers(api, **params) -> set[str]:
    response = api.get("/api/v1/orders/", params)
    assert response.status_code == 200, response.content
    return {row["number"] for row in response.json()["results"]}


def test_orders_are_filtered_by_status_and_customer(api):
    giulia = CustomerFactory()
    placed = OrderFactory(customer=giulia, status=OrderStatus.PLACED)
    ready = OrderFactory(customer=giulia, status=OrderStatus.READY_FOR_PICKUP)
    someone_elses = OrderFactory(status=OrderStatus.READY_FOR_PICKUP)
    assert numbers(api, status="ready_for_pickup") == {ready.number, someone_elses.number}
    assert numbers(api, status="ready_for_pickup", customer=giulia.pk) == {ready.number}
    assert numbers(api, customer=giulia.pk) == {placed.number, ready.number}


def test_an_unknown_status_is_a_400(api):
    response = api.get("/api/v1/orders/", {"status": "lost"})
    assert response.status_code == 400 and list(response.json()["errors"]) == ["status"]
