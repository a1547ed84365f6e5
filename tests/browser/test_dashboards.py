"""A manager filters the KPI dashboards in a real browser, in Italian and in English."""

from datetime import date

import pytest

from tests.browser.conftest import choose, screenshot
from tests.factories import CustomerFactory
from tests.kpis.conftest import History, at

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "it": {
        "revenue": "Fatturato",
        "orders": "Ordini",
        "show": "Mostra",
        "all": "€ 1.314,56",
        "web": "€ 80,00",
        "web_shop": "Negozio online",
    },
    "en": {
        "revenue": "Revenue",
        "orders": "Orders",
        "show": "Show",
        "all": "€ 1,314.56",
        "web": "€ 80.00",
        "web_shop": "Web shop",
    },
}


def figure(page, label: str) -> str:
    """This period's figure of the KPI row named `label`."""
    row = page.locator("#kpi-table tbody tr", has=page.locator("strong", has_text=label)).first
    return row.locator("td.num").first.inner_text()


@pytest.mark.parametrize("lang", ["it", "en"])
def test_the_kpi_table_follows_the_channel_filter(shop, open_as, lang):
    words = WORDS[lang]
    history = History()
    buyer = CustomerFactory()
    history.order("store", "1234.56", location=shop.milano, customer=buyer, when=at(date(2025, 3, 4), 11))
    history.order("web", "40.00", customer=buyer, when=at(date(2025, 3, 10), 20))
    history.order("web", "40.00", when=at(date(2025, 3, 20), 21))
    history.roll(date(2025, 2, 1), date(2025, 3, 31))
    page = open_as(shop.manager, lang)

    page.goto(f"{page.base}/dashboards/?start=2025-03-01&end=2025-03-31")
    assert figure(page, words["revenue"]) == words["all"]
    assert figure(page, words["orders"]) == "3"

    choose(page, "channel", words["web_shop"])  # the channel's name in the page's language
    page.click(f'input[type=submit][value="{words["show"]}"]')
    page.wait_for_url("**channel=web**")
    assert figure(page, words["revenue"]) == words["web"]
    assert figure(page, words["orders"]) == "2"
    assert page.locator("select[name=channel]").input_value() == "web"  # the filter stays chosen
    screenshot(page, f"dashboard-{lang}")
