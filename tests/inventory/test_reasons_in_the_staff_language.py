"""The stock ledger's reasons read in the staff's language, where they are shown; the stored rows stay as written.

The services write their reasons in plain English ("sold at the till beyond the stock on file: receipt R-7",
"order OM... collected"), and the ledger is append-only: the list, the movement's page and the hold's page
translate the system's own reasons and show a reason typed by a person as it was typed.
"""

from decimal import Decimal

import pytest
from django.utils import translation

from inventory import services
from inventory.models import Reservation, StockMovement
from inventory.reasons import reason_shown
from omni.actor import SYSTEM
from omni.orders.receipts import record_receipts, rows_from_bytes
from tests.factories import CustomerFactory, LocationFactory, VariantFactory
from tests.inventory.conftest import stock
from tests.staff import CLERK, HEAD_OFFICE, page, staff

pytestmark = pytest.mark.django_db

RECEIPT = (
    "store,receipt,sold_at,sku,quantity,unit_price,card,tender\n"
    "MI01,R-7,2025-03-14T10:05:00,CAM-ROSSA-M,3,39.90,,cash\n"
)


@pytest.fixture
def milano(db):
    return LocationFactory(code="MI01", name="Milano Duomo")


@pytest.fixture
def till_shortfall(milano):
    """Three shirts sold at the till where the stock on file had one: an adjustment of +2, then the sale."""
    shirt = VariantFactory(sku="CAM-ROSSA-M", price=Decimal("39.90"))
    stock(milano, shirt, 1)
    record_receipts(rows_from_bytes(RECEIPT.encode(), "csv"), actor=SYSTEM)
    return StockMovement.objects.get(kind="adjustment")


@pytest.fixture
def clerk(client, milano):
    client.force_login(staff("negozio", CLERK, milano))
    return client


def test_a_clerk_reads_the_tills_reasons_in_italian_in_the_stock_ledger(clerk, till_shortfall):
    html = page(clerk, "/admin/inventory/stockmovement/", "it")
    sale = StockMovement.objects.get(kind="sale")
    assert "venduto in cassa oltre la giacenza registrata: scontrino R-7" in html
    assert f"ordine {sale.reason.removeprefix('order ')}" in html
    assert "sold at the till" not in html and f">{sale.reason}<" not in html
    assert "test count" in html  # typed by a person: as it was typed


def test_a_movements_page_names_its_kind_and_its_reason_in_italian_and_the_row_stays_as_written(clerk, till_shortfall):
    html = page(clerk, f"/admin/inventory/stockmovement/{till_shortfall.pk}/change/", "it")
    assert "Rettifica +2" in html and "scontrino R-7" in html
    assert "adjustment +2" not in html and "sold at the till" not in html
    till_shortfall.refresh_from_db()
    assert till_shortfall.reason == "sold at the till beyond the stock on file: receipt R-7"


def test_an_english_browser_reads_the_same_movement_in_english(clerk, till_shortfall):
    html = page(clerk, f"/admin/inventory/stockmovement/{till_shortfall.pk}/change/", "en")
    assert "Adjustment +2" in html and "sold at the till beyond the stock on file: receipt R-7" in html


def test_a_hold_shows_its_status_and_reason_in_italian(clerk, milano):
    shirt = VariantFactory()
    stock(milano, shirt, 2)
    hold = services.hold(
        location=milano, variant=shirt, quantity=1, customer_id=CustomerFactory().pk, reason="click & collect hold"
    )
    html = page(clerk, f"/admin/inventory/reservation/{hold.pk}/change/", "it")
    assert "(Attiva)" in html and "prenotazione click &amp; collect" in html
    assert "(active)" not in html and "click &amp; collect hold" not in html
    assert Reservation.objects.get(pk=hold.pk).reason == "click & collect hold"


def test_head_office_reads_a_transfer_in_italian(client, milano):
    client.force_login(staff("direzione", HEAD_OFFICE))
    roma, shirt = LocationFactory(code="RM01"), VariantFactory()
    stock(milano, shirt, 3)
    transfer = services.request_transfer(from_location=milano, to_location=roma, variant=shirt, quantity=2)
    html = page(client, "/admin/inventory/stockmovement/", "it")
    assert f"trasferimento T{transfer.pk} verso RM01" in html and f"transfer T{transfer.pk}" not in html


@pytest.mark.parametrize(
    ("stored", "italian"),
    [
        ("order 7827", "ordine 7827"),
        ("order OM261203-007827 collected", "ordine OM261203-007827 ritirato"),
        ("order OM261203-007827 shipped", "ordine OM261203-007827 spedito"),
        ("order OM261203-007827 cancelled", "ordine OM261203-007827 annullato"),
        ("return RMA0000064", "reso RMA0000064"),
        ("transfer T12", "trasferimento T12"),
        ("transfer T12 cancelled", "trasferimento T12 annullato"),
        ("hold #826 expired", "prenotazione n. 826 scaduta"),
        ("cancelled in the admin", "annullata nell'admin"),
        ("count", "Conteggio"),
        ("carry_out", "Asporto"),
        ("Replenish from a warehouse (cover 2.5 days)", "Riassortimento da un magazzino (copertura 2.5 giorni)"),
        ("Inventario iniziale", "Inventario iniziale"),
        ("order of the boss", "order of the boss"),
    ],
)
def test_the_systems_reasons_are_translated_and_typed_ones_are_left_as_they_are(stored, italian):
    with translation.override("it"):
        assert reason_shown(stored) == italian
    with translation.override("en"):
        assert reason_shown(stored) in (stored, "Count", "Carry out")
