"""The parity page names every rule that makes channels differ, and what it does."""

import csv
import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from loyalty.models import EarningRule, Promotion
from omni.catalog.models import Channel, ChannelPrice
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def manager(client):
    client.force_login(User.objects.create_superuser("manager", "m@example.it", "pw-Secret-1"))
    return client


def test_with_no_channel_rules_the_page_says_every_channel_gives_the_same_deal(manager):
    VariantFactory()
    page = manager.get("/admin/loyalty/programme/parity/").content.decode()
    assert "ogni canale offre le stesse condizioni" in page  # Italian by default


def test_a_channel_price_and_a_channel_promotion_are_listed_with_their_effect(manager):
    variant = VariantFactory(sku="CAM-R-M", price=Decimal("30.00"), product=ProductFactory(category="camicie"))
    ChannelPrice.objects.create(variant=variant, channel=Channel.objects.get(code="marketplace"), price="33.00")
    promo = Promotion.objects.create(
        code="web10", name="Web -10%", kind="percent", value=10, target="category", category="camicie"
    )
    promo.channels.set([Channel.objects.get(code="web")])
    Promotion.objects.create(code="all5", name="Everyone -5", kind="amount", value=5, target="basket")
    page = manager.get("/admin/loyalty/programme/parity/").content.decode()
    assert "CAM-R-M: 33.00 instead of 30.00" in page
    assert "web10: Web -10%" in page
    assert "all5" not in page  # holds on every channel: not a difference
    import re

    row = re.search(r"web10: Web -10%.*?</tr>", page, re.S).group(0)
    totals = re.findall(r"<td>(€ [\d,.]+|not sold|non in vendita)</td>", row)
    # store, web, app, call_center, marketplace, social: 30 - 5 everywhere, web 30 - 10% - 5,
    # the marketplace's own price 33 - 5
    assert totals == ["€ 25,00", "€ 22,00", "€ 25,00", "€ 25,00", "€ 28,00", "€ 25,00"]


def test_the_page_is_for_staff_only(client):
    assert client.get("/admin/loyalty/programme/parity/").status_code == 302


@pytest.fixture
def many_differences(db):
    """Sixty channel prices (more than two pages), a web-only promotion and an app-only earning rule."""
    marketplace = Channel.objects.get(code="marketplace")
    product = ProductFactory(category="camicie")
    for n in range(60):
        variant = VariantFactory(sku=f"SKU-{n:03d}", price=Decimal("30.00"), product=product)
        ChannelPrice.objects.create(variant=variant, channel=marketplace, price="33.00")
    promo = Promotion.objects.create(
        code="web10", name="Web -10%", kind="percent", value=10, target="category", category="camicie"
    )
    promo.channels.set([Channel.objects.get(code="web")])
    rule = EarningRule.objects.create(name="App x2", category="camicie", multiplier=2)
    rule.channels.set([Channel.objects.get(code="app")])


def all_pages(api, **params) -> list[dict]:
    found, page = [], api.get("/api/v1/parity/", params).json()
    found += page["results"]
    while page["next"]:
        page = api.get(page["next"]).json()
        found += page["results"]
    return found


def test_the_report_is_complete_past_any_page_and_says_how_many_rows_it_has(manager, many_differences):
    page = manager.get("/admin/loyalty/programme/parity/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "62 differences; showing 1–25." in page and "page 1 of 3" in page
    last = manager.get("/admin/loyalty/programme/parity/", {"page": 3}, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "web10: Web -10%" in last and "App x2" in last


def test_the_report_filters_by_channel_and_downloads_whole_as_csv(manager, many_differences):
    page = manager.get("/admin/loyalty/programme/parity/", {"channel": "web"}, HTTP_ACCEPT_LANGUAGE="en")
    assert "web10: Web -10%" in page.content.decode() and "SKU-000: 33.00" not in page.content.decode()
    download = manager.get("/admin/loyalty/programme/parity/", {"format": "csv"})
    rows = list(csv.reader(io.StringIO(download.content.decode())))
    assert rows[0] == ["kind", "subject", "channels", "detail"] and len(rows) == 63
    assert ["earning_rule", "App x2", "app", "× 2.00 on category camicie"] in rows


def test_the_api_serves_every_difference_paginated_and_by_channel(api, many_differences):
    everything = all_pages(api)
    assert len(everything) == 62
    assert {"kind", "subject", "channels", "detail"} <= set(everything[0])
    assert [d["subject"] for d in all_pages(api, channel="app")] == ["App x2"]
    assert api.get("/api/v1/parity/", {"channel": "fax"}).json()["code"] == "invalid"


def test_the_api_needs_the_loyalty_scope(make_api_client):
    response = make_api_client(["orders"]).get("/api/v1/parity/")
    assert response.status_code == 403


def test_till_drift_is_reported_beside_the_rules(api, db):
    from inventory import services as inventory
    from tests.factories import LocationFactory

    store = LocationFactory(code="MI01")
    variant = VariantFactory(sku="CAM-R-M", price=Decimal("30.00"))
    inventory.count(location=store, variant=variant, on_hand=5)
    body = {
        "channel": "store",
        "location": "MI01",
        "lines": [{"sku": "CAM-R-M", "quantity": 1, "unit_price": "27.00"}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "cash", "amount": "27.00"}],
    }
    assert api.post("/api/v1/orders/", body, format="json").status_code == 201
    drift = [d for d in all_pages(api, channel="store") if d["kind"] == "till_drift"]
    assert [(d["subject"], d["channels"]) for d in drift] == [
        ("CAM-R-M on store: charged 27.00 instead of 30.00", ["store"])
    ]
    assert all_pages(api, channel="web") == []
