"""In a real browser, in Italian: the language switch in the header, and the widest lists on a 1366 px screen.

A till's PC is often a 1366x768 laptop: the columns a clerk reads (the order's total and status, the
customer's phone, the units available) must be on screen without scrolling sideways.
"""

from decimal import Decimal

import pytest

from customers import services as customers
from inventory import services as inventory
from loyalty.pricing import LineIn
from omni.orders import services as orders
from tests.browser.conftest import ids_in_the_thousands, screenshot
from tests.factories import ProductFactory, VariantFactory, channel

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LONG_NAME = "Camicia in lino lavato a maniche lunghe con colletto alla coreana"


def busy_shop(shop) -> None:
    """Long names and addresses, as real data has, with ids in the thousands."""
    ids_in_the_thousands()
    product = ProductFactory(code="CAM-LINO-LAVATO-COREANA", name=LONG_NAME)
    variant = VariantFactory(sku="CAM-LINO-LAVATO-COREANA-XXL-BLU", product=product, price=Decimal("1249.00"))
    inventory.count(location=shop.milano, variant=variant, on_hand=12, reason="opening count")
    buyer = customers.identify(
        identifiers=[{"kind": "email", "value": "maria.francesca.degli.esposti.bianchi@example-lungo.it"}],
        profile={"first_name": "Maria Francesca", "last_name": "Degli Esposti Bianchi", "phone": "+39 333 765 4321"},
    ).customer
    orders.record_order(
        channel=channel("call_center"),
        location=shop.milano,
        customer=buyer,
        lines=[LineIn(variant.sku, 1)],
        payments=[orders.PaymentIn("card", Decimal("1249.00"))],
        fulfilment=orders.FulfilmentIn(type="click_and_collect", pickup_location=shop.milano),
    )


def right_edge(page, header_class: str) -> float:
    box = page.locator(f"#result_list thead th.{header_class}").bounding_box()
    assert box is not None, header_class
    return box["x"] + box["width"]


@pytest.mark.parametrize(
    "url, key_columns",
    [
        ("/admin/orders/order/", ["column-status", "column-total"]),
        ("/admin/customers/customer/", ["column-phone", "column-email"]),
        ("/admin/inventory/stocklevel/", ["column-available", "column-on_hand"]),
    ],
)
def test_the_key_columns_of_the_widest_lists_fit_a_1366_screen(shop, open_as, url, key_columns):
    busy_shop(shop)
    page = open_as(shop.manager, "it", width=1366, height=768)
    page.goto(f"{page.base}{url}")
    assert page.locator("#result_list tbody tr").count() >= 1
    width = page.viewport_size["width"]
    for column in key_columns:
        assert right_edge(page, column) <= width, f"{column} ends at {right_edge(page, column):.0f} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling at all


def test_a_clerk_switches_the_admin_to_english_and_back_from_the_header(shop, open_as):
    page = open_as(shop.clerk, "it")
    page.goto(f"{page.base}/admin/orders/order/")
    assert page.locator("html").get_attribute("lang") == "it"
    page.select_option("#language-choice", "en")
    page.wait_for_function("document.documentElement.lang === 'en'")
    assert page.url.endswith("/admin/orders/order/")  # the same page, now in English
    assert "Select order to view" in page.title()
    screenshot(page, "language-switch-en")
    page.select_option("#language-choice", "it")
    page.wait_for_function("document.documentElement.lang === 'it'")
    assert "Seleziona ordine per visualizzarlo" in page.title()
    screenshot(page, "language-switch-it")
