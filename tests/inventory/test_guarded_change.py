"""The stock step of an order: each planned row changes by one guarded statement, its movement (and hold) with it."""

import io
import re
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory import services
from inventory.models import Reservation, StockMovement
from inventory.services import LineNeed, sourcing
from omni import versions
from omni.catalog.models import LocationKind
from omni.catalog.selectors import places
from omni.errors import InsufficientStock
from tests.factories import LocationFactory, OrderFactory, VariantFactory
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def shippers(db):
    """Three warehouses that ship, nearest first from Milan (made in that order: their rows' ids rise with it)."""
    return [
        LocationFactory(
            code=code,
            kind=LocationKind.WAREHOUSE,
            latitude=Decimal(lat),
            longitude=Decimal(lon),
            ships_to_customers=True,
            is_pickup_point=False,
        )  # fmt: skip
        for code, lat, lon in (("WH-MI", "45.50", "9.10"), ("WH-BO", "44.49", "11.34"), ("WH-NA", "40.85", "14.27"))
    ]


def stock_moves_after_the_plan(monkeypatch, move, times: int = 1) -> list[int]:
    """Make `move()` happen right after each of the first `times` plans, as another order would; counts the plans."""
    plans: list[int] = []
    plan = sourcing._plan

    def plan_then_move(*args, **kwargs):
        plans.append(1)
        made = plan(*args, **kwargs)
        if len(plans) <= times:
            move()
        return made

    monkeypatch.setattr(sourcing, "_plan", plan_then_move)
    return plans


def planned_carry_out(monkeypatch) -> None:
    """A carry out goes the planned way, as when its one statement could not take the units at that moment
    (test_carry_out_of_several_variants.py tests that statement)."""
    monkeypatch.setattr(sourcing, "_take_at_store", lambda *args, **kwargs: None)


def ledger_matches() -> bool:
    out = io.StringIO()
    call_command("check_stock_ledger", stdout=out)
    return "matches" in out.getvalue()


def statements(fn) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return [query["sql"] for query in queries.captured_queries]


@pytest.mark.postgres_only("data-modifying CTEs: SQLite runs the same change as two statements")
def test_a_planned_carry_out_of_several_variants_is_one_plain_read_and_one_statement_per_row(monkeypatch, store, shirt):
    planned_carry_out(monkeypatch)
    other = VariantFactory(sku="OTHER")
    stock(store, shirt, 5)
    stock(store, other, 5)
    places()  # the process keeps the locations: an order through the API reads their token with the rules'
    with transaction.atomic(), versions.one_read():
        versions.tokens()
        sent = statements(
            lambda: services.allocate(
                lines=[LineNeed(shirt, 2), LineNeed(other, 1)], fulfilment="carry_out", selling_location=store
            )
        )
    # the read, then a savepoint around the two rows' changes (it was a locked read, then updates and inserts)
    assert len(sent) == 5, [sql[:60] for sql in sent]
    read, _savepoint, *changes, _release = sent
    assert "FOR UPDATE" not in read and "JOIN" not in read
    for change in changes:
        assert change.startswith("WITH moved AS (UPDATE") and "INSERT INTO inventory_stockmovement" in change
    assert (level_of(store, shirt).on_hand, StockMovement.objects.filter(kind="sale").count()) == (3, 2)


@pytest.mark.postgres_only("data-modifying CTEs: SQLite runs the same change as three statements")
def test_an_order_hold_rides_in_the_same_statement_as_its_stock_change_and_movement(store, warehouse, shirt):
    stock(warehouse, shirt, 5)
    order = OrderFactory()
    places()  # kept by the process, their token read with the rules' (as an order through the API does)
    with transaction.atomic(), versions.one_read():
        versions.tokens()
        sent = statements(
            lambda: services.allocate(lines=[LineNeed(shirt, 2)], fulfilment="ship_to_home", order_id=order.pk)
        )
    assert len(sent) == 2, sent  # it was a read, a locked read, the update, the movement and the hold
    hold = Reservation.objects.get(order=order)
    assert (hold.location_id, hold.quantity, hold.status, hold.expires_at) == (warehouse.pk, 2, "active", None)
    assert level_of(warehouse, shirt).reserved == 2


def test_the_allocation_names_the_hold_it_wrote(warehouse, shirt):
    stock(warehouse, shirt, 5)
    order = OrderFactory()
    [allocated] = services.allocate(lines=[LineNeed(shirt, 2)], fulfilment="ship_to_home", order_id=order.pk)
    hold = Reservation.objects.get(pk=allocated.reservation_id)
    assert (hold.order_id, hold.quantity, hold.reason) == (order.pk, 2, f"order {order.pk}")
    movement = StockMovement.objects.get(kind="reservation")
    assert (movement.reserved_delta, movement.on_hand_delta, movement.reason) == (2, 0, f"order {order.pk}")
    assert ledger_matches()


