"""A till (or a marketplace) that priced a sale itself: Omni records the price as charged, no promotion on top."""

from decimal import Decimal

import pytest

from loyalty.models import Promotion
from omni.orders.models import Order, OrderLine
from omni.orders.receipts import record_receipts, rows_from_bytes
from omni.orders.services import SYSTEM
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirts_on_promotion(network):
    """The red shirt at 29.90, 10 % off on every channel; two at Milano."""
    network["shirt"].price = Decimal("29.90")
    network["shirt"].save()
    stock(network["milano"], network["shirt"], 2)
    Promotion.objects.create(
        code="camicie-10",
        name="Camicie -10%",
        kind="percent",
        value=10,
        target="product",
        product=network["shirt"].product,
    )
    return network


def test_a_till_price_is_what_was_charged_and_the_payments_that_match_it_are_accepted(api, shirts_on_promotion):
    body = {
        "channel": "store",
        "location": "MI01",
        "external_id": "R-2691",
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1, "unit_price": "26.91"}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "card", "amount": "26.91"}],
    }
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["total"] == "26.91"
    line = OrderLine.objects.get()
    assert (line.unit_price, line.discount, line.line_total) == (Decimal("26.91"), 0, Decimal("26.91"))
    assert line.omni_unit_price == Decimal("26.91")  # Omni's price: 29.90 less 10 %


def test_without_a_till_price_omni_prices_the_line_with_its_promotions(api, shirts_on_promotion):
    body = {
        "channel": "store",
        "location": "MI01",
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "card", "amount": "26.91"}],
    }
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    line = OrderLine.objects.get()
    assert (line.unit_price, line.discount, line.omni_unit_price) == (Decimal("29.90"), Decimal("2.99"), None)


def test_a_till_price_other_than_omnis_is_kept_beside_omnis_price(api, shirts_on_promotion):
    body = {
        "channel": "store",
        "location": "MI01",
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 2, "unit_price": "25.00"}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "cash", "amount": "50.00"}],
    }
    assert api.post("/api/v1/orders/", body, format="json").status_code == 201
    line = OrderLine.objects.get()
    assert (line.unit_price, line.line_total, line.omni_unit_price) == (
        Decimal("25.00"),
        Decimal("50.00"),
        Decimal("26.91"),
    )


def test_a_receipt_file_records_the_tills_price_as_charged(shirts_on_promotion):
    text = (
        "store,receipt,sold_at,sku,quantity,unit_price,card,tender\n"
        "MI01,R-9,2025-03-14T10:05:00,CAM-ROSSA-M,1,26.91,,card\n"
    )
    record_receipts(rows_from_bytes(text.encode(), "csv"), actor=SYSTEM)
    order = Order.objects.get(external_id="R-9")
    assert (order.total, order.discount_total) == (Decimal("26.91"), 0)
    assert order.payments.get().amount == Decimal("26.91")
    assert order.lines.get().omni_unit_price == Decimal("26.91")
