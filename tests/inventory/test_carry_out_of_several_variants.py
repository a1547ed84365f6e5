"""A carry out of several variants takes every line at the selling store in one guarded statement, all or nothing.

The store's rows of the order's variants are locked in primary-key order and
changed only when each can give; otherwise nothing is taken and the order is
planned from a read as before, so the answer is the one it always was.
"""

import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from inventory import selectors, services
from inventory.models import Reservation, StockLevel, StockMovement
from inventory.services import LineNeed, sourcing
from omni import versions
from omni.catalog.models import Location, Variant
from omni.catalog.selectors import places
from omni.errors import InsufficientStock
from tests.factories import LocationFactory, VariantFactory
from tests.inventory.conftest import level_of, stock, stock_statement_plans

pytestmark = pytest.mark.django_db

MOVEMENT = ("location_id", "variant_id", "kind", "on_hand_delta", "reserved_delta", "quarantined_delta", "reason")


@pytest.fixture
def basket(db):
    """Three variants, each with a row of 5 units at the store (made in an order unlike the basket's)."""
    return [VariantFactory(sku=sku) for sku in ("SOCK-BLUE", "BELT-BLACK", "CAP-GREEN")]


def sell(store, *lines, order_id=None):
    return services.allocate(
        lines=[LineNeed(variant, quantity) for variant, quantity in lines],
        fulfilment="carry_out",
        selling_location=store,
        order_id=order_id,
    )


def sale_movements(**where) -> list[tuple]:
    return list(StockMovement.objects.filter(kind="sale", **where).order_by("pk").values_list(*MOVEMENT))


def shelves(store, variants) -> list[tuple[int, int]]:
    return [(level_of(store, v).on_hand, level_of(store, v).reserved) for v in variants]


def test_three_variants_are_one_statement_on_postgresql_and_two_on_sqlite(store, basket):
    for variant in reversed(basket):
        stock(store, variant, 5)
    sock, belt, cap = basket
    places()  # kept by the process, their token read with the rules' (as an order through the API does)
    with transaction.atomic(), versions.one_read():
        versions.tokens()
        with CaptureQueriesContext(connection) as queries:
            sell(store, (sock, 1), (belt, 2), (cap, 3), order_id=7)
    sent = [query["sql"] for query in queries.captured_queries]
    # Planned from a read, it was the read, a savepoint, a guarded change a row and the release: 6 on
    # PostgreSQL, 9 on SQLite (each change an UPDATE and an INSERT there).
    assert len(sent) == (1 if connection.vendor == "postgresql" else 2), sent
    assert not any(sql.startswith("SELECT") for sql in sent)
    assert shelves(store, basket) == [(4, 0), (3, 0), (2, 0)]
    assert sorted(sale_movements()) == sorted(
        (store.pk, v.pk, "sale", -n, 0, 0, "order 7") for v, n in ((sock, 1), (belt, 2), (cap, 3))
    )
    assert selectors.ledger_differences() == []


def test_the_movements_and_shelves_are_those_the_planned_path_writes(store, basket, monkeypatch):
    """The same basket sold at two stores, once by the statement and once by the plan from a read: the same rows."""
    other = LocationFactory(code="MI-BRERA")
    for where in (store, other):
        for variant in basket:
            stock(where, variant, 6, safety_stock=2)  # a till sells the safety stock
    services.hold(location=store, variant=basket[1], quantity=1, hold_minutes=60)
    services.hold(location=other, variant=basket[1], quantity=1, hold_minutes=60)
    sock, belt, cap = basket
    lines = ((cap, 2), (sock, 1), (cap, 1), (belt, 5))
    fast = sell(store, *lines, order_id=11)
    monkeypatch.setattr(sourcing, "_take_at_store", lambda *args, **kwargs: None)
    planned = sell(other, *lines, order_id=11)

    def answer(allocated):
        return [(a.variant.pk, a.quantity, a.taken, a.reservation_id) for a in allocated]

    assert answer(fast) == answer(planned)
    assert [a.location.pk for a in fast] == [store.pk] * 4 and [a.location.pk for a in planned] == [other.pk] * 4

    def without_location(rows):
        return sorted(row[1:] for row in rows)

    # The plan writes a movement a line in row order, the statement in line order: the same rows.
    assert without_location(sale_movements(location=store)) == without_location(sale_movements(location=other))
    assert len(sale_movements(location=store)) == 4
    assert shelves(store, basket) == shelves(other, basket) == [(5, 0), (1, 1), (3, 0)]
    assert Reservation.objects.filter(order_id=11).count() == 0
    assert selectors.ledger_differences() == []


