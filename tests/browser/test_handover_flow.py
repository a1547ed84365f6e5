"""At the counter, in a real browser: a clerk hands over a click & collect order, in Italian and in English."""

from decimal import Decimal

import pytest
from django.utils import translation

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def said(lang: str, text: str, **values) -> str:
    """`text` as the page shows it in `lang`."""
    with translation.override(lang):
        return translation.gettext(text) % values if values else translation.gettext(text)


@pytest.mark.parametrize("lang", ["it", "en"])
def test_a_clerk_finds_the_order_marks_it_ready_then_collected(shop, open_as, lang):
    from loyalty.pricing import LineIn
    from omni.orders import services as orders
    from tests.factories import channel

    order = orders.record_order(
        channel=channel("web"),
        customer=shop.customer,
        lines=[LineIn("CAM-ROSSA-L", 1)],
        payments=[orders.PaymentIn("card", Decimal("39.90"))],
        fulfilment=orders.FulfilmentIn(type="click_and_collect", pickup_location=shop.milano),
    )
    page = open_as(shop.clerk, lang)
    page.goto(f"{page.base}/admin/")
    assert page.locator("html").get_attribute("lang") == lang
    page.click("#action-handover th a")
    assert said(lang, "To prepare") in page.inner_text("#handover-to_prepare h2")

    page.fill("#handover-q", order.number)
    page.press("#handover-q", "Enter")
    row = page.locator(f"#handover-to_prepare tr[data-number='{order.number}']")
    assert "Giulia Bianchi" in row.inner_text() and shop.card in row.inner_text()

    row.get_by_role("button", name=said(lang, "Mark ready")).click()
    message = said(
        lang, "Order %(number)s is ready for pick-up: the customer can come and collect it.", number=order.number
    )
    assert message in page.inner_text(".messagelist")
    row = page.locator(f"#handover-ready tr[data-number='{order.number}']")
    row.get_by_role("button", name=said(lang, "Mark collected")).click()

    assert said(lang, "Order %(number)s handed over to the customer.", number=order.number) in page.inner_text(
        ".messagelist"
    )
    collected = page.locator("#handover-collected")
    assert said(lang, "Collected today") in collected.locator("h2").inner_text()
    assert order.number in collected.inner_text()
    assert order.number not in page.inner_text("#handover-ready")
    order.refresh_from_db()
    assert order.status == "collected"
    screenshot(page, f"handover-{lang}")
