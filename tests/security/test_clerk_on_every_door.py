"""The store clerk's session, tried on every door: refused or held to their store everywhere."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from customers import services as customers
from customers.models import Customer, PersonalDataAudit
from inventory.models import StockLevel
from loyalty.pricing import LineIn
from omni.actor import SYSTEM
from omni.catalog.models import Location, StaffAssignment
from omni.orders import services as orders
from omni.orders.models import Order, OrderEvent
from tests.factories import channel
from tests.security.conftest import HO, MK, SS, session

pytestmark = pytest.mark.django_db


@pytest.fixture
def rome_order(world):
    return orders.record_order(
        channel=channel("store"),
        location=world["roma"],
        customer=None,
        lines=[LineIn("CAM-M", 1)],
        fulfilment=orders.FulfilmentIn(type="carry_out"),
        payments=[orders.PaymentIn(tender="cash", amount=Decimal("30.00"))],
        actor=SYSTEM,
    )


def test_a_clerk_lists_only_their_stores_orders_and_another_stores_order_is_absent(world, rome_order):
    clerk = session(world["users"][SS])
    numbers = [row["number"] for row in clerk.get("/api/v1/orders/").json()["results"]]
    assert numbers == [world["order"].number]
    assert clerk.get(f"/api/v1/orders/{rome_order.number}/").status_code == 404
    moved = clerk.post(
        f"/api/v1/orders/{rome_order.number}/events/", {"type": "cancelled"}, content_type="application/json"
    )
    assert moved.status_code == 404
    office = session(world["users"][HO])
    assert {row["number"] for row in office.get("/api/v1/orders/").json()["results"]} == {
        world["order"].number,
        rome_order.number,
    }


def test_a_clerk_cannot_read_count_or_sell_another_stores_stock(world):
    clerk = session(world["users"][SS])
    assert clerk.get("/api/v1/stock/RM01/CAM-M/").status_code == 404
    assert clerk.get("/api/v1/stock/MI01/CAM-M/").json()["on_hand"] == 18
    counted = clerk.put("/api/v1/stock/RM01/CAM-M/", {"on_hand": 0, "reason": "x"}, content_type="application/json")
    assert counted.status_code == 403 and counted.json()["code"] == "permission_denied"
    assert StockLevel.objects.get(location__code="RM01").on_hand == 20
    sale = {
        "channel": "store",
        "location": "RM01",
        "lines": [{"sku": "CAM-M", "quantity": 1}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "cash", "amount": "30.00"}],
    }
    refused = clerk.post("/api/v1/orders/", sale, content_type="application/json")
    assert refused.status_code == 403 and Order.objects.filter(location__code="RM01").count() == 0
    hold = {"sku": "CAM-M", "quantity": 1, "location": "RM01", "customer": None, "hold_minutes": 30}
    assert clerk.post("/api/v1/reservations/", hold, content_type="application/json").status_code == 403
    assert (
        clerk.post("/api/v1/orders/", {**sale, "location": "MI01"}, content_type="application/json").status_code == 201
    )


def test_a_clerk_cannot_create_a_location_read_network_kpis_or_export_and_erase_a_customer(world):
    clerk = session(world["users"][SS])
    pk = world["kwargs"]["pk"]
    new_store = {"code": "TO01", "name": "Torino", "kind": "store", "city": "Torino", "postcode": "10121"}
    assert clerk.post("/api/v1/locations/", new_store, content_type="application/json").status_code == 403
    assert not Location.objects.filter(code="TO01").exists()
    assert clerk.get("/api/v1/kpis/", {"from": "2026-01-01", "to": "2026-01-31"}).status_code == 403
    assert clerk.get(f"/api/v1/customers/{pk}/export/").status_code == 403
    assert clerk.post(f"/api/v1/customers/{pk}/erase/").status_code == 403
    assert Customer.objects.get(pk=pk).erased_at is None
    assert not PersonalDataAudit.objects.exists()


def test_a_manager_with_the_dashboards_but_one_store_reads_that_stores_kpis_only(world):
    manager = world["users"]["Store managers"]
    manager.user_permissions.add(Permission.objects.get(codename="view_dashboards"))
    client = session(manager)
    period = {"from": "2026-01-01", "to": "2026-01-31"}
    assert client.get("/api/v1/kpis/", period).status_code == 403  # the whole network
    assert client.get("/api/v1/kpis/", {**period, "location": "RM01"}).status_code == 403
    assert client.get("/api/v1/kpis/", {**period, "location": "MI01"}).status_code == 200
    assert session(world["users"][MK]).get("/api/v1/kpis/", period).status_code == 200


def test_identifiers_of_two_customers_merge_only_for_a_session_with_the_merge_permission(world):
    other = customers.identify(identifiers=[{"kind": "phone", "value": "+393331234567"}]).customer
    both = {"identifiers": [{"kind": "email", "value": "anna@example.com"}, {"kind": "phone", "value": "3331234567"}]}
    clerk = session(world["users"][SS])
    refused = clerk.post("/api/v1/customers/identify/", both, content_type="application/json")
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    assert Customer.objects.get(pk=other.pk).merged_into_id is None
    merged = session(world["users"][HO]).post("/api/v1/customers/identify/", both, content_type="application/json")
    assert merged.status_code == 200 and merged.json()["merged_from"] == [other.pk]
    audit = PersonalDataAudit.objects.get()
    assert (audit.action, audit.customer_id, audit.door, audit.user) == (
        "merge",
        other.pk,
        "api_session",
        world["users"][HO],
    )


def test_every_export_and_erasure_is_audited_with_its_door(world, make_api_client):
    pk = world["kwargs"]["pk"]
    office = world["users"][HO]
    assert session(office).get(f"/api/v1/customers/{pk}/export/").status_code == 200
    assert session(office).get(reverse("admin:customers_customer_export", args=[pk])).status_code == 200
    key = make_api_client(scopes=["customers"])
    assert key.post(f"/api/v1/customers/{pk}/erase/").status_code == 200
    rows = list(PersonalDataAudit.objects.order_by("pk").values_list("action", "door", "user", "api_client"))
    assert rows == [
        ("export", "api_session", office.pk, None),
        ("export", "admin", office.pk, None),
        ("erase", "api_key", None, key.record.pk),
    ]
    page = session(office).get(reverse("admin:customers_personaldataaudit_changelist"))
    assert page.status_code == 200
    assert session(world["users"][MK]).get(reverse("admin:customers_personaldataaudit_changelist")).status_code == 403


def test_in_the_admin_an_order_is_read_only_and_moves_on_only_by_its_actions(world):
    clerk = session(world["users"][SS])
    order = world["order"]
    change = reverse("admin:orders_order_change", args=[order.pk])
    assert clerk.get(change).status_code == 200  # shown, read-only
    clerk.post(change, {"total": "1.00", "status": "collected"})
    order.refresh_from_db()
    assert (order.total, order.status) == (Decimal("60.00"), "completed")
    assert clerk.get(reverse("admin:orders_order_add")).status_code == 403


def test_a_clerk_cancels_a_click_and_collect_order_by_the_action_which_writes_its_event(world):
    order = orders.record_order(
        channel=channel("web"),
        location=None,
        customer=None,
        lines=[LineIn("CAM-M", 1)],
        fulfilment=orders.FulfilmentIn(type="click_and_collect", pickup_location=world["milano"]),
        payments=[orders.PaymentIn(tender="card", amount=Decimal("30.00"))],
        actor=SYSTEM,
    )
    clerk = session(world["users"][SS])
    clerk.post(
        reverse("admin:orders_order_changelist"),
        {"action": "mark_cancelled", "_selected_action": [order.pk]},
    )
    order.refresh_from_db()
    assert order.status == "cancelled"
    event = OrderEvent.objects.get(order=order, type="cancelled")
    assert event.user == world["users"][SS]


def test_the_returns_report_shows_a_clerk_their_store_only(world, rome_order):
    clerk = session(world["users"][SS])
    page = clerk.get(reverse("admin:returns_report")).content.decode()
    assert "Milano Duomo" in page and "report-store" in page
    office = session(world["users"][HO]).get(reverse("admin:returns_report")).content.decode()
    assert "report-store" not in office
    StaffAssignment.objects.filter(user=world["users"][SS]).delete()
    assert session(world["users"][SS]).get(reverse("admin:returns_report")).status_code == 403


def test_a_store_bound_user_with_the_dashboards_sees_their_store_only(world):
    manager = world["users"]["Store managers"]
    manager.user_permissions.add(Permission.objects.get(codename="view_dashboards"))
    client = session(manager)
    assert client.get("/dashboards/").status_code == 200  # their store, chosen for them
    assert client.get("/dashboards/", {"store": "RM01"}).status_code == 403
    assert client.get(reverse("kpis:stores")).status_code == 403
    assert session(world["users"][MK]).get(reverse("kpis:stores")).status_code == 200


def test_an_order_whose_identifiers_name_two_customers_merges_nobody_for_a_clerk(world):
    other = customers.identify(identifiers=[{"kind": "phone", "value": "+393331234567"}]).customer
    sale = {
        "channel": "store",
        "location": "MI01",
        "identifiers": [{"kind": "email", "value": "anna@example.com"}, {"kind": "phone", "value": "3331234567"}],
        "lines": [{"sku": "CAM-M", "quantity": 1}],
        "fulfilment": {"type": "carry_out"},
        "payments": [{"tender": "cash", "amount": "30.00"}],
    }
    refused = session(world["users"][SS]).post("/api/v1/orders/", sale, content_type="application/json")
    assert refused.status_code == 403 and Customer.objects.get(pk=other.pk).merged_into_id is None
    assert Order.objects.count() == 1
