"""One order flow for every channel: the API records sales of the till, the site and the store."""

from decimal import Decimal

import pytest

from inventory.models import StockLevel, StockMovement
from loyalty import services as loyalty
from loyalty.models import LedgerEntry, LoyaltyAccount
from omni.catalog.models import Channel
from omni.orders.models import Order
from tests.factories import CustomerFactory, ProductFactory, VariantFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


def level(location, variant) -> StockLevel:
    return StockLevel.objects.get(location=location, variant=variant)


def till_sale(**changes) -> dict:
    body = {
        "channel": "store",
        "location": "MI01",
        "external_id": "R-0001",
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "card", "amount": "39.90"}],
    }
    body.update(changes)
    return body


def test_the_red_shirt_sold_out_here_is_ordered_here_and_shipped_from_the_warehouse(api, network):
    stock(network["warehouse"], network["shirt"], 3)
    before = api.get("/api/v1/availability/", {"sku": "CAM-ROSSA-M", "channel": "store"}).json()
    response = api.post(
        URL,
        till_sale(fulfilment={"type": "ship_to_home", "address": {"line1": "Via Roma 1", "city": "Torino"}}),
        format="json",
    )
    assert response.status_code == 201, response.json()
    order = response.json()
    assert order["status"] == "placed"
    assert order["is_endless_aisle"] is True
    assert order["location"] == "MI01"
    assert order["lines"][0]["allocations"] == [{"location": "WH-PC", "quantity": 1}]
    after = api.get("/api/v1/availability/", {"sku": "CAM-ROSSA-M", "channel": "store"}).json()
    network_before = before["results"][0]["network_available"]
    network_after = after["results"][0]["network_available"]
    assert network_after == network_before - 1
    assert level(network["warehouse"], network["shirt"]).reserved == 1


def test_a_till_sale_takes_the_store_stock_at_once_and_earns_points_on_the_card(api, network):
    stock(network["milano"], network["shirt"], 2)
    body = till_sale(identifiers=[{"kind": "card", "value": "0420000000017"}])
    response = api.post(URL, body, format="json")
    assert response.status_code == 201, response.json()
    order = response.json()
    assert (order["status"], order["total"], order["points_earned"]) == ("completed", "39.90", 39)
    assert level(network["milano"], network["shirt"]).on_hand == 1
    card = api.get("/api/v1/loyalty/accounts/0420000000017/").json()
    assert card["balance"] == 39
    assert card["customer"] == order["customer"]


def test_points_earned_online_land_on_the_balance_of_the_card_used_in_store(api, network):
    customer = CustomerFactory()
    account = loyalty.open_account(customer=customer)
    loyalty.add_card(account=account, number="0420000000017")
    stock(network["milano"], network["shirt"], 5)
    stock(network["warehouse"], network["shirt"], 5)
    api.post(URL, till_sale(customer=customer.pk), format="json")
    web = till_sale(
        channel="web",
        location=None,
        external_id="W-1",
        customer=customer.pk,
        fulfilment={"type": "ship_to_home", "address": {"city": "Milano"}},
    )
    assert api.post(URL, web, format="json").status_code == 201
    assert api.get("/api/v1/loyalty/accounts/0420000000017/").json()["balance"] == 78
    assert LoyaltyAccount.objects.count() == 1


def test_paying_with_points_earns_only_on_what_was_paid(api, network):
    customer = CustomerFactory()
    account = loyalty.open_account(customer=customer)
    loyalty.earn(account=account, points=1000)
    stock(network["milano"], network["shirt"], 1)
    body = till_sale(customer=customer.pk, points_to_redeem=990, payments=[{"tender": "cash", "amount": "30.00"}])
    order = api.post(URL, body, format="json").json()
    assert (order["points_redeemed"], order["points_value"], order["points_earned"]) == (990, "9.90", 30)
    account.refresh_from_db()
    assert account.balance == 1000 - 990 + 30


def test_a_receipt_sent_twice_is_recorded_once(api, network):
    stock(network["milano"], network["shirt"], 5)
    first = api.post(URL, till_sale(), format="json").json()
    again = api.post(URL, till_sale(), format="json")
    assert again.status_code == 409
    assert again.json()["code"] == "duplicate_order"
    assert again.json()["number"] == first["number"]
    assert Order.objects.count() == 1
    assert level(network["milano"], network["shirt"]).on_hand == 4


