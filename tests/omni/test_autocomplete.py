"""Staff forms pick customers, SKUs and locations by typing, and a clerk is offered only their store."""

import pytest
from django.contrib.auth.models import Group, User

from omni.catalog.models import StaffAssignment
from omni.roles import setup_roles
from tests.factories import CustomerFactory, IdentifierFactory, LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db
URL = "/admin/autocomplete/"


def staff(username: str, group: str, location=None) -> User:
    user = User.objects.create_user(username, password="pw-Secret-1", is_staff=True)
    user.groups.set(Group.objects.filter(name=group))
    if location is not None:
        StaffAssignment.objects.create(user=user, location=location)
    return user


@pytest.fixture
def stores(db):
    setup_roles()
    return LocationFactory(code="MI01", name="Milano Duomo", city="Milano"), LocationFactory(
        code="RM01", name="Roma Corso", city="Roma"
    )


def found(client, app_label: str, model_name: str, field_name: str, term: str) -> list[str]:
    response = client.get(
        URL, {"app_label": app_label, "model_name": model_name, "field_name": field_name, "term": term}
    )
    assert response.status_code == 200, response.content
    return [row["text"] for row in response.json()["results"]]


def test_the_customer_is_found_by_card_or_email(client, stores):
    client.force_login(staff("clerk", "Store staff", stores[0]))
    anna = CustomerFactory(first_name="Anna", last_name="Verdi", email="anna.verdi@example.it")
    IdentifierFactory(customer=anna, kind="card", value="0420000000017")
    CustomerFactory(first_name="Bruno", last_name="Neri", email="bruno@example.it")
    assert found(client, "orders", "order", "customer", "0420000000017") == ["Anna Verdi"]
    assert found(client, "orders", "order", "customer", "anna.verdi@example.it") == ["Anna Verdi"]


def test_a_variant_is_found_by_sku(client, stores):
    client.force_login(staff("clerk", "Store staff", stores[0]))
    VariantFactory(sku="CAM-ROSSA-M")
    VariantFactory(sku="PANT-BLU-42")
    assert found(client, "orders", "orderline", "variant", "CAM-ROSSA") == ["CAM-ROSSA-M"]


def test_head_office_finds_any_location_by_code_or_city(client, stores):
    client.force_login(staff("boss", "Head office"))
    assert found(client, "orders", "order", "pickup_location", "RM01") == ["RM01 · Roma Corso"]
    assert found(client, "orders", "order", "pickup_location", "Milano") == ["MI01 · Milano Duomo"]


def test_a_clerk_is_offered_only_their_own_store_on_a_scoped_form(client, stores):
    client.force_login(staff("clerk", "Store staff", stores[0]))
    assert found(client, "orders", "order", "pickup_location", "") == ["MI01 · Milano Duomo"]
    assert found(client, "orders", "order", "location", "Roma") == []


def test_the_endless_aisle_form_picks_store_and_customer_by_typing(client, stores):
    client.force_login(staff("clerk", "Store staff", stores[0]))
    page = client.get("/admin/orders/order/endless-aisle/").content.decode()
    assert 'data-model-name="order"' in page and 'data-field-name="customer"' in page
    assert 'data-field-name="location"' in page
    assert "admin/js/autocomplete.js" in page


def test_the_stock_count_form_picks_the_location_by_typing_within_the_clerks_store(client, stores):
    client.force_login(staff("clerk", "Store staff", stores[0]))
    page = client.get("/admin/inventory/stocklevel/count/").content.decode()
    assert 'data-model-name="stocklevel"' in page and 'data-field-name="location"' in page
    assert found(client, "inventory", "stocklevel", "location", "") == ["MI01 · Milano Duomo"]
    assert found(client, "returns", "return", "location", "RM01") == []