def test_rows_change_in_primary_key_order_whatever_the_order_of_the_lines(monkeypatch, store):
    planned_carry_out(monkeypatch)
    first, second = VariantFactory(sku="FIRST"), VariantFactory(sku="SECOND")
    low, high = stock(store, first, 5), stock(store, second, 5)
    with transaction.atomic():
        sent = statements(
            lambda: services.allocate(
                lines=[LineNeed(second, 1), LineNeed(first, 1)], fulfilment="carry_out", selling_location=store
            )
        )
    changed = [int(row) for sql in sent for row in re.findall(r"CAST\(\s*(\d+) AS bigint\) AS level_id", sql)]
    assert changed == [low.pk, high.pk]


def test_a_carry_out_whose_stock_was_sold_meanwhile_is_planned_again_and_refused(monkeypatch, store, shirt):
    planned_carry_out(monkeypatch)
    other = VariantFactory(sku="OTHER")
    stock(store, shirt, 5)
    stock(store, other, 5)
    plans = stock_moves_after_the_plan(
        monkeypatch, lambda: services.take(location=store, variant=shirt, quantity=3, reason="another till")
    )
    with transaction.atomic():
        with pytest.raises(InsufficientStock, match="SHIRT-RED-M at MI-DUOMO"):
            services.allocate(
                lines=[LineNeed(shirt, 3), LineNeed(other, 1)], fulfilment="carry_out", selling_location=store
            )
        assert len(plans) == 2
        # nothing of the order was written, and the caller's transaction goes on
        assert (level_of(store, shirt).on_hand, level_of(store, other).on_hand) == (2, 5)
        assert list(StockMovement.objects.filter(kind="sale").values_list("reason", flat=True)) == ["another till"]
    assert ledger_matches()


def test_a_hold_whose_location_sold_out_meanwhile_goes_to_the_next_location(monkeypatch, shippers, shirt):
    near, middle, _far = shippers
    stock(near, shirt, 3)
    stock(middle, shirt, 3)
    stock_moves_after_the_plan(monkeypatch, lambda: services.take(location=near, variant=shirt, quantity=2))
    allocated = services.allocate(lines=[LineNeed(shirt, 3)], fulfilment="ship_to_home", near=(45.46, 9.19))
    assert [(a.location.code, a.quantity) for a in allocated] == [("WH-BO", 3)]
    assert (level_of(near, shirt).reserved, level_of(middle, shirt).reserved) == (0, 3)
    assert ledger_matches()


def test_a_split_plan_whose_later_row_fails_takes_nothing_from_the_rows_before_it(monkeypatch, shippers, shirt):
    near, middle, far = shippers
    for location in shippers:
        stock(location, shirt, 3)
    order = OrderFactory()
    # The first plan holds 3 at WH-MI and 3 at WH-BO; WH-BO sells one before its change: WH-MI's change
    # (made first, lower id) goes back with the savepoint, and the new plan holds 3 + 2 + 1.
    plans = stock_moves_after_the_plan(monkeypatch, lambda: services.take(location=middle, variant=shirt, quantity=1))
    with transaction.atomic():
        allocated = services.allocate(
            lines=[LineNeed(shirt, 6)], fulfilment="ship_to_home", near=(45.46, 9.19), allow_split=True,
            order_id=order.pk,
        )  # fmt: skip
    assert len(plans) == 2
    assert [(a.location.code, a.quantity) for a in allocated] == [("WH-MI", 3), ("WH-BO", 2), ("WH-NA", 1)]
    assert [level_of(location, shirt).reserved for location in shippers] == [3, 2, 1]
    assert sorted(StockMovement.objects.filter(kind="reservation").values_list("reserved_delta", flat=True)) == [
        1,
        2,
        3,
    ]
    holds = Reservation.objects.filter(order=order)
    assert sorted(holds.values_list("pk", flat=True)) == sorted(a.reservation_id for a in allocated)
    assert sorted(holds.values_list("quantity", flat=True)) == [1, 2, 3]
    assert ledger_matches()


def test_stock_that_keeps_moving_is_refused_after_three_plans_with_nothing_written(monkeypatch, store, shirt):
    planned_carry_out(monkeypatch)
    other = VariantFactory(sku="OTHER")
    stock(store, shirt, 9)
    stock(store, other, 9)
    read = sourcing._candidates
    first: list = []

    def first_figures(*args):
        """Every plan is made on the figures of the first read (9 units), as if each read came just before a sale."""
        if not first:
            first.append(read(*args))
        return first[0]

    monkeypatch.setattr(sourcing, "_candidates", first_figures)
    plans = stock_moves_after_the_plan(monkeypatch, lambda: services.take(location=store, variant=shirt, quantity=4))
    with pytest.raises(InsufficientStock, match="kept changing"):
        services.allocate(
            lines=[LineNeed(shirt, 6), LineNeed(other, 1)], fulfilment="carry_out", selling_location=store
        )
    assert len(plans) == 3
    assert (level_of(store, shirt).on_hand, level_of(store, other).on_hand) == (5, 9)  # the other sale only
    assert StockMovement.objects.filter(kind="sale").count() == 1
    assert ledger_matches()
