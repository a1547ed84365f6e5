"""The order POST answers from the order it built, not by reading it back: the same bytes as its GET."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from rest_framework.renderers import JSONRenderer

from inventory.models import StockLevel
from loyalty.models import EarningRule, Promotion
from omni.catalog.models import Channel, Variant
from omni.orders import selectors
from omni.orders.api.serializers import OrderSerializer, order_answer
from tests.factories import ProductFactory, VariantFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


def sale(**changes) -> dict:
    body = {
        "channel": "store",
        "location": "MI01",
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "card", "amount": "39.90"}],
    }
    body.update(changes)
    return body


def answers(api, body: dict) -> tuple[bytes, bytes]:
    posted = api.post(URL, body, format="json")
    assert posted.status_code == 201, posted.json()
    read = api.get(f"{URL}{posted.json()['number']}/")
    assert read.status_code == 200
    return posted.content, read.content


@pytest.fixture
def shop(network):
    """Stock here and in the warehouse, a second product, a line promotion and an earning rule."""
    stock(network["milano"], network["shirt"], 5)
    stock(network["warehouse"], network["shirt"], 5)
    trousers = VariantFactory(sku="PANT-BLU-48", price=Decimal("59.00"), product=ProductFactory(code="PANT-BLU"))
    trousers.product.channels.add(*Channel.objects.all())
    stock(network["milano"], trousers, 1)
    stock(network["roma"], trousers, 3)
    Promotion.objects.create(
        code="shirts-10", name="Shirts -10%", kind="percent", value=Decimal("10"), target="product",
        product=network["shirt"].product,
    )  # fmt: skip
    EarningRule.objects.create(name="Shirts count double", category=network["shirt"].product.category, multiplier=2)
    return network


SALES = {
    "carry out, a card holder earning points, a promotion": sale(
        external_id="R-1",
        identifiers=[{"kind": "email", "value": "anna@example.it"}],
        lines=[{"sku": "CAM-ROSSA-M", "quantity": 2}],
        payments=[{"tender": "card", "amount": "50.00"}, {"tender": "cash", "amount": "21.82"}],
    ),
    "click and collect": sale(
        channel="web",
        location=None,
        fulfilment={"type": "click_and_collect", "pickup_location": "MI01"},
        identifiers=[{"kind": "email", "value": "bruno@example.it"}],
        payments=[{"tender": "card", "amount": "35.91"}],
        lines=[{"sku": "CAM-ROSSA-M", "quantity": 1}],
    ),
    "ship to home, split over stores, an address in any key order": sale(
        channel="web",
        location=None,
        fulfilment={
            "type": "ship_to_home",
            "address": {"zip": "10121", "line1": "Via Roma 1", "city": "Torino", "extra": {"floor": 2, "bell": "B"}},
            "allow_split": True,
        },
        lines=[{"sku": "PANT-BLU-48", "quantity": 3}, {"sku": "CAM-ROSSA-M", "quantity": 2}],
        payments=[{"tender": "card", "amount": "248.82"}],
    ),
    "carry out with two gift cards sold": sale(
        external_id="R-GIFT",
        gift_cards=[{"amount": "25.00"}, {"amount": "50.00"}],
        payments=[{"tender": "card", "amount": "110.91"}],
    ),
    "a store sale shipped from the warehouse (endless aisle)": sale(
        fulfilment={"type": "ship_to_home", "address": {"line1": "Via Roma 1", "city": "Milano"}},
        lines=[{"sku": "CAM-ROSSA-M", "quantity": 4}],
        payments=[{"tender": "card", "amount": "143.64"}],
        allow_split=True,
    ),
}


@pytest.mark.parametrize("kind", list(SALES))
def test_the_answer_to_the_post_is_byte_for_byte_the_get_of_the_same_order(api, shop, kind):
    posted, read = answers(api, SALES[kind])
    assert posted == read


def test_the_post_reads_no_line_payment_or_allocation_back(api, shop):
    with CaptureQueriesContext(connection) as queries:
        answers_post = api.post(URL, SALES["carry out, a card holder earning points, a promotion"], format="json")
    assert answers_post.status_code == 201
    reads = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
    for table in ("orders_orderline", "orders_payment", "orders_allocation"):
        assert not [sql for sql in reads if f'FROM "{table}"' in sql], table


@pytest.mark.parametrize("zone", ["UTC", "Europe/Rome", "America/New_York"])
def test_the_answer_built_by_hand_is_the_serializer_s_for_every_order_in_any_time_zone(api, shop, zone):
    """`order_answer` skips the serializer for speed: for orders of every shape, read back or just made, and in
    any time zone (UTC answers with a Z), it renders to the serializer's very bytes."""
    trousers = Variant.objects.get(sku="PANT-BLU-48")
    for body in SALES.values():
        for place, variant, units in [("milano", shop["shirt"], 5), ("warehouse", shop["shirt"], 5)]:
            held = StockLevel.objects.get(location=shop[place], variant=variant).reserved
            stock(shop[place], variant, units + held)  # each sale meets the fixture's stock, as in its own test
        for place, units in [("milano", 1), ("roma", 3)]:
            held = StockLevel.objects.get(location=shop[place], variant=trousers).reserved
            stock(shop[place], trousers, units + held)
        assert api.post(URL, body, format="json").status_code == 201
    redeemed = api.post(
        URL,
        sale(
            external_id="R-POINTS",
            identifiers=[{"kind": "email", "value": "anna@example.it"}],
            points_to_redeem=100,
            payments=[{"tender": "card", "amount": "34.91"}],
        ),
        format="json",
    )
    assert redeemed.status_code == 201, redeemed.json()
    render = JSONRenderer().render
    with timezone.override(zone):
        read = list(selectors.orders())
        assert len(read) == len(SALES) + 1
        for order in read:
            assert render(order_answer(order)) == render(OrderSerializer(order).data), order.number
        # The list, the order's page and the answer to an event are order_answer's too: the serializer's bytes.
        listed = api.get(URL, {"page_size": 100}).json()["results"]
        assert listed and listed == [OrderSerializer(order).data for order in selectors.orders()]
        number = listed[0]["number"]
        assert api.get(f"{URL}{number}/").content == render(OrderSerializer(selectors.orders().get(number=number)).data)
