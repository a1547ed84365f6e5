"""A carry out of one variant takes from the selling store's row in one guarded statement, without reading first.

(Several variants: test_carry_out_of_several_variants.py.)

When the row cannot give (too few units, no row, a closed store), the order is
planned from a read as any other, so the refusal is the one it always was:
InsufficientStock naming the SKU, nothing written, the caller's transaction
still usable.
"""

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import selectors, services
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import LineNeed
from omni.catalog.models import Location, Variant
from omni.errors import InsufficientStock
from tests.factories import LocationFactory, VariantFactory
from tests.inventory.conftest import level_of, stock, stock_statement_plans

pytestmark = pytest.mark.django_db


def sell(store, *lines, order_id=None):
    return services.allocate(
        lines=[LineNeed(variant, quantity) for variant, quantity in lines],
        fulfilment="carry_out",
        selling_location=store,
        order_id=order_id,
    )


def statements(fn) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return [query["sql"] for query in queries.captured_queries]


def refused(fn) -> tuple[str, list[str]]:
    """The message of the InsufficientStock `fn` raises inside a transaction, and the statements it sent; the
    transaction must still answer a query afterwards (PostgreSQL refuses every statement of an aborted one)."""
    with transaction.atomic():
        with CaptureQueriesContext(connection) as queries, pytest.raises(InsufficientStock) as error:
            fn()
        assert StockLevel.objects.count() >= 0  # the transaction goes on
    return str(error.value), [query["sql"] for query in queries.captured_queries]


def movements() -> list[tuple[str, int, str]]:
    return list(StockMovement.objects.filter(kind="sale").order_by("pk").values_list("kind", "on_hand_delta", "reason"))


@pytest.mark.postgres_only("data-modifying CTEs: SQLite sends the same UPDATE and INSERT apart")
def test_a_carry_out_with_enough_stock_is_one_statement_and_no_read(store, shirt):
    stock(store, shirt, 5)
    with transaction.atomic():
        sent = statements(lambda: sell(store, (shirt, 2), order_id=None))
    assert len(sent) == 1, sent  # it was a read of the stock rows, then the guarded change
    assert sent[0].startswith("WITH line AS") and "UPDATE inventory_stocklevel" in sent[0]
    assert "INSERT INTO inventory_stockmovement" in sent[0]
    assert "FOR NO KEY UPDATE" not in sent[0]  # one row: its UPDATE is its lock
    assert level_of(store, shirt).on_hand == 3
    assert movements() == [("sale", -2, "carry_out")]


def test_a_carry_out_with_enough_stock_answers_as_before(store, shirt):
    stock(store, shirt, 5, safety_stock=4)  # a till sells the safety stock
    [allocated] = sell(store, (shirt, 5), order_id=77)
    assert (allocated.location.pk, allocated.variant.pk, allocated.quantity, allocated.taken) == (
        store.pk,
        shirt.pk,
        5,
        True,
    )
    assert allocated.reservation_id is None
    assert (level_of(store, shirt).on_hand, level_of(store, shirt).reserved) == (0, 0)
    assert movements() == [("sale", -5, "order 77")]
    assert selectors.ledger_differences() == []


def test_short_by_one_is_refused_by_name_with_nothing_written(store, shirt):
    stock(store, shirt, 2)
    message, sent = refused(lambda: sell(store, (shirt, 3)))
    assert message == "Not enough stock of SHIRT-RED-M at MI-DUOMO for 3 unit(s)."
    # the guarded change wrote nothing; the plan's read then named the line
    assert any("UPDATE inventory_stocklevel" in sql for sql in sent)
    assert level_of(store, shirt).on_hand == 2 and movements() == []


def test_a_store_without_a_row_of_the_variant_refuses_it_and_makes_no_row(store, shirt):
    message, _sent = refused(lambda: sell(store, (shirt, 1)))
    assert message == "Not enough stock of SHIRT-RED-M at MI-DUOMO for 1 unit(s)."
    assert not StockLevel.objects.filter(location=store, variant=shirt).exists() and movements() == []


def test_a_closed_store_sells_nothing_even_from_a_full_shelf(store, shirt):
    stock(store, shirt, 5)
    store.is_active = False
    store.save()
    message, _sent = refused(lambda: sell(store, (shirt, 1)))
    assert message == "Not enough stock of SHIRT-RED-M at MI-DUOMO for 1 unit(s)."
    assert level_of(store, shirt).on_hand == 5 and movements() == []


