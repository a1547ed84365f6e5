"""API clients: hashed keys, scopes (401/403), revocation, staff sessions."""

import io

import pytest
from django.contrib.auth.models import Permission, User
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from omni.api.keys import hash_key, revoke
from omni.models import ApiClient

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/locations/"


def test_create_api_client_prints_the_key_on_its_last_line_and_keeps_only_a_hash():
    out = io.StringIO()
    call_command(
        "create_api_client", "web-shop", "--scope", "catalog", "--scope", "orders", stdout=out, stderr=io.StringIO()
    )
    key = out.getvalue().strip().splitlines()[-1]
    client = ApiClient.objects.get(name="web-shop")
    assert client.scopes == ["catalog", "orders"]
    assert client.key_hash == hash_key(key)
    assert key not in str(ApiClient.objects.values_list().get(pk=client.pk))
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert api.get(LOCATIONS).status_code == 200


def test_all_scopes_gives_every_scope():
    out = io.StringIO()
    call_command("create_api_client", "erp", "--all-scopes", stdout=out, stderr=io.StringIO())
    assert set(ApiClient.objects.get(name="erp").scopes) == {
        "catalog",
        "stock",
        "customers",
        "orders",
        "loyalty",
        "returns",
        "events",
        "kpis",
        "webhooks",
    }


def test_create_api_client_without_a_scope_is_refused():
    with pytest.raises(CommandError):
        call_command("create_api_client", "nothing", stdout=io.StringIO(), stderr=io.StringIO())
    assert not ApiClient.objects.exists()


def test_no_key_answers_401_not_authenticated():
    response = APIClient().get(LOCATIONS)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_key_answers_401(api):
    stranger = APIClient()
    stranger.credentials(HTTP_AUTHORIZATION=f"Bearer {api.key[:-4]}abcd")
    response = stranger.get(LOCATIONS)
    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"


def test_a_key_without_the_scope_answers_403_for_reading_and_writing(make_api_client):
    orders_only = make_api_client(["orders"])
    assert orders_only.get(LOCATIONS).status_code == 403
    response = orders_only.post(LOCATIONS, {"code": "X"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_revoked_key_stops_working(make_api_client):
    api = make_api_client(["catalog"])
    assert api.get(LOCATIONS).status_code == 200
    revoke(ApiClient.objects.filter(pk=api.record.pk))
    assert api.get(LOCATIONS).status_code == 401


def test_staff_users_may_use_the_api_with_their_admin_session_as_far_as_their_permissions_go():
    staff = User.objects.create_user("clerk", password="pw-Secret-1", is_staff=True)
    browser = APIClient()
    browser.force_login(staff)
    refused = browser.get(LOCATIONS)
    assert refused.status_code == 403 and refused.json()["code"] == "permission_denied"
    staff.user_permissions.add(Permission.objects.get(codename="view_location"))
    browser.force_login(User.objects.get(pk=staff.pk))
    assert browser.get(LOCATIONS).status_code == 200


def test_customers_logged_in_without_staff_rights_are_not_let_in():
    User.objects.create_user("shopper", password="pw-Secret-1")
    browser = APIClient()
    browser.login(username="shopper", password="pw-Secret-1")
    assert browser.get(LOCATIONS).status_code == 401
