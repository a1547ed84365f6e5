"""GET /api/v1/availability/ answers exactly these bytes for a fixed network, on PostgreSQL and on SQLite.

The answer is built and rendered on a path of its own for speed; the bytes in
tests/inventory/pinned/ were taken from the answer as it was before that path
changed, so any change in order, rounding, key order, spacing or escaping
shows here. The network has
ties in distance (broken by code), a store with its safety stock above its
units, a closed store, a hold, names outside ASCII (and a line separator,
which JSON allows raw but the API escapes), and more pick-up stores than the
options list.
"""

from decimal import Decimal
from pathlib import Path

import pytest

from inventory.models import StockLevel
from omni.catalog.models import Channel, Location, LocationKind
from tests.factories import LocationFactory, ProductFactory, VariantFactory
from tests.inventory.conftest import stock

pytestmark = pytest.mark.django_db


def place(code: str, lat: str, lon: str, **fields) -> Location:
    fields.setdefault("name", f"Negozio {code}")
    fields.setdefault("city", "Milano")
    return LocationFactory(code=code, latitude=Decimal(lat), longitude=Decimal(lon), **fields)


@pytest.fixture
def fixed_network(db):
    coat = VariantFactory(sku="COAT-01", product=ProductFactory(name="Cappotto di lana è blu"))
    bag = VariantFactory(sku="BAG-02", product=ProductFactory(name="Borsa"))
    VariantFactory(
        sku="SCARF-03", product=ProductFactory(name="Sciarpa", channels=Channel.objects.filter(code="store"))
    )
    duomo = place("MI-DUOMO", "45.464", "9.190", name="Milano Duomo")
    warehouse = place(
        "WH-BO",
        "44.494",
        "11.342",
        name="Magazzino Bologna",
        city="Bologna",
        kind=LocationKind.WAREHOUSE,
        is_pickup_point=False,
        ships_to_customers=True,
    )
    forli = place("FC-01", "44.222", "12.041", name="Forlì\u2028Centro", city="Forlì", ships_to_customers=True)
    empty = place("MI-EMPTY", "45.47", "9.2")
    closed = place("MI-CLOSED", "45.46", "9.19")
    stock(duomo, coat, 2)
    stock(warehouse, coat, 10, safety_stock=3)
    stock(forli, coat, 4)
    stock(empty, coat, 2, safety_stock=5)
    stock(closed, coat, 9)
    Location.objects.filter(pk=closed.pk).update(is_active=False)
    for index in range(12):  # pairs at the same spot: ties in distance
        store = place(f"NA-{index:02d}", str(Decimal("40.8") + Decimal(index // 2) / 50), "14.2", city="Napoli")
        stock(store, coat, index % 3)
    stock(duomo, bag, 1)
    stock(forli, bag, 5)
    StockLevel.objects.filter(location=forli, variant=bag).update(reserved=2)
    return {"duomo": duomo}


def answer(api, **params) -> bytes:
    response = api.get("/api/v1/availability/", params)
    assert response.status_code == 200, response.content
    assert response["Content-Type"] == "application/json"
    return response.content


def pinned(name: str) -> bytes:
    """The bytes kept in tests/inventory/pinned/ (no newline at the end: the answer has none)."""
    return (Path(__file__).parent / "pinned" / f"availability_{name}.json").read_bytes()


def test_nearest_first_from_milan(api, fixed_network):
    assert answer(api, sku=["COAT-01", "BAG-02", "SCARF-03"], near="45.4642,9.19") == pinned("near_milan")


def test_without_near_by_code(api, fixed_network):
    assert answer(api, sku="COAT-01,BAG-02,SCARF-03", channel="web") == pinned("without_near")


def test_a_clerk_in_the_store(api, fixed_network):
    assert answer(api, sku="COAT-01", channel="store", location="MI-DUOMO", near="41.9,12.5") == pinned("in_the_store")
