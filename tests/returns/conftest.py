from decimal import Decimal

import pytest

from inventory import services as inventory
from inventory.models import StockLevel
from loyalty import services as loyalty
from loyalty.pricing import LineIn
from omni.actor import SYSTEM
from omni.catalog.models import LocationKind
from omni.orders import services as orders
from omni.orders.models import Order
from tests.factories import CustomerFactory, LocationFactory, ProductFactory, VariantFactory, channel

URL = "/api/v1/returns/"


@pytest.fixture
def network(db):
    """Milano Duomo and Roma Corso (stores), a warehouse near Piacenza; the red shirt in M and L, a tie."""
    milano = LocationFactory(code="MI01", name="Milano Duomo", latitude=Decimal("45.4642"), longitude=Decimal("9.1900"))
    roma = LocationFactory(
        code="RM01", name="Roma Corso", city="Roma", latitude=Decimal("41.9028"), longitude=Decimal("12.4964")
    )
    warehouse = LocationFactory(
        code="WH-PC",
        name="Magazzino Piacenza",
        kind=LocationKind.WAREHOUSE,
        city="Piacenza",
        latitude=Decimal("45.0526"),
        longitude=Decimal("9.6930"),
        is_pickup_point=False,
        ships_to_customers=True,
    )
    shirt = ProductFactory(code="CAM-ROSSA", name="Camicia rossa")
    medium = VariantFactory(sku="CAM-ROSSA-M", size="M", price=Decimal("39.90"), product=shirt)
    large = VariantFactory(sku="CAM-ROSSA-L", size="L", price=Decimal("39.90"), product=shirt)
    tie = VariantFactory(
        sku="CRAVATTA", price=Decimal("19.90"), product=ProductFactory(code="CRAV", category="cravatte")
    )
    for place in (milano, roma, warehouse):
        for variant in (medium, large, tie):
            inventory.count(location=place, variant=variant, on_hand=10, reason="test count")
    return {"milano": milano, "roma": roma, "warehouse": warehouse, "medium": medium, "large": large, "tie": tie}


def on_hand(location, variant) -> int:
    return StockLevel.objects.get(location=location, variant=variant).on_hand


def quarantined(location, variant) -> int:
    return StockLevel.objects.get(location=location, variant=variant).quarantined


def customer_with_points(points: int = 0):
    customer = CustomerFactory()
    account = loyalty.open_account(customer=customer)
    if points:
        loyalty.adjust(account=account, points=points, reason="welcome", actor=SYSTEM)
    return customer


def balance(customer) -> int:
    return loyalty.open_account(customer=customer).balance


def web_order(customer, lines, payments, *, points=0, shipped=True) -> Order:
    """A web order shipped home from the warehouse (handed over when `shipped`)."""
    order = orders.record_order(
        channel=channel("web"),
        customer=customer,
        lines=[LineIn(sku, quantity) for sku, quantity in lines],
        payments=[orders.PaymentIn(tender, Decimal(amount)) for tender, amount in payments],
        fulfilment=orders.FulfilmentIn(type="ship_to_home", address={"line1": "Via Roma 1", "city": "Torino"}),
        points_to_redeem=points,
    )
    if shipped:
        order = orders.apply_event(order=order, event="shipped")
    return order


def till_sale(customer, store, lines, payments, *, points=0) -> Order:
    return orders.record_order(
        channel=channel("store"),
        location=store,
        customer=customer,
        lines=[LineIn(sku, quantity) for sku, quantity in lines],
        payments=[orders.PaymentIn(tender, Decimal(amount)) for tender, amount in payments],
        points_to_redeem=points,
    )


def return_body(order, location="MI01", lines=None, **changes) -> dict:
    body = {
        "order": order.number,
        "location": location,
        "lines": lines
        if lines is not None
        else [{"sku": "CAM-ROSSA-M", "quantity": 1, "reason": "wrong_size", "condition": "resellable"}],
        "refund_to": "original",
    }
    body.update(changes)
    return body
