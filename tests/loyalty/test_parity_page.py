"""The parity page names every rule that makes channels differ, and what it does."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from loyalty.models import Promotion
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
