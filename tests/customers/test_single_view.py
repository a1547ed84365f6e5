"""GET /api/v1/customers/{id}/ and /timeline/: one view of the customer across channels."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from customers import registry
from tests.factories import CustomerFactory, IdentifierFactory, OrderFactory, channel

pytestmark = pytest.mark.django_db


def test_the_detail_shows_profile_identifiers_consents_and_orders_per_channel(api):
    customer = CustomerFactory(first_name="Anna")
    IdentifierFactory(customer=customer, kind="phone", value="+393331234567")
    now = timezone.now()
    OrderFactory(
        customer=customer, channel=channel("store"), total=Decimal("10.00"), created_at=now - timedelta(days=9)
    )
    OrderFactory(customer=customer, channel=channel("store"), total=Decimal("5.50"), created_at=now - timedelta(days=2))
    OrderFactory(customer=customer, channel=channel("web"), total=Decimal("20.00"), created_at=now)
    api.put(f"/api/v1/customers/{customer.pk}/consents/", {"profiling": True, "source_channel": "app"}, format="json")

    body = api.get(f"/api/v1/customers/{customer.pk}/").json()

    assert body["first_name"] == "Anna"
    assert body["identifiers"][0]["value"] == "+393331234567"
    assert body["consents"]["profiling"]["granted"] is True
    assert body["loyalty"] is None
    assert body["channels"] == ["store", "web"]
    assert body["order_count"] == 3
    assert body["revenue"] == "35.50"
    assert body["orders_by_channel"] == [
        {"channel": "store", "orders": 2, "revenue": "15.50"},
        {"channel": "web", "orders": 1, "revenue": "20.00"},
    ]
    assert body["first_seen"] < body["last_seen"]


def test_a_customer_without_orders_still_answers_every_key(api):
    body = api.get(f"/api/v1/customers/{CustomerFactory().pk}/").json()
    assert body["loyalty"] is None
    assert body["channels"] == []
    assert body["order_count"] == 0
    assert body["first_seen"] == body["last_seen"]


def test_a_registered_loyalty_summary_appears_in_the_detail(api, monkeypatch):
    monkeypatch.setitem(
        registry.registry.summaries,
        "loyalty-test",
        lambda customer: {"loyalty": {"card": "0420000000017", "balance": 120, "tier": "gold"}},
    )
    body = api.get(f"/api/v1/customers/{CustomerFactory().pk}/").json()
    assert body["loyalty"] == {"card": "0420000000017", "balance": 120, "tier": "gold"}


def test_patch_changes_the_profile_and_normalises_the_email(api):
    customer = CustomerFactory()
    response = api.patch(
        f"/api/v1/customers/{customer.pk}/", {"email": " Anna@Example.IT", "last_name": "Bianchi"}, format="json"
    )
    assert response.status_code == 200
    assert (response.json()["email"], response.json()["last_name"]) == ("anna@example.it", "Bianchi")


def test_the_timeline_lists_orders_and_consents_newest_first(api):
    customer = CustomerFactory()
    now = timezone.now()
    OrderFactory(customer=customer, number="OM-OLD", channel=channel("store"), created_at=now - timedelta(days=3))
    OrderFactory(customer=customer, number="OM-NEW", channel=channel("web"), created_at=now - timedelta(days=1))
    api.put(
        f"/api/v1/customers/{customer.pk}/consents/", {"marketing_email": True, "source_channel": "web"}, format="json"
    )

    body = api.get(f"/api/v1/customers/{customer.pk}/timeline/").json()

    assert body["count"] == 3
    assert [(e["kind"], e["reference"]) for e in body["results"]] == [
        ("consent", ""),
        ("order", "OM-NEW"),
        ("order", "OM-OLD"),
    ]
    assert body["results"][1]["channel"] == "web"
    assert body["results"][1]["amount"] == "29.90"


def test_the_timeline_is_paginated_across_sources(api):
    customer = CustomerFactory()
    now = timezone.now()
    for n in range(7):
        OrderFactory(customer=customer, number=f"OM-{n}", created_at=now - timedelta(hours=n))
    first = api.get(f"/api/v1/customers/{customer.pk}/timeline/", {"page_size": 3}).json()
    third = api.get(f"/api/v1/customers/{customer.pk}/timeline/", {"page_size": 3, "page": 3}).json()
    assert first["count"] == 7 and first["next"]
    assert [e["reference"] for e in first["results"]] == ["OM-0", "OM-1", "OM-2"]
    assert [e["reference"] for e in third["results"]] == ["OM-6"]
    assert third["next"] is None


def test_the_timeline_costs_the_same_queries_for_2_or_30_orders(api, django_assert_max_num_queries):
    customer = CustomerFactory()
    for _ in range(2):
        OrderFactory(customer=customer)
    with django_assert_max_num_queries(20) as few:
        assert api.get(f"/api/v1/customers/{customer.pk}/timeline/", {"page_size": 500}).status_code == 200
    for _ in range(28):
        OrderFactory(customer=customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        body = api.get(f"/api/v1/customers/{customer.pk}/timeline/", {"page_size": 500}).json()
    assert len(body["results"]) == 30


def test_the_detail_costs_the_same_queries_for_2_or_30_orders(api, django_assert_max_num_queries):
    customer = CustomerFactory()
    for _ in range(2):
        OrderFactory(customer=customer, channel=channel("store"))
        IdentifierFactory(customer=customer)
    with django_assert_max_num_queries(20) as few:
        api.get(f"/api/v1/customers/{customer.pk}/")
    for n in range(28):
        OrderFactory(customer=customer, channel=channel("web" if n % 2 else "app"))
        IdentifierFactory(customer=customer)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get(f"/api/v1/customers/{customer.pk}/").json()["order_count"] == 30


def test_the_list_finds_a_customer_by_any_identifier_typed_loosely(api):
    customer = CustomerFactory()
    IdentifierFactory(customer=customer, kind="phone", value="+393331234567")
    CustomerFactory()
    body = api.get("/api/v1/customers/", {"identifier": "333 123 4567"}).json()
    assert body["count"] == 1
    assert body["results"][0]["id"] == customer.pk
    assert api.get("/api/v1/customers/", {"identifier": "nobody@example.it"}).json()["count"] == 0


def test_the_list_costs_the_same_queries_for_2_or_30_customers(api, django_assert_max_num_queries):
    for _ in range(2):
        IdentifierFactory()
    with django_assert_max_num_queries(20) as few:
        api.get("/api/v1/customers/", {"page_size": 500})
    for _ in range(28):
        IdentifierFactory()
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert api.get("/api/v1/customers/", {"page_size": 500}).json()["count"] == 30
