"""At the counter, in a real browser: the clerk's home page and enrolment, in Italian (and English).

The rows the flows touch get ids in the thousands, as on a store's database after some months, so an
id written with a thousands separator ("5.001") in a link or a form would break the flow.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from customers.models import ConsentChange, Customer
from loyalty.models import Card
from tests.browser.conftest import ids_in_the_thousands, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def said(lang: str, text: str, **values) -> str:
    with translation.override(lang):
        return translation.gettext(text) % values if values else translation.gettext(text)


def todays_work(shop) -> dict:
    """Two pick-ups to prepare, one overdue, one return announced and one transfer arriving at Milano."""
    from inventory import services as inventory
    from loyalty.pricing import LineIn
    from omni.orders import services as orders
    from omni.orders.models import OrderEvent
    from returns import services as returns
    from tests.factories import channel

    ids_in_the_thousands()

    def pickup() -> object:
        return orders.record_order(
            channel=channel("web"),
            customer=shop.customer,
            lines=[LineIn("CAM-ROSSA-L", 1)],
            payments=[orders.PaymentIn("card", Decimal("39.90"))],
            fulfilment=orders.FulfilmentIn(type="click_and_collect", pickup_location=shop.milano),
        )

    fresh, other = pickup(), pickup()
    late = orders.apply_event(order=pickup(), event="ready_for_pickup")
    OrderEvent.objects.filter(order=late).update(created_at=timezone.now() - timedelta(days=10))
    returns.accept_return(  # announced online, to be dropped off at Milano
        order=shop.order,
        lines=[returns.ReturnLineIn(sku="CAM-ROSSA-L", quantity=1, reason="wrong_size")],
        location=shop.milano,
        receive=False,
    )
    transfer = inventory.request_transfer(
        variant=shop.shirt_m, from_location=shop.warehouse, to_location=shop.milano, quantity=2, reason="restock"
    )
    inventory.ship_transfer(transfer=transfer)
    return {"to_prepare": {fresh.number, other.number}, "late": late.number}


@pytest.mark.parametrize("lang", ["it", "en"])
def test_a_clerk_starts_the_day_from_the_home_page(shop, open_as, lang):
    work = todays_work(shop)
    page = open_as(shop.clerk, lang)
    page.goto(f"{page.base}/admin/")
    assert said(lang, "Today at %(store)s", store="Milano Duomo") in page.locator("#home-tasks caption").text_content()
    counts = {
        key: page.inner_text(f"#task-{key} .task-count")
        for key in ("pickups-to-prepare", "pickups-overdue", "returns-requested", "transfers-arriving")
    }
    assert counts == {
        "pickups-to-prepare": "2",
        "pickups-overdue": "1",
        "returns-requested": "1",
        "transfers-arriving": "1",
    }
    for key, label in [
        ("find-customer", "Find a customer"),
        ("endless-aisle", "Sell from the network"),
        ("take-back", "Take back a return"),
        ("handover", "Hand over"),
        ("count", "Count stock"),
    ]:
        assert page.inner_text(f"#action-{key} th") == said(lang, label)
    # Each label reads on one line beside its description: Django's dashboard style once squeezed the label
    # column to a letter's width, so "Trova un cliente" wrapped letter by letter.
    lines = page.eval_on_selector_all(
        "#home-actions th a, #home-tasks th a", "links => links.map(a => [a.textContent, a.getClientRects().length])"
    )
    assert len(lines) >= 5 + 4 and all(count == 1 for _, count in lines), lines
    assert page.locator("#content-related, #content-main .app-customers").count()  # the model list is still there
    screenshot(page, f"clerk-home-{lang}")

    page.click("#task-pickups-to-prepare th a")
    page.wait_for_url("**/admin/orders/order/?pickup=to_prepare")
    listed = set(page.locator("#result_list tbody th a").all_inner_texts())
    assert listed == work["to_prepare"]

    page.goto(f"{page.base}/admin/")
    page.click("#task-pickups-overdue th a")
    page.wait_for_url("**/admin/orders/order/?pickup=overdue")
    assert page.locator("#result_list tbody th a").all_inner_texts() == [work["late"]]

    page.goto(f"{page.base}/admin/")
    page.click("#action-count th a")
    page.wait_for_url("**/admin/inventory/stocklevel/count/?location=*")
    selected = page.locator("select[name=location] option:checked").inner_text()
    assert "MI01" in selected or "Milano" in selected  # the clerk's store, already chosen


@pytest.mark.parametrize("lang", ["it", "en"])
def test_a_clerk_finds_nobody_then_enrols_the_customer_with_card_and_consents(shop, open_as, lang):
    ids_in_the_thousands()
    page = open_as(shop.clerk, lang)
    page.goto(f"{page.base}/admin/")
    page.fill("#action-find-customer input[name=q]", "marco.verdi@example.it")
    page.press("#action-find-customer input[name=q]", "Enter")
    assert said(lang, "Nobody found.") in page.inner_text("#enrol-link")
    page.click("#enrol-link a")

    assert page.input_value("[name=email]") == "marco.verdi@example.it"
    assert "Milano Duomo" in page.locator("select[name=store] option:checked").inner_text()
    page.fill("[name=first_name]", "Marco")
    page.fill("[name=last_name]", "Verdi")
    page.fill("[name=card]", "0420000999001")
    page.fill("[name=phone]", "333 765 4321")
    page.check("[name=consent_marketing_email]")
    assert said(lang, "I want to receive offers and news by e-mail.") in page.inner_text("#enrol-consents")
    screenshot(page, f"enrol-{lang}")
    page.click(f'input[type=submit][value="{said(lang, "Enrol")}"]')

    page.wait_for_url("**/admin/customers/customer/*/change/")
    customer = Customer.objects.get(last_name="Verdi")
    assert customer.pk > 5000 and page.url.endswith(f"/admin/customers/customer/{customer.pk}/change/")
    assert said(lang, "%(customer)s enrolled with card %(card)s.", customer=customer, card="0420000999001") in (
        page.inner_text(".messagelist")
    )
    assert Card.objects.get(number="0420000999001").account.customer_id == customer.pk
    consents = dict(ConsentChange.objects.filter(customer=customer).values_list("purpose", "is_granted"))
    assert consents == {"marketing_email": True, "marketing_sms": False, "profiling": False}
    assert set(ConsentChange.objects.filter(customer=customer).values_list("channel", flat=True)) == {"store"}
