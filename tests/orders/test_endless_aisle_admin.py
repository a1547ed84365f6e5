"""A clerk sells, from the admin, an item their store does not have."""

import pytest
from django.contrib.auth.models import User

from omni.orders.models import Order
from tests.factories import CustomerFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db
URL = "/admin/orders/order/endless-aisle/"


@pytest.fixture
def clerk(client):
    client.force_login(User.objects.create_superuser("clerk", "c@example.it", "pw-Secret-1"))
    return client


def form(network, customer, **changes) -> dict:
    data = {
        "store": network["milano"].pk,
        "customer": customer.pk,
        "sku": "CAM-ROSSA-M",
        "quantity": 1,
        "fulfilment": "ship_to_home",
        "address": "Via Po 3",
        "postcode": "10123",
        "city": "Torino",
        "tender": "card",
    }
    data.update(changes)
    return data


def test_checking_shows_where_the_network_has_the_item_and_writes_nothing(clerk, network):
    stock(network["warehouse"], network["shirt"], 3)
    stock(network["roma"], network["shirt"], 2)
    page = clerk.post(URL, {**form(network, CustomerFactory()), "check": "1"}).content.decode()
    assert "Magazzino Piacenza" in page and "Roma Corso" in page
    assert "39,90" in page or "39.90" in page
    assert not Order.objects.exists()


def test_placing_records_the_order_credited_to_the_store_that_took_it(clerk, network):
    stock(network["warehouse"], network["shirt"], 3)
    customer = CustomerFactory()
    response = clerk.post(URL, {**form(network, customer), "place": "1"})
    assert response.status_code == 302
    order = Order.objects.get()
    assert (order.location, order.customer, order.is_endless_aisle) == (network["milano"], customer, True)
    assert order.lines.get().allocations.get().location == network["warehouse"]


def test_an_item_nowhere_in_the_network_is_refused_with_a_message(clerk, network):
    page = clerk.post(URL, {**form(network, CustomerFactory()), "place": "1"}).content.decode()
    assert "Not enough stock of CAM-ROSSA-M" in page
    assert not Order.objects.exists()


def test_the_item_picked_by_autocomplete_is_what_gets_ordered(clerk, network):
    stock(network["warehouse"], network["shirt"], 3)
    found = clerk.get(
        "/admin/autocomplete/",
        {"app_label": "orders", "model_name": "orderline", "field_name": "variant", "term": "CAM-ROSSA"},
    ).json()["results"]
    picked = next(result["id"] for result in found if result["text"].startswith("CAM-ROSSA-M"))
    response = clerk.post(URL, {**form(network, CustomerFactory(), sku="", item=picked), "place": "1"})
    assert response.status_code == 302
    assert Order.objects.get().lines.get().variant == network["shirt"]


def test_without_an_item_or_a_sku_the_form_asks_for_one_and_writes_nothing(clerk, network):
    stock(network["warehouse"], network["shirt"], 3)
    page = clerk.post(
        URL, {**form(network, CustomerFactory(), sku=""), "place": "1"}, HTTP_ACCEPT_LANGUAGE="en"
    ).content.decode()
    assert "Choose the item, or scan or type its SKU." in page
    assert not Order.objects.exists()


def test_a_ship_to_store_order_served_from_the_pick_up_stores_own_stock_is_no_endless_aisle_sale(clerk, network):
    stock(network["milano"], network["shirt"], 2)
    changes = {"fulfilment": "ship_to_store", "place": "1"}
    response = clerk.post(URL, {**form(network, CustomerFactory()), **changes})
    assert response.status_code == 302
    order = Order.objects.get()
    assert order.lines.get().allocations.get().location == network["milano"]
    assert order.is_endless_aisle is False
