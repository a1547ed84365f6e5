"""The world the access tests try every door in, and a staff session per role."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client

from customers import services as customers
from inventory import services as inventory
from loyalty import services as loyalty
from loyalty.pricing import LineIn
from omni.actor import SYSTEM
from omni.catalog.models import StaffAssignment
from omni.orders import services as orders
from omni.roles import ROLES, setup_roles
from returns import services as returns
from tests.factories import LocationFactory, ProductFactory, VariantFactory, channel

SS, SM, LG, MK, HO = "Store staff", "Store managers", "Logistics", "Marketing", "Head office"


@pytest.fixture
def world(db):
    """Two stores, a customer with a card, a sale, a requested return and a hold at MI01; a user per role."""
    setup_roles()
    milano = LocationFactory(code="MI01", name="Milano Duomo", latitude=Decimal("45.46"), longitude=Decimal("9.19"))
    roma = LocationFactory(code="RM01", name="Roma Corso", latitude=Decimal("41.90"), longitude=Decimal("12.49"))
    product = ProductFactory(code="CAM", name="Camicia")
    shirt = VariantFactory(sku="CAM-M", product=product, price=Decimal("30.00"))
    for place in (milano, roma):
        inventory.count(location=place, variant=shirt, on_hand=20, reason="test")
    customer = customers.identify(identifiers=[{"kind": "email", "value": "anna@example.com"}]).customer
    account = loyalty.open_account(customer=customer)
    loyalty.add_card(account=account, number="0420000000017")
    sale = orders.record_order(
        channel=channel("store"),
        location=milano,
        customer=customer,
        lines=[LineIn("CAM-M", 2)],
        fulfilment=orders.FulfilmentIn(type="carry_out"),
        payments=[orders.PaymentIn(tender="card", amount=Decimal("60.00"))],
        actor=SYSTEM,
    )
    ret = returns.accept_return(
        order=sale,
        lines=[returns.ReturnLineIn(sku="CAM-M", quantity=1, reason="changed_mind", condition="resellable")],
        location=milano,
        refund_to="original",
        receive=False,
        actor=SYSTEM,
    )
    hold = inventory.hold(
        location=milano, variant=shirt, quantity=1, customer_id=customer.pk, hold_minutes=60, reason="t", actor=SYSTEM
    )
    users = {}
    for role in ROLES:
        user = User.objects.create_user(re.sub(r"\W", "", role).lower(), password="pw-Secret-1", is_staff=True)
        user.groups.set(Group.objects.filter(name=role))
        if role in (SS, SM):
            StaffAssignment.objects.create(user=user, location=milano)
        users[role] = user
    kwargs = {
        "code": "MI01",
        "location_code": "MI01",
        "sku": "CAM-M",
        "card": "0420000000017",
        "pk": customer.pk,
        "reservation_id": hold.pk,
        "number": sale.number,
        "rma": ret.rma,
        "delivery_id": 1,
        "job": 1,
    }
    return {"users": users, "kwargs": kwargs, "milano": milano, "roma": roma, "order": sale, "return": ret}


def session(user) -> Client:
    client = Client()
    client.force_login(user)
    return client
