"""The store staff's flows, in a real browser, in Italian and in English.

Each test drives the pages as a clerk would (types in the search box, picks,
submits, confirms) and checks what the page then shows: figures in the
language's format and messages in the language's words. The last page of
each flow is saved to docs/screenshots/ for the README.
"""

import pytest

from inventory.models import StockLevel
from loyalty.models import LoyaltyAccount
from omni.orders.models import Order
from returns.models import Return
from tests.browser.conftest import choose, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
LANGS = ["it", "en"]

WORDS = {
    "it": {
        "orders": "Ordini",
        "consents": "Consensi",
        "marketing": "E-mail promozionali",
        "given": "dato",
        "returns": "Resi",
        "home": "Spedisci a casa del cliente",
        "check": "Verifica disponibilità",
        "place": "Inserisci l'ordine",
        "network": "Disponibili nella rete: 10",
        "price": "Prezzo di questo ordine: € 1.249,00",
        "placed": "Ordine {} inserito.",
        "find": "Cerca",
        "preview": "Mostra rimborso e punti",
        "confirm": "Conferma il reso",
        "before": "Prima di confermare",
        "received": "Reso {} ricevuto: rimborsati 39,90, stornati {} punti.",
        "save_count": "Salva il conteggio",
        "confirm_import": "Conferma importazione",
    },
    "en": {
        "orders": "Orders",
        "consents": "Consents",
        "marketing": "Marketing e-mail",
        "given": "given",
        "returns": "Returns",
        "home": "Ship to the customer's home",
        "check": "Check availability",
        "place": "Place the order",
        "network": "Available in the network: 10",
        "price": "Price for this order: € 1,249.00",
        "placed": "Order {} placed.",
        "find": "Find",
        "preview": "Show refund and points",
        "confirm": "Confirm the return",
        "before": "Before you confirm",
        "received": "Return {} received: 39.90 refunded, {} points taken back.",
        "save_count": "Save the count",
        "confirm_import": "Confirm import",
    },
}


def grouped(number: int, lang: str) -> str:
    """A whole number as the page writes it: 1.579 in Italian, 1,579 in English."""
    return f"{number:,}".replace(",", "." if lang == "it" else ",")


