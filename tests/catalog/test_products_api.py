"""Products with variants: create, list with filters, variant detail with channel price."""

from decimal import Decimal

import pytest

from omni.catalog.models import Channel, ChannelPrice, Product, Variant
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/products/"


def shirt(**changes) -> dict:
    body = {
        "code": "CAM-OX",
        "name": "Camicia Oxford",
        "category": "camicie",
        "variants": [
            {"sku": "CAM-OX-BIA-M", "color": "bianco", "size": "M", "price": "39.90"},
            {"sku": "CAM-OX-BIA-L", "color": "bianco", "size": "L", "price": "39.90"},
        ],
    }
    body.update(changes)
    return body


def test_a_product_is_created_with_its_variants_on_every_channel_by_default(api):
    response = api.post(URL, shirt(), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert [v["sku"] for v in body["variants"]] == ["CAM-OX-BIA-L", "CAM-OX-BIA-M"]
    assert body["variants"][0]["price"] == "39.90"
    assert set(body["channels"]) == set(Channel.objects.values_list("code", flat=True))


def test_a_product_can_be_sold_on_some_channels_only(api):
    body = api.post(URL, shirt(channels=["store", "web"]), format="json").json()
    assert sorted(body["channels"]) == ["store", "web"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": [{"sku": "A1", "price": "0.00"}]}, "variants.0.price"),
        ({"variants": [{"sku": "A1", "price": "-5"}]}, "variants.0.price"),
        ({"variants": [{"sku": "A1", "price": "cheap"}]}, "variants.0.price"),
        ({"variants": [{"sku": "A1"}]}, "variants.0.price"),
        ({"variants": []}, "variants"),
        ({"variants": "A1"}, "variants"),
        ({"channels": ["tv"]}, "channels.0"),
        ({"name": ""}, "name"),
        ({"code": "has space"}, "code"),
        (
            {"variants": [{"sku": "A1", "price": "1.00"}, {"sku": "A1", "price": "2.00"}]},
            "variants.1.sku",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field_and_writes_nothing(api, changes, field):
    response = api.post(URL, shirt(**changes), format="json")
    assert response.status_code == 400, response.json()
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"], response.json()
    assert not Product.objects.exists()
    assert not Variant.objects.exists()


def test_a_sku_that_exists_is_refused_and_nothing_is_written(api):
    VariantFactory(sku="CAM-OX-BIA-L")
    response = api.post(URL, shirt(), format="json")
    assert response.status_code == 400
    assert "variants.1.sku" in response.json()["errors"]
    assert Product.objects.count() == 1  # only the factory's


def test_a_product_code_that_exists_is_refused(api):
    api.post(URL, shirt(), format="json")
    response = api.post(URL, shirt(variants=[{"sku": "OTHER", "price": "1.00"}]), format="json")
    assert response.status_code == 400
    assert "code" in response.json()["errors"]
    assert not Variant.objects.filter(sku="OTHER").exists()


def test_the_list_filters_by_category_channel_and_search(api):
    web = Channel.objects.get(code="web")
    store = Channel.objects.get(code="store")
    ProductFactory(code="CAM1", name="Camicia lino", category="camicie", channels=[web, store])
    ProductFactory(code="PAN1", name="Pantalone chino", category="pantaloni", channels=[store])
    VariantFactory(product=Product.objects.get(code="PAN1"), sku="PAN1-BLU-48")

    def codes(**params):
        return [row["code"] for row in api.get(URL, params).json()["results"]]

    assert codes(category="camicie") == ["CAM1"]
    assert codes(channel="web") == ["CAM1"]
    assert codes(channel="store") == ["CAM1", "PAN1"]
    assert codes(search="chino") == ["PAN1"]
    assert codes(search="PAN1-BLU") == ["PAN1"]
    assert api.get(URL, {"channel": "tv"}).status_code == 400


def test_the_list_and_the_product_page_show_each_product_whole(api):
    """Variants by SKU with their list price and state, channels in the channels' order, products by code; a
    product with no variant yet, or on no channel, is listed with empty lists."""
    channels = list(Channel.objects.order_by("pk"))
    shirt = ProductFactory(code="CAM1", name="Camicia", description="Lino", channels=[channels[3], channels[0]])
    VariantFactory(product=shirt, sku="CAM1-M", color="blu", size="M", price=Decimal("39.9"))
    VariantFactory(product=shirt, sku="CAM1-L", color="blu", size="L", price=Decimal("41.00"), is_active=False)
    ProductFactory(code="ABI1", name="Abito", channels=[])
    expected_shirt = {
        "code": "CAM1",
        "name": "Camicia",
        "category": "camicie",
        "description": "Lino",
        "channels": [channels[0].code, channels[3].code],
        "is_active": True,
        "variants": [
            {"sku": "CAM1-L", "color": "blu", "size": "L", "price": "41.00", "is_active": False},
            {"sku": "CAM1-M", "color": "blu", "size": "M", "price": "39.90", "is_active": True},
        ],
    }
    listed = api.get(URL).json()["results"]
    assert [row["code"] for row in listed] == ["ABI1", "CAM1"]
    assert (listed[0]["channels"], listed[0]["variants"]) == ([], [])
    assert listed[1] == expected_shirt
    assert api.get(f"{URL}CAM1/").json() == expected_shirt


def test_the_list_costs_the_same_queries_for_2_or_40_products(api, django_assert_max_num_queries):
    for _ in range(2):
        VariantFactory.create_batch(2, product=ProductFactory())
    with django_assert_max_num_queries(6) as small:
        api.get(URL, {"page_size": 500})
    for _ in range(38):
        VariantFactory.create_batch(3, product=ProductFactory())
    with django_assert_max_num_queries(len(small.captured_queries)):
        assert len(api.get(URL, {"page_size": 500}).json()["results"]) == 40


def test_a_variant_shows_the_price_of_the_channel_asked_for(api):
    variant = VariantFactory(sku="CAM-R-M", price=Decimal("29.90"))
    ChannelPrice.objects.create(variant=variant, channel=Channel.objects.get(code="marketplace"), price="32.50")
    web = api.get("/api/v1/variants/CAM-R-M/", {"channel": "web"}).json()
    assert (web["price"], web["is_sold_on_channel"], web["currency"]) == ("29.90", True, "EUR")
    market = api.get("/api/v1/variants/CAM-R-M/", {"channel": "marketplace"}).json()
    assert market["price"] == "32.50"
    assert market["product"]["code"] == variant.product.code
    differing = [offer["channel"] for offer in market["offers"] if offer["differs_from_list"]]
    assert differing == ["marketplace"]


def test_a_variant_says_when_a_channel_does_not_sell_it(api):
    product = ProductFactory(channels=[Channel.objects.get(code="store")])
    VariantFactory(product=product, sku="STORE-ONLY")
    body = api.get("/api/v1/variants/STORE-ONLY/", {"channel": "web"}).json()
    assert body["is_sold_on_channel"] is False


def test_an_unknown_sku_is_a_404_and_an_unknown_channel_a_400(api):
    VariantFactory(sku="KNOWN")
    assert api.get("/api/v1/variants/NOPE/").json()["code"] == "not_found"
    response = api.get("/api/v1/variants/KNOWN/", {"channel": "tv"})
    assert response.status_code == 400
    assert "channel" in response.json()["errors"]