def test_units_held_are_not_sold_but_those_of_a_lapsed_hold_are(store, shirt):
    stock(store, shirt, 3)
    lapsed = services.hold(location=store, variant=shirt, quantity=2, hold_minutes=60)
    Reservation.objects.filter(pk=lapsed.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    services.hold(location=store, variant=shirt, quantity=1, hold_minutes=60)  # still holds its unit
    message, _sent = refused(lambda: sell(store, (shirt, 3)))
    assert message == "Not enough stock of SHIRT-RED-M at MI-DUOMO for 3 unit(s)."
    sell(store, (shirt, 2))  # the lapsed hold's two units are free
    assert (level_of(store, shirt).on_hand, level_of(store, shirt).reserved) == (1, 3)


@pytest.mark.postgres_only("prepared statements and their plans are PostgreSQL's")
def test_the_statement_of_a_one_variant_carry_out_is_planned_once_for_every_basket(store, shirt):
    """Once prepared, PostgreSQL plans it once (a generic plan) and does not plan it anew at each sale: its lines
    are values it can count, not arrays whose length only a plan of their values would know. The store has the
    shelves of a real one, their figures known to the planner, as in production."""
    stock(store, shirt, 100)
    others = Variant.objects.bulk_create(
        Variant(product=shirt.product, sku=f"SHELF-{index:04d}", price=shirt.price) for index in range(400)
    )
    StockLevel.objects.bulk_create(StockLevel(location=store, variant=variant, on_hand=3) for variant in others)
    generic, custom = stock_statement_plans(lambda units: sell(store, (shirt, 1 + units % 3), order_id=units))
    assert generic >= 1 and custom <= 5, (generic, custom)
    assert level_of(store, shirt).on_hand == 100 - sum(1 + units % 3 for units in range(1, 13))


@pytest.mark.postgres_only("data-modifying CTEs: SQLite sends the same UPDATE and INSERTs apart")
def test_two_lines_of_one_variant_are_one_statement_with_a_movement_each(store, shirt):
    stock(store, shirt, 5)
    with transaction.atomic():
        sent = statements(lambda: sell(store, (shirt, 2), (shirt, 3), order_id=9))
    assert len(sent) == 1, sent
    assert level_of(store, shirt).on_hand == 0
    # written by one statement: their order among themselves is the engine's
    assert sorted(movements()) == [("sale", -3, "order 9"), ("sale", -2, "order 9")]


def test_two_lines_of_one_variant_beyond_the_shelf_name_the_line_that_cannot_be_served(store, shirt):
    stock(store, shirt, 4)
    message, _sent = refused(lambda: sell(store, (shirt, 2), (shirt, 3)))
    assert message == "Not enough stock of SHIRT-RED-M at MI-DUOMO for 3 unit(s)."  # the second line, as before
    assert level_of(store, shirt).on_hand == 4 and movements() == []
    allocated = sell(store, (shirt, 2), (shirt, 2))
    assert [(a.quantity, a.taken) for a in allocated] == [(2, True), (2, True)]
    assert level_of(store, shirt).on_hand == 0 and selectors.ledger_differences() == []


def test_the_planned_read_is_of_the_stock_rows_alone(store, warehouse, shirt):
    """The other fulfilments (and a carry out that falls back to a plan) read the stock rows without a join: their
    locations are the ones the process keeps."""
    stock(warehouse, shirt, 5)
    with transaction.atomic():
        sent = statements(lambda: services.allocate(lines=[LineNeed(shirt, 1)], fulfilment="ship_to_home"))
    [read] = [sql for sql in sent if sql.startswith("SELECT") and "inventory_stocklevel" in sql]
    assert "JOIN" not in read and "catalog_location" not in read


def test_a_carry_out_of_the_last_unit_among_takers_one_sells_on_postgresql(postgres):
    store = LocationFactory(code="LAST-1")
    shirt = VariantFactory(sku="LAST-SHIRT")
    services.count(location=store, variant=shirt, on_hand=1)
    takers = 8
    start = threading.Barrier(takers)
    outcomes: list[str] = []

    def buy() -> None:
        try:
            location, variant = Location.objects.get(pk=store.pk), Variant.objects.get(pk=shirt.pk)
            start.wait(20)
            with transaction.atomic():
                sell(location, (variant, 1))
            outcomes.append("sold")
        except InsufficientStock:
            outcomes.append("refused")
        finally:
            connection.close()

    workers = [threading.Thread(target=buy) for _ in range(takers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    assert sorted(outcomes) == ["refused"] * (takers - 1) + ["sold"]
    assert level_of(store, shirt).on_hand == 0
    assert StockMovement.objects.filter(kind="sale").count() == 1
    assert selectors.ledger_differences() == []
