"""In a real browser, in Italian: print a receipt from the order page, follow a KPI recompute on its progress page."""

from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_clerk_prints_the_receipt_of_a_sale_and_sees_it_was_emailed(shop, open_as):
    from customers.models import Message, MessageKind
    from loyalty.pricing import LineIn
    from omni.orders import services as orders
    from tests.factories import channel

    sale = orders.record_order(
        channel=channel("store"),
        location=shop.milano,
        customer=shop.customer,
        lines=[LineIn("CAM-ROSSA-L", 2)],
        payments=[orders.PaymentIn("cash", Decimal("79.80"))],
    )
    assert Message.objects.filter(order=sale, kind=MessageKind.ORDER_RECEIPT).exists()  # she consented
    page = open_as(shop.clerk, "it")
    page.goto(f"{page.base}/admin/orders/order/{sale.pk}/change/")
    content = page.inner_text("#content").lower()  # the inline's heading is upper-cased by the admin's CSS
    assert (
        "messaggi al cliente" in content
        and "scontrino dell'ordine" in content
        and "giulia.bianchi@example.it" in content
    )
    with page.expect_popup() as opened:
        page.click("#print-receipt")
    receipt = opened.value
    receipt.wait_for_load_state()
    assert receipt.locator("html").get_attribute("lang") == "it"
    assert receipt.inner_text("h1") == f"Scontrino {sale.number}"
    assert receipt.inner_text("#receipt-total") == "79,80 €"
    assert receipt.get_by_role("button", name="Stampa").is_visible()
    receipt.emulate_media(media="print")
    assert not receipt.get_by_role("button", name="Stampa").is_visible()  # the paper has no buttons
    screenshot(receipt, "receipt-it")


def test_a_manager_recomputes_kpi_days_and_watches_the_progress_page_finish(shop, open_as):
    from kpis import services as kpis
    from kpis.tasks import recompute_days
    from omni.models import Job

    first = date(2025, 1, 1)
    kpis.rebuild(start=first, end=first + timedelta(days=29))
    page = open_as(shop.manager, "it")
    page.goto(f"{page.base}/admin/kpis/rollupday/")
    page.check("#action-toggle")
    page.select_option("select[name=action]", "recompute")
    page.click("button[name=index]")
    page.wait_for_url("**/admin/omni/job/*/progress/")
    assert "In coda" in page.inner_text("#job-status")  # no worker in this test: the job waits
    assert "si aggiorna da sola" in page.inner_text("#content")
    job = Job.objects.get()
    assert job.total == 30
    assert recompute_days(job.pk) == "done"  # what the worker does; the page polls and sees it
    page.wait_for_function("document.getElementById('job-status').textContent === 'Fatto'")
    assert page.inner_text("#job-count") == "30 di 30"
    assert page.inner_text("#job-percent") == "100"
    assert "30 giorni ricalcolati." in page.inner_text("#job-message")
    assert page.locator("#job-result-link").is_visible() and not page.locator("#job-error").is_visible()
    assert not page.locator("#job-refreshing").is_visible()
    screenshot(page, "job-progress-it")
    page.click("#job-result-link")
    page.wait_for_url("**/admin/kpis/rollupday/")
