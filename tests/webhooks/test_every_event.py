"""Every event of the contract, published by the service that owns the change, reaches a real server and verifies."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import services as customers
from inventory import services as inventory
from loyalty import services as loyalty
from omni.catalog.models import LocationKind
from omni.orders import services as orders
from omni.orders.receipts import ReceiptRow, record_receipts
from omni.webhooks.models import EventType
from returns import services as returns
from tests.factories import CustomerFactory, LocationFactory, ProductFactory, VariantFactory
from tests.returns.conftest import till_sale, web_order

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def shop(transactional_db):
    """Two stores and a warehouse; a shirt stocked 5 at the warehouse, a tie with 1 unit at one store only."""
    milano = LocationFactory(code="MI01", name="Milano Duomo")
    roma = LocationFactory(code="RM01", name="Roma Corso", city="Roma")
    warehouse = LocationFactory(
        code="WH-PC", kind=LocationKind.WAREHOUSE, is_pickup_point=False, ships_to_customers=True
    )
    shirt = VariantFactory(sku="CAM-ROSSA-M", price=Decimal("39.90"), product=ProductFactory(code="CAM-ROSSA"))
    tie = VariantFactory(sku="CRAVATTA", price=Decimal("19.90"), product=ProductFactory(code="CRAV"))
    inventory.count(location=warehouse, variant=shirt, on_hand=5, reason="opening")
    inventory.count(location=milano, variant=tie, on_hand=1, reason="opening")
    return {"milano": milano, "roma": roma, "warehouse": warehouse, "shirt": shirt, "tie": tie}


def card_holder(number: str = "CARD-0001"):
    customer = CustomerFactory()
    loyalty.add_card(account=loyalty.open_account(customer=customer), number=number)
    return customer


def test_an_order_its_status_its_return_and_the_points_are_announced(eager, receiver, subscribed, shop):
    subscribed()
    anna = card_holder()
    order = web_order(anna, [("CAM-ROSSA-M", 1)], [("card", "39.90")], shipped=True)

    assert receiver.of_type("order.created")[0]["data"] == {
        "number": order.number,
        "channel": "web",
        "status": "placed",
        "previous_status": None,
        "customer": anna.pk,
    }
    assert receiver.of_type("order.status_changed")[0]["data"] == {
        "number": order.number,
        "channel": "web",
        "status": "shipped",
        "previous_status": "placed",
        "customer": anna.pk,
    }
    earned = receiver.of_type("loyalty.balance_changed")[0]["data"]
    assert earned == {"card": "CARD-0001", "customer": anna.pk, "balance": 39, "change": 39}

    ret = returns.accept_return(
        order=order,
        lines=[returns.ReturnLineIn(sku="CAM-ROSSA-M", quantity=1, reason="wrong_size", condition="resellable")],
        receive=False,
    )
    assert receiver.of_type("return.created")[0]["data"] == {
        "rma": ret.rma,
        "order": order.number,
        "status": "requested",
    }
    returns.receive_return(ret=ret, location=shop["milano"])
    assert receiver.of_type("return.received")[0]["data"] == {
        "rma": ret.rma,
        "order": order.number,
        "status": "received",
    }
    reversed_points = receiver.of_type("loyalty.balance_changed")[-1]["data"]
    assert reversed_points == {"card": "CARD-0001", "customer": anna.pk, "balance": 0, "change": -39}

    assert len(receiver.received) == len(receiver.verified)  # every delivery verified
    assert len(set(receiver.ids())) == len(receiver.received)  # one id per event


def test_a_counter_return_announces_it_was_opened_then_received(eager, receiver, subscribed, shop):
    inventory.count(location=shop["milano"], variant=shop["shirt"], on_hand=3, reason="restock")
    customer = CustomerFactory()
    order = till_sale(customer, shop["milano"], [("CAM-ROSSA-M", 1)], [("cash", "39.90")])
    subscribed(["return.created", "return.received"])
    returns.accept_return(
        order=order,
        location=shop["milano"],
        lines=[returns.ReturnLineIn(sku="CAM-ROSSA-M", quantity=1, reason="wrong_size", condition="damaged")],
    )
    assert [(p["type"], p["data"]["status"]) for p in receiver.verified] == [
        ("return.created", "requested"),
        ("return.received", "received"),
    ]


def test_merging_and_erasing_customers_are_announced(eager, receiver, subscribed, shop):
    subscribed(["customer.merged", "customer.erased"])
    older, newer = CustomerFactory(), CustomerFactory()
    customers.merge_customers(survivor=older, merged=newer)
    customers.erase_customer(customer=older)
    assert [(p["type"], p["data"]) for p in receiver.verified] == [
        ("customer.merged", {"customer": older.pk, "merged_from": [newer.pk]}),
        ("customer.erased", {"customer": older.pk}),
    ]


def test_merging_two_loyalty_accounts_announces_the_survivors_new_balance(eager, receiver, shop):
    older, newer = card_holder("CARD-OLD"), card_holder("CARD-NEW")
    loyalty.adjust(account=loyalty.open_account(customer=older), points=10, reason="welcome", actor=orders.SYSTEM)
    loyalty.adjust(account=loyalty.open_account(customer=newer), points=25, reason="welcome", actor=orders.SYSTEM)
    from omni.webhooks import services

    receiver.secret = services.subscribe(url=receiver.url, events=["loyalty.balance_changed"]).secret
    customers.merge_customers(survivor=older, merged=newer)
    data = receiver.of_type("loyalty.balance_changed")[0]["data"]
    assert (data["customer"], data["balance"], data["change"]) == (older.pk, 35, 25)


def test_a_sku_selling_out_across_the_network_and_coming_back_is_announced_once_each(eager, receiver, subscribed, shop):
    subscribed(["availability.changed"])
    inventory.count(location=shop["roma"], variant=shop["tie"], on_hand=1, reason="count")  # 2 in the network
    till_sale(CustomerFactory(), shop["milano"], [("CRAVATTA", 1)], [("cash", "19.90")])
    assert receiver.verified == []  # Roma still has one
    till_sale(CustomerFactory(), shop["roma"], [("CRAVATTA", 1)], [("cash", "19.90")])
    assert [p["data"] for p in receiver.verified] == [{"sku": "CRAVATTA", "network_available": 0}]
    inventory.count(location=shop["milano"], variant=shop["tie"], on_hand=4, reason="delivery")
    inventory.count(location=shop["roma"], variant=shop["tie"], on_hand=2, reason="delivery")
    assert [p["data"] for p in receiver.verified] == [
        {"sku": "CRAVATTA", "network_available": 0},
        {"sku": "CRAVATTA", "network_available": 4},
    ]
    assert all(p["type"] == "availability.changed" for p in receiver.verified)


def test_holding_the_last_units_for_an_order_sells_the_sku_out_and_cancelling_brings_it_back(
    eager, receiver, subscribed, shop
):
    subscribed(["availability.changed"])
    order = web_order(CustomerFactory(), [("CAM-ROSSA-M", 5)], [("card", "199.50")], shipped=False)
    assert [p["data"]["network_available"] for p in receiver.verified] == [0]
    orders.apply_event(order=order, event="cancelled")
    assert [p["data"]["network_available"] for p in receiver.verified] == [0, 5]


def test_a_file_of_till_receipts_announces_its_orders_and_the_sell_out(eager, receiver, subscribed, shop):
    subscribed(["order.created", "availability.changed"])
    sold_at = (timezone.now() - timedelta(hours=1)).isoformat()
    rows = [
        ReceiptRow(
            line=1,
            store="MI01",
            receipt="R-1",
            sold_at=sold_at,
            sku="CRAVATTA",
            quantity=1,
            unit_price="19.90",
            tender="cash",
        ),
        ReceiptRow(
            line=2,
            store="MI01",
            receipt="R-2",
            sold_at=sold_at,
            sku="CAM-ROSSA-M",
            quantity=1,
            unit_price="39.90",
            tender="cash",
        ),
    ]
    result = record_receipts(rows)
    created = {p["data"]["number"] for p in receiver.of_type("order.created")}
    assert created == {outcome.order_number for outcome in result.imported}
    assert [p["data"] for p in receiver.of_type("availability.changed")] == [
        {"sku": "CRAVATTA", "network_available": 0}
    ]


def test_every_contract_event_type_is_covered_here():
    covered = {
        "order.created",
        "order.status_changed",
        "return.created",
        "return.received",
        "customer.merged",
        "customer.erased",
        "loyalty.balance_changed",
        "availability.changed",
    }
    assert covered == set(EventType.values)
