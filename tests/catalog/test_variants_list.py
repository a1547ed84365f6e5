"""The variants list: paged by SKU, searched by SKU, product name, colour and size, priced per channel."""

from decimal import Decimal

import pytest

from omni.catalog.models import Channel, ChannelPrice
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/variants/"


@pytest.fixture
def catalogue():
    oxford = ProductFactory(code="CAM-OX", name="Camicia Oxford")
    polo = ProductFactory(code="POLO", name="Polo piqué", channels=[Channel.objects.get(code="store")])
    return {
        "ox-white-m": VariantFactory(product=oxford, sku="OX-W-M", color="bianco", size="M"),
        "ox-blue-xl": VariantFactory(product=oxford, sku="OX-B-XL", color="blu", size="XL", price=Decimal("49.00")),
        "polo-red-s": VariantFactory(product=polo, sku="PO-R-S", color="rosso", size="S"),
    }


def skus(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["sku"] for row in response.json()["results"]]


def test_variants_are_listed_by_sku_with_their_product(api, catalogue):
    response = api.get(URL)
    assert skus(response) == ["OX-B-XL", "OX-W-M", "PO-R-S"]
    first = response.json()["results"][0]
    assert first["product"] == {"code": "CAM-OX", "name": "Camicia Oxford", "category": "camicie"}
    assert first["list_price"] == "49.00" and first["price"] is None and first["channel"] is None


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("ox-w", ["OX-W-M"]),  # SKU
        ("oxford", ["OX-B-XL", "OX-W-M"]),  # product name, any case
        ("ROSSO", ["PO-R-S"]),  # colour
        ("xl", ["OX-B-XL"]),  # size
        ("nothing-like-it", []),
    ],
)
def test_search_matches_sku_product_name_colour_and_size(api, catalogue, search, expected):
    assert skus(api.get(URL, {"search": search})) == expected


def test_product_filter_lists_one_products_variants(api, catalogue):
    assert skus(api.get(URL, {"product": "POLO"})) == ["PO-R-S"]


def test_channel_lists_what_it_sells_at_its_own_price(api, catalogue):
    ChannelPrice.objects.create(
        variant=catalogue["ox-white-m"], channel=Channel.objects.get(code="web"), price=Decimal("25.00")
    )
    response = api.get(URL, {"channel": "web"})
    assert skus(response) == ["OX-B-XL", "OX-W-M"]  # the polo is sold in stores only
    prices = {row["sku"]: (row["channel"], row["price"]) for row in response.json()["results"]}
    assert prices == {"OX-B-XL": ("web", "49.00"), "OX-W-M": ("web", "25.00")}


def test_an_unknown_channel_is_a_400(api, catalogue):
    response = api.get(URL, {"channel": "tv"})
    assert response.status_code == 400 and response.json()["code"] == "invalid"


def test_the_list_needs_the_catalog_scope(make_api_client, catalogue):
    assert make_api_client(scopes=["stock"]).get(URL).status_code == 403
