"""A count below the units held for customers is refused (409 `count_below_reserved`) and writes nothing,
so a click & collect order can still be collected. Holds past their expiry hold nothing and do not count."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from inventory import services
from inventory.models import Reservation, StockMovement
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


def url(location: str = "MI-DUOMO", sku: str = "SHIRT-RED-M") -> str:
    return f"/api/v1/stock/{location}/{sku}/"


@pytest.fixture
def two_held(store, shirt):
    """Five on the shelf, two of them held for a click & collect customer."""
    stock(store, shirt, 5)
    services.hold(location=store, variant=shirt, quantity=2, hold_minutes=60)
    return StockMovement.objects.count()


def test_the_api_refuses_a_count_below_the_held_units_and_writes_nothing(api, store, shirt, two_held):
    response = api.put(url(), {"on_hand": 1}, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "count_below_reserved"
    level = level_of(store, shirt)
    assert (level.on_hand, level.reserved, StockMovement.objects.count()) == (5, 2, two_held)


def test_a_count_equal_to_the_held_units_is_accepted(api, store, shirt, two_held):
    response = api.put(url(), {"on_hand": 2}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["available"] == 0


def test_a_hold_past_its_expiry_does_not_block_a_count(api, store, shirt, two_held):
    Reservation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    response = api.put(url(), {"on_hand": 0}, format="json")
    assert response.status_code == 200, response.json()


def test_the_admin_count_form_refuses_it_with_a_message_and_writes_nothing(client, store, shirt, two_held):
    client.force_login(User.objects.create_superuser("capo", "capo@example.it", "pw-Secret-1"))
    response = client.post(
        "/admin/inventory/stocklevel/count/",
        {"location": store.pk, "sku": "SHIRT-RED-M", "on_hand": 1, "reason": "shelf count", "_save": "1"},
    )
    assert response.status_code == 200
    assert "held for customers and orders" in str(response.context["form"].non_field_errors())
    assert (level_of(store, shirt).on_hand, StockMovement.objects.count()) == (5, two_held)


def test_a_count_file_refuses_the_row_below_the_held_units_and_writes_nothing(store, shirt, two_held):
    rows = [services.CountRow(line=2, location="MI-DUOMO", sku="SHIRT-RED-M", on_hand=1)]
    with pytest.raises(services.CountFileInvalid) as refused:
        services.count_many(rows)
    assert "on_hand" in refused.value.row_errors[2]
    assert (level_of(store, shirt).on_hand, StockMovement.objects.count()) == (5, two_held)
