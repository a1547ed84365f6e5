"""allocate(): the order flow's choice of the locations that serve each line."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings

from inventory import selectors, services
from inventory.models import Reservation
from inventory.services import LineNeed
from omni.catalog.models import LocationKind
from omni.errors import InsufficientStock
from tests.factories import LocationFactory, OrderFactory, VariantFactory
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def monza(db):
    """A store a few kilometres from Milan that also ships."""
    return LocationFactory(
        code="MB-MONZA", latitude=Decimal("45.584"), longitude=Decimal("9.274"), ships_to_customers=True
    )


def where(allocations) -> list[tuple[str, int, bool]]:
    return [(a.location.code, a.quantity, a.taken) for a in allocations]


def test_carry_out_takes_the_units_from_the_selling_store_at_once(store, warehouse, shirt):
    stock(store, shirt, 2)
    stock(warehouse, shirt, 50)
    allocated = services.allocate(lines=[LineNeed(shirt, 2)], fulfilment="carry_out", selling_location=store)
    assert where(allocated) == [("MI-DUOMO", 2, True)]
    assert level_of(store, shirt).on_hand == 0
    with pytest.raises(InsufficientStock):
        services.allocate(lines=[LineNeed(shirt, 1)], fulfilment="carry_out", selling_location=store)


def test_click_and_collect_holds_at_the_pick_up_store_first(store, warehouse, shirt):
    stock(store, shirt, 1)
    stock(warehouse, shirt, 50)
    allocated = services.allocate(lines=[LineNeed(shirt, 1)], fulfilment="click_and_collect", pickup_location=store)
    assert where(allocated) == [("MI-DUOMO", 1, False)]
    assert level_of(store, shirt).reserved == 1


def test_click_and_collect_falls_back_to_a_warehouse_before_a_nearer_store(store, warehouse, monza, shirt):
    stock(monza, shirt, 5)
    stock(warehouse, shirt, 5)
    allocated = services.allocate(lines=[LineNeed(shirt, 2)], fulfilment="click_and_collect", pickup_location=store)
    assert where(allocated) == [("WH-BO", 2, False)]


@override_settings(INVENTORY_PREFER_WAREHOUSES=False)
def test_without_the_warehouse_preference_the_nearest_location_serves(store, warehouse, monza, shirt):
    stock(monza, shirt, 5)
    stock(warehouse, shirt, 5)
    allocated = services.allocate(lines=[LineNeed(shirt, 2)], fulfilment="ship_to_store", pickup_location=store)
    assert where(allocated) == [("MB-MONZA", 2, False)]


def test_ship_to_home_uses_only_locations_that_ship_nearest_to_the_customer(store, monza, shirt):
    far = LocationFactory(
        code="WH-NA", kind=LocationKind.WAREHOUSE, latitude=Decimal("40.85"), longitude=Decimal("14.27"),
        ships_to_customers=True,
    )  # fmt: skip
    near_milan = LocationFactory(
        code="WH-MI", kind=LocationKind.WAREHOUSE, latitude=Decimal("45.50"), longitude=Decimal("9.10"),
        ships_to_customers=True,
    )  # fmt: skip
    stock(store, shirt, 9)  # does not ship
    stock(far, shirt, 9)
    stock(near_milan, shirt, 9)
    allocated = services.allocate(lines=[LineNeed(shirt, 3)], fulfilment="ship_to_home", near=(45.46, 9.19))
    assert where(allocated) == [("WH-MI", 3, False)]


def test_a_line_is_not_split_unless_the_order_allows_it(store, warehouse, monza, shirt):
    stock(warehouse, shirt, 2)
    stock(monza, shirt, 2)
    with pytest.raises(InsufficientStock) as refused:
        services.allocate(lines=[LineNeed(shirt, 3)], fulfilment="ship_to_home", near=(45.46, 9.19))
    assert "SHIRT-RED-M" in refused.value.detail
    assert level_of(warehouse, shirt).reserved == level_of(monza, shirt).reserved == 0
    allocated = services.allocate(
        lines=[LineNeed(shirt, 3)], fulfilment="ship_to_home", near=(45.46, 9.19), allow_split=True
    )
    assert where(allocated) == [("WH-BO", 2, False), ("MB-MONZA", 1, False)]


def test_two_lines_of_the_same_sku_do_not_count_the_same_units_twice(store, warehouse, shirt):
    stock(warehouse, shirt, 3)
    with pytest.raises(InsufficientStock):
        services.allocate(lines=[LineNeed(shirt, 2), LineNeed(shirt, 2)], fulfilment="ship_to_home")


def test_when_one_line_cannot_be_served_the_callers_transaction_undoes_the_others(store, warehouse, shirt):
    scarce = VariantFactory(sku="SCARCE")
    stock(warehouse, shirt, 5)
    with pytest.raises(InsufficientStock) as refused, transaction.atomic():
        services.allocate(lines=[LineNeed(shirt, 1), LineNeed(scarce, 1)], fulfilment="ship_to_home")
    assert refused.value.extra == {"sku": "SCARCE"}
    assert level_of(warehouse, shirt).reserved == 0


def test_an_orders_holds_are_recorded_and_shipped_or_released_with_it(store, warehouse, shirt):
    stock(warehouse, shirt, 5)
    first, second = OrderFactory(), OrderFactory()
    services.allocate(lines=[LineNeed(shirt, 2)], fulfilment="ship_to_home", order_id=first.pk)
    services.allocate(lines=[LineNeed(shirt, 1)], fulfilment="ship_to_home", order_id=second.pk)
    assert Reservation.objects.filter(order=first, status="active", expires_at__isnull=True).count() == 1
    assert services.ship_order_holds(order_id=first.pk) == 2
    assert services.release_order_holds(order_id=second.pk) == 1
    level = level_of(warehouse, shirt)
    assert (level.on_hand, level.reserved) == (3, 0)
    assert services.release_expired_holds() == 0
    assert selectors.ledger_differences() == []
