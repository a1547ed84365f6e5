"""At the counter, in a real browser and in Italian: a basket taken now and shipped, paid four ways, and gift cards.

The clerk starts from the home page's "sell from the network", finds the customer by card, sees each line's
stock here and in the network before typing any address, sells a gift card with the basket, and pays with
points, a gift card and a card. Then a new customer is enrolled in the same screen, and the gift card's
balance and ledger are read in the admin.
"""

from decimal import Decimal

import pytest
from django.utils import translation

from inventory.models import StockLevel
from loyalty import gift_cards
from loyalty.models import GiftCard, LoyaltyAccount
from omni.orders.models import Order
from tests.browser.conftest import ids_in_the_thousands, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def said(text: str, **values) -> str:
    with translation.override("it"):
        return translation.gettext(text) % values if values else translation.gettext(text)


def line(page, index: int, sku: str, quantity: int, delivery_label: str) -> None:
    page.fill(f"[name=line-{index}-sku]", sku)
    page.fill(f"[name=line-{index}-quantity]", str(quantity))
    page.select_option(f"[name=line-{index}-delivery]", label=delivery_label)


def test_a_clerk_sells_a_mixed_basket_to_a_customer_found_by_card_paying_four_ways(shop, open_as):
    ids_in_the_thousands()
    card = gift_cards.issue(amount=Decimal("20.00"))
    page = open_as(shop.clerk, "it")
    page.goto(f"{page.base}/admin/")
    page.click("#action-endless-aisle th a")
    page.wait_for_url("**/admin/orders/order/basket/")
    assert "Milano Duomo" in page.locator("select[name=store] option:checked").inner_text()

    page.fill("[name=find]", shop.card)
    page.click("#find-customer")
    page.click("#found-customers button")
    assert "Giulia Bianchi" in page.inner_text("#chosen-customer")
    points = LoyaltyAccount.objects.get(customer=shop.customer).balance
    assert said("%(n)s points", n=f"{points:,}".replace(",", ".")) in page.inner_text("#points-balance")

    labels = page.locator("[name=line-0-delivery] option").all_inner_texts()
    assert labels == [said("Takes it now"), said("Ship to the customer's home"), said("Ship to this store for pick-up")]
    line(page, 0, "CAM-ROSSA-L", 1, said("Takes it now"))
    line(page, 1, "CAM-ROSSA-M", 1, said("Ship to the customer's home"))
    page.fill("[name=sell_gift_card]", "25")
    page.click("#check-basket")

    # Stock per line before any address: M is sold out here and in the network elsewhere.
    assert page.inner_text(".stock-row[data-sku='CAM-ROSSA-M'] .here") == "0"
    assert page.inner_text(".stock-row[data-sku='CAM-ROSSA-M'] .network") == "10"
    assert page.inner_text(".stock-row[data-sku='CAM-ROSSA-L'] .here") == "5"
    # 39,90 + 1.249,00 + a 25,00 gift card.
    assert "1.313,90" in page.inner_text("#basket-due")
    totals = page.inner_text("#totals")
    assert said("Ship to the customer's home") in totals and "ship_to_home" not in totals

    page.fill("[name=street]", "Via Po 3")
    page.fill("[name=postcode]", "10123")
    page.fill("[name=city]", "Torino")
    page.fill("[name=points]", "1000")
    page.fill("[name=gift_card_code]", gift_cards.printed(card.code))
    page.fill("[name=gift_card]", "20")
    page.fill("[name=paid_card]", "1283.90")
    page.click("#check-basket")
    assert "20,00" in page.inner_text("#gift-card-balance")
    screenshot(page, "counter-basket-it")
    page.click("#sell-basket")

    page.wait_for_url("**/admin/orders/order/?q=BASKET-*")
    assert said("Basket sold: orders %(numbers)s.", numbers="")[:10] in page.inner_text(".messagelist")
    here, shipped = Order.objects.filter(external_id__startswith="BASKET-").order_by("external_id")
    assert (here.fulfilment_type, shipped.fulfilment_type) == ("carry_out", "ship_to_home")
    assert shipped.shipping_address["city"] == "Torino"
    assert set(page.locator("#result_list tbody th a").all_inner_texts()) == {here.number, shipped.number}
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("0.00")
    sold = here.gift_cards_sold.get()
    assert gift_cards.printed(sold.code) in page.inner_text(".messagelist")
    assert StockLevel.objects.get(location=shop.milano, variant=shop.shirt_l).on_hand == 4
    screenshot(page, "counter-basket-sold-it")

    # The sold card, read in the admin with its ledger.
    page.goto(f"{page.base}/admin/loyalty/giftcard/?q={gift_cards.printed(sold.code).lower()}")
    page.click("#result_list tbody th a")
    assert "25,00" in page.inner_text("#content-main")
    assert said("Sold") in page.inner_text("#content-main")  # the ledger's reasons in words, not codes
    assert said("gift card movements").lower() in page.inner_text("#content-main").lower()
    screenshot(page, "gift-card-it")


def test_a_clerk_enrols_a_new_customer_in_the_basket_and_pays_cash(shop, open_as):
    page = open_as(shop.clerk, "it")
    page.goto(f"{page.base}/admin/orders/order/basket/")
    page.fill("[name=find]", "marco.verdi@example.it")
    page.click("#find-customer")
    assert said("Nobody found: enrol the customer below, or sell to a walk-in customer.") in page.inner_text(
        ".messagelist"
    )
    page.click("#enrol-block summary")
    page.check("[name=enrol]")
    page.fill("[name=first_name]", "Marco")
    page.fill("[name=last_name]", "Verdi")
    page.fill("[name=card]", "0420000999002")
    page.fill("[name=email]", "marco.verdi@example.it")
    page.check("[name=consent_marketing_email]")
    line(page, 0, "CAM-ROSSA-L", 2, said("Takes it now"))
    page.fill("[name=paid_cash]", "79.80")
    page.click("#check-basket")
    assert "79,80" in page.inner_text("#basket-due")
    page.click("#sell-basket")

    page.wait_for_url("**/admin/orders/order/*/change/")
    order = Order.objects.get(location=shop.milano)
    assert (order.customer.first_name, order.customer.last_name) == ("Marco", "Verdi")
    assert order.customer.identifiers.filter(kind="card", value="0420000999002").exists()
    assert order.points_earned > 0