@pytest.mark.parametrize("lang", LANGS)
def test_a_clerk_finds_a_customer_by_card_and_sees_points_orders_and_consents(shop, open_as, lang):
    words = WORDS[lang]
    balance = LoyaltyAccount.objects.get(customer=shop.customer).balance
    assert balance > 1000  # the welcome points and those of the online order
    page = open_as(shop.clerk, lang)

    page.goto(f"{page.base}/admin/customers/customer/")
    page.fill("#searchbar", shop.card)
    page.press("#searchbar", "Enter")

    page.wait_for_url(f"**/admin/customers/customer/{shop.customer.pk}/change/")
    view = "\n".join(page.locator(".single-view").all_inner_texts())
    assert f"{grouped(balance, lang)} pt" in view
    assert shop.card in view
    assert shop.order.number in view
    assert words["orders"] in view and words["consents"] in view
    assert words["marketing"] in view and words["given"] in view
    assert ("79,80" if lang == "it" else "79.80") in view  # the revenue of every channel
    assert words["returns"] in view  # the returns panel
    # The phone typed as people say it finds the same customer.
    page.goto(f"{page.base}/admin/customers/customer/?q=333%201234567")
    page.wait_for_url(f"**/admin/customers/customer/{shop.customer.pk}/change/")
    page.goto(f"{page.base}/admin/customers/customer/?q=giulia.bianchi@example.it")
    page.wait_for_url(f"**/admin/customers/customer/{shop.customer.pk}/change/")
    screenshot(page, f"customer-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_clerk_sells_a_shirt_sold_out_here_from_the_network_for_home_delivery(shop, open_as, lang):
    words = WORDS[lang]
    page = open_as(shop.clerk, lang)

    page.goto(f"{page.base}/admin/orders/order/endless-aisle/?customer={shop.customer.pk}")
    choose(page, "item", "CAM-ROSSA-M")  # the autocomplete, searched by SKU
    choose(page, "fulfilment", words["home"])
    page.fill("[name=address]", "Via Dante 5")
    page.fill("[name=postcode]", "20121")
    page.fill("[name=city]", "Milano")
    page.click(f'input[type=submit][value="{words["check"]}"]')

    assert page.inner_text("#network-available") == words["network"]
    where = page.inner_text("#where")
    assert "Roma Corso (RM01)" in where and "Magazzino Piacenza (WH-PC)" in where
    assert "Milano Duomo (MI01)\tMilano\t0\t" in where  # sold out here
    assert words["price"] in page.inner_text("#content")

    page.click(f'input[type=submit][value="{words["place"]}"]')
    page.wait_for_url("**/admin/orders/order/*/change/")
    order = Order.objects.get(is_endless_aisle=True)
    assert order.customer_id == shop.customer.pk and order.location_id == shop.milano.pk
    assert page.inner_text(".messagelist") == words["placed"].format(order.number)
    screenshot(page, f"endless-aisle-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_clerk_takes_back_an_online_order_seeing_refund_and_points_before_confirming(shop, open_as, lang):
    words = WORDS[lang]
    page = open_as(shop.clerk, lang)
    line = shop.order.lines.get()

    page.goto(f"{page.base}/admin/returns/return/take-back/")
    page.fill("[name=customer]", "giulia.bianchi@example.it")
    page.click(f'input[type=submit][value="{words["find"]}"]')
    page.click(f"#orders a:text-is('{shop.order.number}')")
    page.fill(f"[name=qty_{line.pk}]", "1")
    page.select_option(f"[name=reason_{line.pk}]", "wrong_size")
    page.click(f'input[type=submit][value="{words["preview"]}"]')

    preview = page.inner_text("#preview")
    assert words["before"] in preview
    assert page.inner_text("#refund-amount") == ("39,90" if lang == "it" else "39.90")
    points = int(page.inner_text("#points-reversed"))
    assert points > 0
    assert not Return.objects.exists()  # nothing happens before the confirmation

    page.click(f'input[type=submit][value="{words["confirm"]}"]')
    page.wait_for_url("**/admin/returns/return/*/change/")
    ret = Return.objects.get()
    assert (ret.location_id, ret.points_reversed) == (shop.milano.pk, points)
    assert page.inner_text(".messagelist") == words["received"].format(ret.rma, points)
    assert StockLevel.objects.get(location=shop.milano, variant=shop.shirt_l).on_hand == 6
    screenshot(page, f"take-back-{lang}")


@pytest.mark.parametrize("lang", LANGS)
def test_a_clerk_counts_a_sku_and_logistics_imports_a_count_file_after_its_preview(shop, open_as, lang, tmp_path):
    words = WORDS[lang]
    page = open_as(shop.clerk, lang)

    page.goto(f"{page.base}/admin/inventory/stocklevel/count/")
    choose(page, "location", "Milano Duomo")
    page.fill("[name=sku]", "CAM-ROSSA-M")
    page.fill("[name=on_hand]", "4")
    page.fill("[name=reason]", "back room")
    page.click(f'input[type=submit][value="{words["save_count"]}"]')
    page.wait_for_url("**/admin/inventory/stocklevel/")
    assert "CAM-ROSSA-M" in page.inner_text(".messagelist") and "4" in page.inner_text(".messagelist")
    assert StockLevel.objects.get(location=shop.milano, variant=shop.shirt_m).on_hand == 4

    counts = tmp_path / "count.csv"
    counts.write_text("location,sku,on_hand,reason\nRM01,CAM-ROSSA-M,5,spring count\nWH-PC,CAM-ROSSA-L,2,\n")
    page = open_as(shop.logistics, lang)
    page.goto(f"{page.base}/admin/inventory/stocklevel/import/")
    page.set_input_files("[name=import_file]", str(counts))
    choose_format(page)
    page.locator("form:has([name=import_file]) input[type=submit]").click()

    page.wait_for_selector("table.import-preview")
    preview = page.locator("table.import-preview tbody tr").all_inner_texts()
    assert len(preview) == 2
    assert "RM01" in preview[0] and "+2" in preview[0]  # 3 on hand before, 5 counted
    assert "WH-PC" in preview[1] and "\t3\t-1" in preview[1]  # 5 counted, 2 shipped for the web order
    assert StockLevel.objects.get(location=shop.roma, variant=shop.shirt_m).on_hand == 3  # nothing yet

    page.click(f'input[type=submit][value="{words["confirm_import"]}"]')
    page.wait_for_url("**/admin/inventory/stocklevel/")
    assert StockLevel.objects.get(location=shop.roma, variant=shop.shirt_m).on_hand == 5
    assert StockLevel.objects.get(location=shop.warehouse, variant=shop.shirt_l).on_hand == 2
    page.goto(f"{page.base}/admin/inventory/stocklevel/?q=CAM-ROSSA-M")
    screenshot(page, f"stock-{lang}")


def choose_format(page) -> None:
    formats = page.locator("select[name=format]")
    if formats.count():
        formats.select_option(label="csv")
