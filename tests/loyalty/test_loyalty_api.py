"""The loyalty endpoints: account by card, its ledger, the quote."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from loyalty import services
from loyalty.models import EarningRule, Promotion, Tier
from omni.catalog.models import Channel, ChannelPrice
from tests.factories import CustomerFactory, OrderFactory, ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db
CARD = "0420000000017"


def test_an_account_answers_by_card_with_balance_tier_and_expiring_points(api, account):
    services.earn(account=account, points=120, spend=Decimal("120"))
    body = api.get(f"/api/v1/loyalty/accounts/{CARD}/").json()
    assert body["card"] == CARD
    assert body["customer"] == account.customer_id
    assert body["balance"] == 120
    assert body["points_value"] == "1.20"
    assert body["expiring"][0]["points"] == 120


def test_an_unknown_card_is_a_404(api):
    response = api.get("/api/v1/loyalty/accounts/999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_ledger_lists_movements_newest_first(api, account):
    order = OrderFactory(customer=account.customer, number="OM00000042")
    services.earn(account=account, points=30, order=order, at=timezone.now() - timedelta(days=1))
    services.redeem(account=account, points=10)
    rows = api.get(f"/api/v1/loyalty/accounts/{CARD}/ledger/").json()["results"]
    assert [(r["kind"], r["points"], r["order"]) for r in rows] == [("redeem", -10, None), ("earn", 30, "OM00000042")]


def test_the_ledger_costs_the_same_queries_for_3_or_60_movements(api, account, django_assert_max_num_queries):
    for _ in range(3):
        services.earn(account=account, points=1, order=OrderFactory(customer=account.customer))
    with django_assert_max_num_queries(8) as few:
        api.get(f"/api/v1/loyalty/accounts/{CARD}/ledger/", {"page_size": 500})
    for _ in range(57):
        services.earn(account=account, points=1, order=OrderFactory(customer=account.customer))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(api.get(f"/api/v1/loyalty/accounts/{CARD}/ledger/", {"page_size": 500}).json()["results"]) == 60


def basket(channel: str, **extra) -> dict:
    return {
        "channel": channel,
        "lines": [{"sku": "CAM-R-M", "quantity": 2}, {"sku": "PAN-B-48", "quantity": 1}],
        **extra,
    }


@pytest.fixture
def catalog(db):
    VariantFactory(sku="CAM-R-M", price=Decimal("30.00"), product=ProductFactory(code="CAM", category="camicie"))
    VariantFactory(sku="PAN-B-48", price=Decimal("50.00"), product=ProductFactory(code="PAN", category="pantaloni"))


def test_the_same_basket_quotes_the_same_on_every_channel(api, catalog):
    quotes = [
        api.post("/api/v1/loyalty/quote/", basket(code), format="json").json() for code in ("store", "web", "app")
    ]
    for quote in quotes:
        quote.pop("channel")
    assert quotes[0] == quotes[1] == quotes[2]
    assert quotes[0]["total"] == "110.00"
    assert quotes[0]["points_to_earn"] == 110


def test_a_channel_price_changes_the_quote_on_that_channel_only(api, catalog):
    from omni.catalog.models import Variant

    ChannelPrice.objects.create(
        variant=Variant.objects.get(sku="CAM-R-M"), channel=Channel.objects.get(code="web"), price="27.00"
    )
    assert api.post("/api/v1/loyalty/quote/", basket("web"), format="json").json()["total"] == "104.00"
    assert api.post("/api/v1/loyalty/quote/", basket("store"), format="json").json()["total"] == "110.00"


def test_a_promotion_holds_on_every_channel_unless_it_names_channels(api, catalog):
    Promotion.objects.create(
        code="shirts20", name="Camicie -20%", kind="percent", value=20, target="category", category="camicie"
    )
    store = api.post("/api/v1/loyalty/quote/", basket("store"), format="json").json()
    web = api.post("/api/v1/loyalty/quote/", basket("web"), format="json").json()
    assert store["total"] == web["total"] == "98.00"
    assert store["lines"][0]["promotions"] == ["shirts20"]
    app_only = Promotion.objects.create(code="app5", name="5 euro app", kind="amount", value=5, target="basket")
    app_only.channels.set([Channel.objects.get(code="app")])
    assert api.post("/api/v1/loyalty/quote/", basket("app"), format="json").json()["total"] == "93.00"
    assert api.post("/api/v1/loyalty/quote/", basket("web"), format="json").json()["total"] == "98.00"


def test_tier_promotions_and_multipliers_apply_to_that_tier(api, catalog, account):
    gold = Tier.objects.get(code="gold")
    account.tier = gold
    account.save()
    Promotion.objects.create(code="gold10", name="Gold -10%", kind="percent", value=10, target="basket", tier=gold)
    EarningRule.objects.create(name="Pantaloni x2", category="pantaloni", multiplier=2)
    for_gold = api.post("/api/v1/loyalty/quote/", basket("web", card=CARD), format="json").json()
    anonymous = api.post("/api/v1/loyalty/quote/", basket("web"), format="json").json()
    assert for_gold["total"] == "99.00"
    assert anonymous["total"] == "110.00"
    # gold earns x1.5; trousers x2: shirts 54.00*1.5 + trousers 45.00*1.5*2
    assert for_gold["points_to_earn"] == 81 + 135
    assert anonymous["points_to_earn"] == 60 + 100


def test_the_quote_says_what_the_balance_is_worth(api, catalog, account):
    services.earn(account=account, points=250)
    quote = api.post("/api/v1/loyalty/quote/", basket("web", customer=account.customer_id), format="json").json()
    assert (quote["balance"], quote["points_value"]) == (250, "2.50")


@pytest.mark.parametrize(
    ("body", "status", "code", "field"),
    [
        ({"channel": "web", "lines": [{"sku": "NOPE", "quantity": 1}]}, 400, "invalid", "lines.0.sku"),
        ({"channel": "web", "lines": [{"sku": "CAM-R-M", "quantity": 0}]}, 400, "invalid", "lines.0.quantity"),
        ({"channel": "web", "lines": []}, 400, "invalid", "lines"),
        ({"channel": "tv", "lines": [{"sku": "CAM-R-M", "quantity": 1}]}, 400, "invalid", "channel"),
        ({"channel": "web", "card": "nope", "lines": [{"sku": "CAM-R-M", "quantity": 1}]}, 404, "not_found", None),
        ({"channel": "web", "customer": 99999, "lines": [{"sku": "CAM-R-M", "quantity": 1}]}, 404, "not_found", None),
    ],
)
def test_bad_quotes_answer_with_a_code(api, catalog, body, status, code, field):
    response = api.post("/api/v1/loyalty/quote/", body, format="json")
    assert response.status_code == status
    assert response.json()["code"] == code
    if field:
        assert field in response.json()["errors"]


def test_a_product_not_sold_on_the_channel_is_a_409(api, catalog):
    VariantFactory(sku="STORE-ONLY", product=ProductFactory(channels=[Channel.objects.get(code="store")]))
    body = {"channel": "web", "lines": [{"sku": "STORE-ONLY", "quantity": 1}]}
    response = api.post("/api/v1/loyalty/quote/", body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_sold_on_channel"


def test_reading_needs_the_loyalty_scope(make_api_client, account):
    assert make_api_client(["orders"]).get(f"/api/v1/loyalty/accounts/{CARD}/").status_code == 403
    assert CustomerFactory()