@pytest.mark.postgres_only("the statement's row locks: SQLite has one writer and no FOR UPDATE")
def test_the_statement_locks_the_rows_in_primary_key_order(store, basket):
    for variant in basket:
        stock(store, variant, 5)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        sell(store, (basket[2], 1), (basket[0], 1))
    [sql] = [query["sql"] for query in queries.captured_queries]
    assert "ORDER BY s.id FOR NO KEY UPDATE OF s" in sql


@pytest.mark.postgres_only("prepared statements and their plans are PostgreSQL's")
@pytest.mark.parametrize("variants", [2, 3])
def test_the_statement_of_a_basket_of_several_variants_is_planned_once_for_every_basket(store, basket, variants):
    """Once prepared, PostgreSQL plans a basket's statement once (a generic plan) for every basket of as many
    lines, whatever their variants and units: the lines are values it can count, not arrays whose length only a
    plan of their values would know. The store has the shelves of a real one, their figures known to the planner."""
    chosen = basket[:variants]
    for variant in chosen:
        stock(store, variant, 100)
    product = chosen[0].product
    others = Variant.objects.bulk_create(
        Variant(product=product, sku=f"SHELF-{index:04d}", price=chosen[0].price) for index in range(400)
    )
    StockLevel.objects.bulk_create(StockLevel(location=store, variant=variant, on_hand=3) for variant in others)

    def sale_of(sale: int) -> None:
        lines = [(variant, 1 + (sale + index) % 3) for index, variant in enumerate(chosen)]
        sell(store, *(lines if sale % 2 else reversed(lines)), order_id=sale)

    generic, custom = stock_statement_plans(sale_of)
    assert generic >= 1 and custom <= 5, (generic, custom)
    sold = [sum(1 + (sale + index) % 3 for sale in range(1, 13)) for index in range(variants)]
    assert [level_of(store, variant).on_hand for variant in chosen] == [100 - units for units in sold]


def refused(fn) -> tuple[str, int]:
    """The message of the InsufficientStock `fn` raises inside a transaction that still answers afterwards."""
    with transaction.atomic():
        with pytest.raises(InsufficientStock) as error:
            fn()
        count = StockLevel.objects.count()  # the transaction goes on
    return str(error.value), count


def test_one_short_line_takes_nothing_and_is_named(store, basket):
    sock, belt, cap = basket
    stock(store, sock, 5)
    stock(store, belt, 1)
    stock(store, cap, 5)
    message, _ = refused(lambda: sell(store, (sock, 2), (belt, 2), (cap, 2)))
    assert message == "Not enough stock of BELT-BLACK at MI-DUOMO for 2 unit(s)."
    assert shelves(store, basket) == [(5, 0), (1, 0), (5, 0)] and sale_movements() == []


def test_a_variant_without_a_row_takes_nothing_and_is_named(store, basket):
    sock, belt, cap = basket
    stock(store, sock, 5)
    stock(store, cap, 5)
    message, _ = refused(lambda: sell(store, (sock, 1), (cap, 1), (belt, 1)))
    assert message == "Not enough stock of BELT-BLACK at MI-DUOMO for 1 unit(s)."
    assert not StockLevel.objects.filter(location=store, variant=belt).exists()
    assert [level_of(store, v).on_hand for v in (sock, cap)] == [5, 5] and sale_movements() == []


def test_a_closed_store_sells_none_of_the_basket(store, basket):
    for variant in basket:
        stock(store, variant, 5)
    Location.objects.filter(pk=store.pk).update(is_active=False)
    store.refresh_from_db()
    message, _ = refused(lambda: sell(store, *((v, 1) for v in basket)))
    assert message == "Not enough stock of SOCK-BLUE at MI-DUOMO for 1 unit(s)."
    assert shelves(store, basket) == [(5, 0)] * 3 and sale_movements() == []


