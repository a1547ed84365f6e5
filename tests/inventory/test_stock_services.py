"""Every change of stock goes through a named service and leaves its movement in the ledger."""

import pytest

from inventory import selectors, services
from inventory.models import MovementKind, StockMovement
from omni.actor import Actor
from omni.errors import CountBelowReserved, InsufficientStock, Invalid, InvalidTransition
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


def test_a_first_count_creates_the_row_and_a_count_movement_of_the_whole_figure(store, shirt):
    level = services.count(location=store, variant=shirt, on_hand=7, reason="opening count")
    assert (level.on_hand, level.reserved) == (7, 0)
    movement = StockMovement.objects.get()
    assert (movement.kind, movement.on_hand_delta, movement.reason) == ("count", 7, "opening count")


def test_a_recount_writes_only_the_difference_and_who_counted(store, shirt, django_user_model):
    clerk = django_user_model.objects.create_user("clerk")
    stock(store, shirt, 10)
    services.count(location=store, variant=shirt, on_hand=6, reason="cycle count", actor=Actor(user=clerk))
    last = StockMovement.objects.order_by("-pk").first()
    assert (last.on_hand_delta, last.user, last.reason) == (-4, clerk, "cycle count")
    assert level_of(store, shirt).on_hand == 6


def test_a_count_below_the_reserved_units_is_refused_and_leaves_the_holds_whole(store, shirt):
    stock(store, shirt, 5)
    services.reserve(location=store, variant=shirt, quantity=3)
    with pytest.raises(CountBelowReserved):
        services.count(location=store, variant=shirt, on_hand=1)
    level = selectors.stock_of(store, shirt)
    assert (level.on_hand, level.reserved, selectors.units_available(level)) == (5, 3, 2)


@pytest.mark.parametrize("on_hand", [-1, 1_000_001, "5", 2.5, True, None])
def test_a_count_out_of_range_or_not_a_whole_number_writes_nothing(store, shirt, on_hand):
    with pytest.raises(Invalid):
        services.count(location=store, variant=shirt, on_hand=on_hand)
    assert not StockMovement.objects.exists()


def test_reserving_leaves_the_safety_stock_alone(store, shirt):
    stock(store, shirt, 5, safety_stock=2)
    services.reserve(location=store, variant=shirt, quantity=3)
    with pytest.raises(InsufficientStock):
        services.reserve(location=store, variant=shirt, quantity=1)
    assert level_of(store, shirt).reserved == 3


def test_carry_out_may_sell_the_safety_stock_but_never_a_reserved_unit(store, shirt):
    stock(store, shirt, 3, safety_stock=2)
    services.reserve(location=store, variant=shirt, quantity=1)
    services.take(location=store, variant=shirt, quantity=2)
    with pytest.raises(InsufficientStock) as refused:
        services.take(location=store, variant=shirt, quantity=1)
    assert refused.value.code == "insufficient_stock"
    level = level_of(store, shirt)
    assert (level.on_hand, level.reserved) == (1, 1)


def test_shipping_reserved_units_takes_them_out_of_on_hand_and_reserved(store, shirt):
    stock(store, shirt, 4)
    services.reserve(location=store, variant=shirt, quantity=3)
    services.ship_reserved(location=store, variant=shirt, quantity=3)
    level = level_of(store, shirt)
    assert (level.on_hand, level.reserved) == (1, 0)
    with pytest.raises(InvalidTransition):
        services.ship_reserved(location=store, variant=shirt, quantity=1)


def test_releasing_more_than_is_held_is_refused(store, shirt):
    stock(store, shirt, 4)
    services.reserve(location=store, variant=shirt, quantity=1)
    with pytest.raises(InvalidTransition):
        services.release(location=store, variant=shirt, quantity=2)
    services.release(location=store, variant=shirt, quantity=1)
    assert level_of(store, shirt).reserved == 0


def test_a_resellable_return_adds_stock_and_a_damaged_one_goes_to_quarantine(store, shirt):
    services.receive(location=store, variant=shirt, quantity=2, kind=MovementKind.RETURN, reason="RMA-1")
    services.quarantine(location=store, variant=shirt, quantity=1, reason="RMA-1 damaged")
    level = selectors.stock_of(store, shirt)
    assert (level.on_hand, level.quarantined, selectors.units_available(level)) == (2, 1, 2)
    kinds = sorted(StockMovement.objects.values_list("kind", flat=True))
    assert kinds == ["quarantine", "return"]


def test_receiving_as_a_sale_is_not_a_receipt(store, shirt):
    with pytest.raises(Invalid):
        services.receive(location=store, variant=shirt, quantity=1, kind=MovementKind.SALE)


def test_an_adjustment_needs_a_reason_and_cannot_take_reserved_units(store, shirt):
    stock(store, shirt, 3)
    services.reserve(location=store, variant=shirt, quantity=2)
    with pytest.raises(Invalid):
        services.adjust(location=store, variant=shirt, delta=-1, reason=" ")
    with pytest.raises(InsufficientStock):
        services.adjust(location=store, variant=shirt, delta=-2, reason="broken")
    services.adjust(location=store, variant=shirt, delta=-1, reason="broken")
    assert level_of(store, shirt).on_hand == 2


@pytest.mark.parametrize("quantity", [0, -3, 100_001, "2"])
def test_quantities_below_one_or_absurd_write_nothing(store, shirt, quantity):
    stock(store, shirt, 5)
    before = StockMovement.objects.count()
    for operation in (services.reserve, services.take, services.receive, services.release):
        with pytest.raises(Invalid):
            operation(location=store, variant=shirt, quantity=quantity)
    assert StockMovement.objects.count() == before
    assert level_of(store, shirt).on_hand == 5


def test_after_every_kind_of_change_the_rows_equal_the_ledger(store, warehouse, shirt):
    stock(store, shirt, 10)
    services.receive(location=warehouse, variant=shirt, quantity=20)
    services.reserve(location=store, variant=shirt, quantity=4)
    services.release(location=store, variant=shirt, quantity=1)
    services.ship_reserved(location=store, variant=shirt, quantity=2)
    services.take(location=warehouse, variant=shirt, quantity=3)
    services.quarantine(location=store, variant=shirt, quantity=1)
    services.adjust(location=warehouse, variant=shirt, delta=2, reason="found")
    services.count(location=store, variant=shirt, on_hand=9)
    assert selectors.ledger_differences() == []
