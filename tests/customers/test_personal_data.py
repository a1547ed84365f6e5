"""Export (right of access) and erasure (right to be forgotten) of a customer's personal data."""

from decimal import Decimal

import pytest

from customers.models import ConsentChange, Customer, Erasure, Identifier
from tests.factories import CustomerFactory, IdentifierFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna(api):
    customer = CustomerFactory(first_name="Anna", last_name="Verdi", email="anna@example.it", phone="+393331234567")
    IdentifierFactory(customer=customer, kind="email", value="anna@example.it")
    IdentifierFactory(customer=customer, kind="card", value="0420000000017")
    OrderFactory(customer=customer, number="OM-1", total=Decimal("42.00"), shipping_address={"street": "Via Roma 1"})
    api.put(
        f"/api/v1/customers/{customer.pk}/consents/", {"marketing_email": True, "source_channel": "web"}, format="json"
    )
    return customer


def test_the_export_holds_profile_identifiers_consents_and_orders(api, anna):
    response = api.get(f"/api/v1/customers/{anna.pk}/export/")
    assert response.status_code == 200
    data = response.json()
    assert data["customer"]["email"] == "anna@example.it"
    assert {i["value"] for i in data["identifiers"]} == {"anna@example.it", "0420000000017"}
    assert data["consents"][0]["purpose"] == "marketing_email"
    assert data["orders"][0]["number"] == "OM-1"
    assert data["orders"][0]["shipping_address"] == {"street": "Via Roma 1"}


def test_erasure_removes_the_person_and_keeps_the_orders(api, anna):
    response = api.post(f"/api/v1/customers/{anna.pk}/erase/", HTTP_IDEMPOTENCY_KEY="gdpr-1")

    assert response.status_code == 200
    anna.refresh_from_db()
    assert (anna.first_name, anna.last_name, anna.email, anna.phone) == ("", "", "", "")
    assert anna.erased_at is not None
    assert not Identifier.objects.filter(customer=anna).exists()
    order = anna.orders.get()
    assert (order.number, order.total, order.shipping_address) == ("OM-1", Decimal("42.00"), {})
    erasure = Erasure.objects.get()
    assert (erasure.api_client, erasure.request_key) == (api.record, "gdpr-1")
    detail = api.get(f"/api/v1/customers/{anna.pk}/").json()
    assert detail["is_erased"] is True
    assert detail["consents"]["marketing_email"]["granted"] is False
    assert detail["order_count"] == 1


def test_after_erasure_the_identifiers_find_nobody_and_make_a_new_customer(api, anna):
    api.post(f"/api/v1/customers/{anna.pk}/erase/")
    assert api.get("/api/v1/customers/", {"identifier": "anna@example.it"}).json()["count"] == 0
    response = api.post(
        "/api/v1/customers/identify/", {"identifiers": [{"kind": "email", "value": "anna@example.it"}]}, format="json"
    )
    assert response.status_code == 201
    assert response.json()["id"] != anna.pk


def test_erasing_twice_answers_409(api, anna):
    api.post(f"/api/v1/customers/{anna.pk}/erase/")
    response = api.post(f"/api/v1/customers/{anna.pk}/erase/")
    assert response.status_code == 409
    assert response.json()["code"] == "customer_erased"
    assert Erasure.objects.count() == 1


def test_a_profile_change_of_an_erased_customer_answers_409(api, anna):
    api.post(f"/api/v1/customers/{anna.pk}/erase/")
    response = api.patch(f"/api/v1/customers/{anna.pk}/", {"first_name": "Anna"}, format="json")
    assert response.status_code == 409
    assert Customer.objects.get(pk=anna.pk).first_name == ""
    assert ConsentChange.objects.filter(customer=anna, is_granted=True).count() == 1
