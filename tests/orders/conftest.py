from decimal import Decimal

import pytest

from inventory import services as inventory
from omni.catalog.models import LocationKind
from tests.factories import LocationFactory, ProductFactory, VariantFactory


@pytest.fixture
def network(db):
    """Milano Duomo (a pick-up store), Roma Corso (store that ships), a warehouse near Piacenza; the red shirt."""
    milano = LocationFactory(code="MI01", name="Milano Duomo", latitude=Decimal("45.4642"), longitude=Decimal("9.1900"))
    roma = LocationFactory(
        code="RM01",
        name="Roma Corso",
        city="Roma",
        latitude=Decimal("41.9028"),
        longitude=Decimal("12.4964"),
        ships_to_customers=True,
    )
    warehouse = LocationFactory(
        code="WH-PC",
        name="Magazzino Piacenza",
        kind=LocationKind.WAREHOUSE,
        city="Piacenza",
        latitude=Decimal("45.0526"),
        longitude=Decimal("9.6930"),
        is_pickup_point=False,
        ships_to_customers=True,
    )
    shirt = VariantFactory(sku="CAM-ROSSA-M", price=Decimal("39.90"), product=ProductFactory(code="CAM-ROSSA"))
    return {"milano": milano, "roma": roma, "warehouse": warehouse, "shirt": shirt}


def stock(location, variant, on_hand: int):
    return inventory.count(location=location, variant=variant, on_hand=on_hand, reason="test count")