def test_lines_of_one_variant_are_summed_against_the_shelf(store, basket):
    sock, belt, _cap = basket
    stock(store, sock, 4)
    stock(store, belt, 5)
    message, _ = refused(lambda: sell(store, (sock, 2), (belt, 1), (sock, 3)))
    assert message == "Not enough stock of SOCK-BLUE at MI-DUOMO for 3 unit(s)."  # the line that overflows, as before
    assert [level_of(store, v).on_hand for v in (sock, belt)] == [4, 5] and sale_movements() == []
    allocated = sell(store, (sock, 2), (belt, 1), (sock, 2), order_id=3)
    assert [(a.variant.pk, a.quantity) for a in allocated] == [(sock.pk, 2), (belt.pk, 1), (sock.pk, 2)]
    assert [level_of(store, v).on_hand for v in (sock, belt)] == [0, 4]
    assert [row[1:4] for row in sale_movements()] == [
        (sock.pk, "sale", -2),
        (belt.pk, "sale", -1),
        (sock.pk, "sale", -2),
    ]
    assert selectors.ledger_differences() == []


def test_held_units_stay_held_and_holds_are_untouched(store, basket):
    sock, belt, _cap = basket
    stock(store, sock, 3)
    stock(store, belt, 3)
    hold = services.hold(location=store, variant=belt, quantity=2, hold_minutes=60)
    message, _ = refused(lambda: sell(store, (sock, 1), (belt, 2)))
    assert message == "Not enough stock of BELT-BLACK at MI-DUOMO for 2 unit(s)."
    sell(store, (sock, 1), (belt, 1), order_id=5)
    assert shelves(store, [sock, belt]) == [(2, 0), (2, 2)]
    assert list(Reservation.objects.values_list("pk", "quantity", "status")) == [(hold.pk, 2, "active")]


def race(store, first, second, *, buyers: int = 8) -> list[str]:
    """`buyers` threads at once each sell a basket of one unit of each variant, half of them listing the variants
    one way and half the other; what each got ("sold", "refused", or the error it met)."""
    start = threading.Barrier(buyers)
    outcomes: list[str] = []

    def buy(index: int) -> None:
        try:
            location = Location.objects.get(pk=store.pk)
            a, b = Variant.objects.get(pk=first.pk), Variant.objects.get(pk=second.pk)
            lines = ((a, 1), (b, 1)) if index % 2 else ((b, 1), (a, 1))
            start.wait(20)
            with transaction.atomic():
                sell(location, *lines)
            outcomes.append("sold")
        except InsufficientStock:
            outcomes.append("refused")
        except Exception as error:  # a deadlock or any other failure is what these tests are about
            outcomes.append(repr(error))
        finally:
            connection.close()

    workers = [threading.Thread(target=buy, args=(index,)) for index in range(buyers)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return sorted(outcomes)


def test_baskets_racing_for_the_last_units_in_opposite_orders_each_sell_all_or_nothing(postgres):
    """Two variants with one unit each; half the buyers list them one way, half the other. The rows are locked in
    primary-key order whatever the basket's order, so nobody waits in a circle: one basket sells both units, every
    other is refused whole, and no row goes below zero."""
    store = LocationFactory(code="RACE-1")
    first, second = VariantFactory(sku="RACE-A"), VariantFactory(sku="RACE-B")
    for variant in (second, first):
        services.count(location=store, variant=variant, on_hand=1)
    assert race(store, first, second) == ["refused"] * 7 + ["sold"]
    assert [level_of(store, v).on_hand for v in (first, second)] == [0, 0]
    assert StockMovement.objects.filter(kind="sale").count() == 2
    assert selectors.ledger_differences() == []


def test_partial_stock_races_never_oversell_either_variant(postgres):
    """Three units of each of two variants, baskets of one of each in either order: exactly three sell."""
    store = LocationFactory(code="RACE-2")
    first, second = VariantFactory(sku="RACE-C"), VariantFactory(sku="RACE-D")
    for variant in (first, second):
        services.count(location=store, variant=variant, on_hand=3)
    assert race(store, first, second) == ["refused"] * 5 + ["sold"] * 3
    assert [level_of(store, v).on_hand for v in (first, second)] == [0, 0]
    assert StockMovement.objects.filter(kind="sale").count() == 6
    assert selectors.ledger_differences() == []
