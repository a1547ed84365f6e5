"""The key lookup of every API request: the client as stored, kept per process behind a version token, last use
noted once a minute; a key revoked or a client changed anywhere counts at the next request."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from omni import versions
from omni.api.keys import API_CLIENTS, client_for_key, create_client, revoke
from omni.models import ApiClient

pytestmark = pytest.mark.django_db


def test_the_key_gives_its_client_with_scopes_and_times_as_stored():
    record, key = create_client(name="site", scopes=["stock", "catalog"], rate_limit="600/min")
    ApiClient.objects.filter(pk=record.pk).update(last_used_at=timezone.now() - timedelta(hours=1))
    client = client_for_key(key)
    stored = ApiClient.objects.get(pk=record.pk)
    assert client == stored
    assert client.scopes == ["catalog", "stock"]  # a list, not the JSON text
    assert client.rate_limit == "600/min" and client.name == "site"
    assert client.last_used_at == stored.last_used_at and timezone.is_aware(client.last_used_at)
    assert client_for_key(key[:-1] + ("A" if key[-1] != "A" else "B")) is None  # right prefix, wrong secret


def test_the_first_request_after_a_client_is_made_reads_the_clients_once(django_assert_num_queries):
    record, key = create_client(name="app", scopes=["catalog"])
    with django_assert_num_queries(2):  # the tokens, then the clients: a new one changed their token
        assert client_for_key(key) == record
    with django_assert_num_queries(1):  # the tokens alone
        assert client_for_key(key) == record


def test_a_request_reads_the_key_once_and_notes_its_use_at_most_once_a_minute(
    make_api_client, django_assert_num_queries
):
    api = make_api_client(["catalog"])
    with django_assert_num_queries(2):  # the tokens (the fixture had the clients read), then the key's last use
        assert api.get("/api/v1/availability/", {"sku": "NOPE"}).status_code == 403
    first_use = ApiClient.objects.get(pk=api.record.pk).last_used_at
    with django_assert_num_queries(1):  # the tokens alone: the clients are kept
        assert api.get("/api/v1/availability/", {"sku": "NOPE"}).status_code == 403
    assert first_use is not None
    assert ApiClient.objects.get(pk=api.record.pk).last_used_at == first_use


LOCATIONS = "/api/v1/locations/"


def test_a_key_revoked_while_its_client_is_kept_stops_at_the_next_request(make_api_client):
    api = make_api_client(["catalog"])
    assert api.get(LOCATIONS).status_code == 200  # the clients are read and kept
    assert revoke(ApiClient.objects.filter(pk=api.record.pk)) == 1
    refused = api.get(LOCATIONS)
    assert refused.status_code == 401 and refused.json()["code"] == "not_authenticated"
    assert ApiClient.objects.get(pk=api.record.pk).revoked_at is not None
    assert revoke(ApiClient.objects.filter(pk=api.record.pk)) == 0  # revoked once only


def test_the_admin_revoke_action_stops_a_kept_key_at_the_next_request(make_api_client):
    api = make_api_client(["catalog"])
    assert api.get(LOCATIONS).status_code == 200
    head_office = User.objects.create_superuser("sede", password="pw-Secret-1")
    browser = Client()
    browser.force_login(head_office)
    answer = browser.post(
        "/admin/omni/apiclient/", {"action": "revoke", "_selected_action": [api.record.pk]}, follow=True
    )
    assert answer.status_code == 200
    assert api.get(LOCATIONS).status_code == 401


def test_scopes_changed_in_the_admin_count_at_the_next_request(make_api_client):
    api = make_api_client(["orders"])
    assert api.get(LOCATIONS).status_code == 403
    record = ApiClient.objects.get(pk=api.record.pk)
    record.scopes = ["orders", "catalog"]
    record.save()  # the admin's change form saves like this: the token changes with it
    assert api.get(LOCATIONS).status_code == 200


def test_a_client_changed_without_a_new_token_is_answered_as_kept_until_the_token_changes(make_api_client):
    """What makes the kept clients safe is the token: a writer that bypasses the signals must call `changed`."""
    api = make_api_client(["catalog"])
    assert api.get(LOCATIONS).status_code == 200
    ApiClient.objects.filter(pk=api.record.pk).update(is_active=False)  # no signal, no new token
    assert api.get(LOCATIONS).status_code == 200
    versions.changed(API_CLIENTS)
    assert api.get(LOCATIONS).status_code == 401
