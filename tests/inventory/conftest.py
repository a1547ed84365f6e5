from decimal import Decimal

import pytest
from django.db import connection, transaction

from inventory import services
from inventory.models import StockLevel
from omni.catalog.models import LocationKind
from tests.factories import LocationFactory, VariantFactory


@pytest.fixture
def store(db):
    """A pick-up store in the centre of Milan."""
    return LocationFactory(code="MI-DUOMO", name="Milano Duomo", latitude=Decimal("45.464"), longitude=Decimal("9.190"))


@pytest.fixture
def warehouse(db):
    """The warehouse near Bologna, which ships to customers."""
    return LocationFactory(
        code="WH-BO",
        name="Magazzino Bologna",
        kind=LocationKind.WAREHOUSE,
        city="Bologna",
        latitude=Decimal("44.494"),
        longitude=Decimal("11.342"),
        is_pickup_point=False,
        ships_to_customers=True,
    )


@pytest.fixture
def shirt(db):
    return VariantFactory(sku="SHIRT-RED-M")


def stock(location, variant, on_hand: int, safety_stock: int = 0) -> StockLevel:
    """Counted stock (with its ledger entry), as a clerk would set it."""
    level = services.count(location=location, variant=variant, on_hand=on_hand, reason="test count")
    if safety_stock:
        StockLevel.objects.filter(pk=level.pk).update(safety_stock=safety_stock)
    return StockLevel.objects.get(pk=level.pk)


def level_of(location, variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def stock_statement_plans(sell_twelve) -> tuple[int, int]:
    """The generic and custom plans PostgreSQL made of the carry out's stock statement over twelve sales by
    `sell_twelve(sale)` (sale 1 to 12: prepared after 5 runs, DATABASE_PREPARE_THRESHOLD, weighed over the next
    5), the stock rows analysed first as on a running site; in one transaction, so on one connection."""
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE inventory_stocklevel")
        for sale in range(1, 13):
            sell_twelve(sale)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT generic_plans, custom_plans FROM pg_prepared_statements "
                "WHERE statement LIKE 'WITH line AS%%' AND statement LIKE '%%INSERT INTO inventory_stockmovement%%'"
            )
            [(generic, custom)] = cursor.fetchall()
    return generic, custom
