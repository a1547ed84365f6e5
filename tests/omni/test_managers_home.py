"""Managers find the dashboards, parity, replenishment, segments and returns from one page."""

import pytest
from django.contrib.auth.models import Group, User

from omni.catalog.models import StaffAssignment
from omni.roles import setup_roles
from tests.factories import LocationFactory

pytestmark = pytest.mark.django_db
URL = "/managers/"
EVERY_CARD = {
    "kpi-overview",
    "kpi-channels",
    "kpi-stores",
    "kpi-journeys",
    "loyalty-parity",
    "replenishment",
    "segments",
    "returns-report",
}


@pytest.fixture(autouse=True)
def roles(db):
    setup_roles()


def login_as(client, group: str, location=None) -> None:
    user = User.objects.create_user(group.lower().replace(" ", "-"), password="pw-Secret-1", is_staff=True)
    user.groups.set(Group.objects.filter(name=group))
    if location is not None:
        StaffAssignment.objects.create(user=user, location=location)
    client.force_login(user)


def cards(client) -> set[str]:
    response = client.get(URL)
    assert response.status_code == 200
    page = response.content.decode()
    return {key for key in EVERY_CARD if f'id="card-{key}"' in page}


def test_marketing_sees_the_dashboards_parity_segments_and_returns_but_not_replenishment(client):
    login_as(client, "Marketing")
    assert cards(client) == EVERY_CARD - {"replenishment"}


def test_head_office_sees_every_card_with_working_links(client):
    login_as(client, "Head office")
    assert cards(client) == EVERY_CARD
    page = client.get(URL).content.decode()
    for link in (
        "/dashboards/",
        "/dashboards/journeys/",
        "/admin/loyalty/programme/parity/",
        "/admin/returns/return/report/",
    ):
        assert f'href="{link}"' in page
    assert client.get("/admin/loyalty/programme/parity/").status_code == 200


def test_a_store_clerk_sees_only_what_their_role_opens(client):
    login_as(client, "Store staff", LocationFactory())
    assert cards(client) == {"replenishment", "segments", "returns-report"}


def test_the_admin_index_links_the_managers_home_for_managers_only(client):
    login_as(client, "Marketing")
    assert 'href="/managers/"' in client.get("/admin/").content.decode()
    client.logout()
    login_as(client, "Store staff", LocationFactory())
    assert 'href="/managers/"' not in client.get("/admin/").content.decode()


def test_visitors_who_are_not_staff_are_sent_to_the_login(client):
    assert client.get(URL).status_code == 302
    client.force_login(User.objects.create_user("shopper", password="pw-Secret-1"))
    assert client.get(URL)["Location"].startswith("/admin/login/")


def test_the_dashboards_lead_back_to_the_managers_home(client):
    login_as(client, "Marketing")
    page = client.get("/dashboards/").content.decode()
    assert f'href="{URL}"' in page