@pytest.mark.parametrize(
    ("changes", "status", "code", "field"),
    [
        ({"lines": [{"sku": "NOPE", "quantity": 1}]}, 400, "invalid", "lines.0.sku"),
        ({"lines": [{"sku": "CAM-ROSSA-M", "quantity": 0}]}, 400, "invalid", "lines.0.quantity"),
        ({"lines": [{"sku": "CAM-ROSSA-M", "quantity": 1_000_000}]}, 400, "invalid", "lines.0.quantity"),
        ({"payments": [{"tender": "card", "amount": "10.00"}]}, 400, "invalid", "payments"),
        ({"payments": [{"tender": "cheque", "amount": "39.90"}]}, 400, "invalid", "payments.0.tender"),
        ({"location": "NOWHERE"}, 400, "invalid", "location"),
        ({"location": None}, 400, "invalid", "location"),
        ({"channel": "tv"}, 400, "invalid", "channel"),
        ({"fulfilment": {"type": "click_and_collect"}}, 400, "invalid", "fulfilment.pickup_location"),
        ({"customer": 987654}, 400, "invalid", "customer"),
        (
            {"lines": [{"sku": "CAM-ROSSA-M", "quantity": 3}], "payments": [{"tender": "card", "amount": "119.70"}]},
            409,
            "insufficient_stock",
            None,
        ),
        (
            {"points_to_redeem": 10, "identifiers": [{"kind": "email", "value": "new@example.it"}]},
            409,
            "insufficient_points",
            None,
        ),
    ],
)
def test_a_refused_order_writes_nothing(api, network, changes, status, code, field):
    stock(network["milano"], network["shirt"], 2)
    movements = StockMovement.objects.count()
    response = api.post(URL, till_sale(**changes), format="json")
    assert response.status_code == status, response.json()
    assert response.json()["code"] == code
    if field:
        assert field in response.json()["errors"], response.json()
    assert not Order.objects.exists()
    assert StockMovement.objects.count() == movements
    assert not LedgerEntry.objects.exists()
    assert level(network["milano"], network["shirt"]).on_hand == 2


def test_a_product_not_sold_on_the_channel_is_a_409(api, network):
    VariantFactory(sku="ONLY-WEB", product=ProductFactory(channels=[Channel.objects.get(code="web")]))
    stock(network["milano"], VariantFactory._meta.model.objects.get(sku="ONLY-WEB"), 3)
    body = till_sale(lines=[{"sku": "ONLY-WEB", "quantity": 1}], payments=[{"tender": "card", "amount": "29.90"}])
    response = api.post(URL, body, format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "not_sold_on_channel"
    assert not Order.objects.exists()


def test_the_list_filters_by_channel_and_location_and_costs_a_fixed_number_of_queries(
    api, network, django_assert_max_num_queries
):
    stock(network["milano"], network["shirt"], 100)
    for i in range(3):
        api.post(URL, till_sale(external_id=f"R-{i}"), format="json")
    with django_assert_max_num_queries(12) as few:
        assert api.get(URL, {"channel": "store", "location": "MI01"}).json()["count"] == 3
    few_queries = len(few.captured_queries)
    assert few_queries > 0
    for i in range(3, 30):
        api.post(URL, till_sale(external_id=f"R-{i}"), format="json")
    with django_assert_max_num_queries(few_queries):
        assert api.get(URL, {"channel": "store", "page_size": 100}).json()["count"] == 30
    assert api.get(URL, {"channel": "web"}).json()["count"] == 0


def test_an_order_is_read_back_by_its_number(api, network):
    stock(network["milano"], network["shirt"], 1)
    number = api.post(URL, till_sale(), format="json").json()["number"]
    body = api.get(f"{URL}{number}/").json()
    assert body["payments"] == [{"tender": "card", "amount": "39.90"}]
    assert api.get(f"{URL}NOPE/").status_code == 404
    assert Decimal(body["total"]) == Decimal("39.90")
