"""A clerk sees and changes only their store's data in the admin; managers see the network."""

import pytest
from django.contrib.auth.models import Group, User

from inventory import services as inventory
from inventory.models import StockLevel
from omni.catalog.models import StaffAssignment
from omni.roles import setup_roles
from tests.factories import LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_stores(db):
    setup_roles()
    milano, roma = LocationFactory(code="MI01", name="Milano Duomo"), LocationFactory(code="RM01", name="Roma Corso")
    shirt = VariantFactory(sku="CAM-ROSSA-M")
    inventory.count(location=milano, variant=shirt, on_hand=4)
    inventory.count(location=roma, variant=shirt, on_hand=9)
    return milano, roma


def staff(username: str, group: str, location=None) -> User:
    user = User.objects.create_user(username, password="pw-Secret-1", is_staff=True)
    user.groups.set(Group.objects.filter(name=group))
    if location is not None:
        StaffAssignment.objects.create(user=user, location=location)
    return user


def test_a_clerk_sees_only_their_stores_stock(client, two_stores):
    milano, roma = two_stores
    client.force_login(staff("clerk", "Store staff", milano))
    page = client.get("/admin/inventory/stocklevel/").content.decode()
    assert "MI01" in page and "RM01" not in page
    other = StockLevel.objects.get(location=roma)
    assert client.get(f"/admin/inventory/stocklevel/{other.pk}/change/").status_code in (302, 404)


def test_a_clerk_cannot_count_stock_at_another_store(client, two_stores):
    milano, roma = two_stores
    client.force_login(staff("clerk", "Store staff", milano))
    response = client.post(
        "/admin/inventory/stocklevel/count/", {"location": roma.pk, "sku": "CAM-ROSSA-M", "on_hand": 0, "reason": "x"}
    )
    assert response.status_code == 200  # the form refuses the location
    assert StockLevel.objects.get(location=roma).on_hand == 9


def test_head_office_sees_every_store(client, two_stores):
    client.force_login(staff("boss", "Head office"))
    page = client.get("/admin/inventory/stocklevel/").content.decode()
    assert "MI01" in page and "RM01" in page


def test_staff_with_no_store_and_no_network_right_see_nothing(client, two_stores):
    client.force_login(staff("new", "Store staff"))
    page = client.get("/admin/inventory/stocklevel/").content.decode()
    assert "MI01" not in page and "RM01" not in page


def test_the_admin_shows_the_clerks_store(client, two_stores):
    milano, _ = two_stores
    client.force_login(staff("clerk", "Store staff", milano))
    assert "Milano Duomo" in client.get("/admin/").content.decode()


def test_the_roles_give_each_action_to_the_right_people(two_stores):
    clerk = staff("clerk", "Store staff", two_stores[0])
    manager = staff("manager", "Store managers", two_stores[0])
    office = staff("office", "Head office")
    assert not clerk.has_perm("loyalty.adjust_points") and manager.has_perm("loyalty.adjust_points")
    assert not manager.has_perm("customers.erase_personal_data") and office.has_perm("customers.erase_personal_data")
    assert clerk.has_perm("inventory.change_stocklevel")
    assert office.has_perm("catalog.see_all_locations") and not clerk.has_perm("catalog.see_all_locations")
