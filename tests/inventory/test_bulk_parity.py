"""The bulk stock services write what the one-row services write, and never oversell.

For random stock (on hand, safety stock, holds, some of them lapsed) and a
random batch of lines, the same batch goes once through the one-row services
(`take`, `reserve`, `receive`, one call a line, in one transaction that a
refusal rolls back) and once through their bulk forms (`take_many`,
`reserve_many`, `restock_many`). Both must leave the same stock rows and the
same movements, in the same order, or both refuse with InsufficientStock and
write nothing.
"""

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from inventory import selectors, services
from inventory.available import available
from inventory.models import Reservation, StockLevel, StockMovement
from omni.catalog.models import Location, Variant
from omni.errors import InsufficientStock
from tests.factories import LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db

ROWS = 4  # two stores x two variants

rows_st = st.lists(
    st.tuples(
        st.integers(0, 6),  # on hand
        st.integers(0, 2),  # safety stock
        st.integers(0, 3),  # units of an active hold
        st.booleans(),  # the hold expired a minute ago (no job run)
    ),
    min_size=ROWS,
    max_size=ROWS,
)
lines_st = st.lists(st.tuples(st.integers(0, ROWS - 1), st.integers(1, 5)), min_size=1, max_size=8)


class _Undo(Exception):
    pass


@pytest.fixture
def keys(db):
    stores = [LocationFactory(code="MI01"), LocationFactory(code="RM01")]
    variants = [VariantFactory(sku="SHIRT-M"), VariantFactory(sku="SHIRT-L")]
    return [(store.pk, variant.pk) for store in stores for variant in variants]


def _set_up(keys, rows) -> None:
    for (location_id, variant_id), (on_hand, safety, held, lapsed) in zip(keys, rows, strict=True):
        location, variant = Location.objects.get(pk=location_id), Variant.objects.get(pk=variant_id)
        services.count(location=location, variant=variant, on_hand=on_hand)
        StockLevel.objects.filter(location=location, variant=variant).update(safety_stock=safety)
        held = min(held, max(on_hand - safety, 0))
        if held:
            hold = services.hold(location=location, variant=variant, quantity=held, hold_minutes=60)
            if lapsed:
                Reservation.objects.filter(pk=hold.pk).update(expires_at=timezone.now() - timedelta(minutes=1))


def _run(keys, rows, write) -> tuple[str, list, list]:
    """Set the stock up, apply `write`, and read what it left; everything is rolled back afterwards."""
    try:
        with transaction.atomic():
            _set_up(keys, rows)
            mark = StockMovement.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
            outcome = "written"
            try:
                with transaction.atomic():
                    write()
            except InsufficientStock:
                outcome = "refused"
            levels = [
                (row.location_id, row.variant_id, row.on_hand, row.reserved, selectors.units_available(row))
                for row in selectors.with_available().order_by("location_id", "variant_id")
            ]
            movements = list(
                StockMovement.objects.filter(pk__gt=mark)
                .order_by("pk")
                .values_list("location_id", "variant_id", "kind", "on_hand_delta", "reserved_delta", "reason")
            )
            raise _Undo
    except _Undo:
        return outcome, levels, movements


ONE_ROW = {"take": services.take, "reserve": services.reserve, "restock": services.receive}
BULK = {"take": services.take_many, "reserve": services.reserve_many, "restock": services.restock_many}


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_st, picks=lines_st, kind=st.sampled_from(sorted(ONE_ROW)))
def test_the_same_lines_through_the_one_row_and_the_bulk_services_write_the_same_rows(keys, rows, picks, kind):
    lines = [
        services.StockLine(*keys[index], quantity=quantity, reason=f"line {n}")
        for n, (index, quantity) in enumerate(picks)
    ]

    def one_by_one():
        for line in lines:
            ONE_ROW[kind](
                location=Location.objects.get(pk=line.location_id),
                variant=Variant.objects.get(pk=line.variant_id),
                quantity=line.quantity,
                reason=line.reason,
            )

    one = _run(keys, rows, one_by_one)
    bulk = _run(keys, rows, lambda: BULK[kind](lines))
    assert bulk == one
    outcome, levels, _movements = bulk
    assert all(on_hand >= 0 for *_key, on_hand, _reserved, _units in levels)
    if outcome == "written" and kind == "reserve":
        # A hold never reaches into the safety stock or another hold: the rows it touched keep available >= 0.
        touched = {line.location_id for line in lines}
        assert all(units >= 0 for location_id, *_rest, units in levels if location_id in touched)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=rows_st, picks=lines_st)
def test_till_sales_in_bulk_never_take_on_hand_below_zero_and_keep_the_ledger(keys, rows, picks):
    lines = [services.StockLine(*keys[index], quantity=quantity, reason="till") for index, quantity in picks]

    def till():
        plan = services.take_many(lines, at_the_till=True)
        assert plan is not None
        sold = sum(line.quantity for line in lines)
        beyond = sum(short.units for short in plan.shortfalls if short.beyond_on_hand)
        found = StockMovement.objects.filter(kind="adjustment", reason__startswith=services.TILL_SHORTFALL_REASON)
        assert sum(found.values_list("on_hand_delta", flat=True)) == beyond
        assert sum(-m for m in StockMovement.objects.filter(kind="sale").values_list("on_hand_delta", flat=True)) == (
            sold
        )
        assert selectors.ledger_differences() == []

    outcome, levels, _movements = _run(keys, rows, till)
    assert outcome == "written"
    assert all(on_hand >= 0 for *_key, on_hand, _reserved, _units in levels)


def test_a_bulk_take_refuses_the_whole_batch_naming_the_line_that_cannot_be_served(keys):
    _set_up(keys, [(2, 0, 0, False), (1, 0, 0, False), (0, 0, 0, False), (0, 0, 0, False)])
    before = StockMovement.objects.count()
    lines = [services.StockLine(*keys[0], quantity=2), services.StockLine(*keys[1], quantity=2)]
    with pytest.raises(InsufficientStock, match="SHIRT-L at MI01"):
        services.take_many(lines)
    assert StockMovement.objects.count() == before
    assert list(StockLevel.objects.order_by("pk").values_list("on_hand", flat=True)[:2]) == [2, 1]


def test_the_python_and_sql_forms_of_the_formula_agree(keys):
    _set_up(keys, [(5, 1, 2, True), (5, 1, 2, False), (1, 2, 0, False), (0, 0, 0, False)])
    for row in selectors.with_available().order_by("location_id", "variant_id"):
        lapsed = sum(
            Reservation.objects.filter(
                location_id=row.location_id, variant_id=row.variant_id, status="active", expires_at__lte=timezone.now()
            ).values_list("quantity", flat=True)
        )
        assert selectors.units_available(row) == max(
            available(row.on_hand, row.reserved, row.safety_stock, lapsed=lapsed), 0
        )
