"""The bulk stock paths write their ledger entries from plain rows: no model instance is built per line.

A till file of 100,000 lines wrote about 150,000 movements, and building a
`StockMovement` for each was an eighth of the import's time. The rows keep
everything the one-row services write (kind, deltas, reason, who).
"""

from unittest import mock

import pytest
from django.contrib.auth import get_user_model

from inventory import services
from inventory.models import MovementKind, StockMovement
from omni.actor import Actor
from tests.factories import VariantFactory
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def clerk(db):
    return get_user_model().objects.create_user("cassa", password="x")


def built_movements(run) -> int:
    """How many StockMovement instances `run()` builds."""
    original = StockMovement.__init__
    built = 0

    def counting(self, *args, **kwargs):
        nonlocal built
        built += 1
        original(self, *args, **kwargs)

    with mock.patch.object(StockMovement, "__init__", counting):
        run()
    return built


@pytest.mark.postgres_only("the bulk paths write by COPY on PostgreSQL only; elsewhere bulk_create needs instances")
def test_a_till_batch_and_a_bulk_hold_build_no_movement_instance(store, shirt, clerk):
    other = VariantFactory(sku="SHIRT-L")
    stock(store, shirt, 5)
    stock(store, other, 1)
    lines = [
        services.StockLine(store.pk, shirt.pk, 2, reason="order 1"),
        services.StockLine(store.pk, other.pk, 3, reason="order 1", shortfall_reason="found at the till"),
        services.StockLine(store.pk, shirt.pk, 1, reason="order 2"),
    ]
    actor = Actor(user=clerk)

    assert built_movements(lambda: services.take_many(lines, actor=actor, at_the_till=True)) == 0
    holds = [services.StockLine(store.pk, shirt.pk, 1, reason=f"order {n}") for n in (3, 4)]
    assert built_movements(lambda: services.reserve_many(holds, actor=actor)) == 0

    written = list(
        StockMovement.objects.order_by("pk").values_list(
            "variant_id", "kind", "on_hand_delta", "reserved_delta", "reason"
        )
    )[2:]  # after the two counts that stocked the rows
    assert written == [
        (other.pk, MovementKind.ADJUSTMENT, 2, 0, "found at the till"),
        (shirt.pk, MovementKind.SALE, -2, 0, "order 1"),
        (other.pk, MovementKind.SALE, -3, 0, "order 1"),
        (shirt.pk, MovementKind.SALE, -1, 0, "order 2"),
        (shirt.pk, MovementKind.RESERVATION, 0, 1, "order 3"),
        (shirt.pk, MovementKind.RESERVATION, 0, 1, "order 4"),
    ]
    who = StockMovement.objects.exclude(kind=MovementKind.COUNT).values_list("user_id", flat=True)
    assert set(who) == {clerk.pk}
    assert level_of(store, shirt).on_hand == 2 and level_of(store, other).on_hand == 0


def test_a_one_row_change_still_holds_its_actor(store, shirt, clerk):
    stock(store, shirt, 3)
    services.take(location=store, variant=shirt, quantity=1, actor=Actor(user=clerk), reason="order 9")
    movement = StockMovement.objects.get(kind=MovementKind.SALE)
    assert (movement.user_id, movement.reason, movement.on_hand_delta) == (clerk.pk, "order 9", -1)
