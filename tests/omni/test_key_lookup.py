"""The key lookup of every API request: one indexed read, the client as stored, last use noted once a minute."""

from datetime import timedelta

import pytest
from django.utils import timezone

from omni.api.keys import client_for_key, create_client
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


def test_a_request_reads_the_key_once_and_notes_its_use_at_most_once_a_minute(
    make_api_client, django_assert_num_queries
):
    api = make_api_client(["catalog"])
    with django_assert_num_queries(2):  # the key, then its last use
        assert api.get("/api/v1/availability/", {"sku": "NOPE"}).status_code == 403
    first_use = ApiClient.objects.get(pk=api.record.pk).last_used_at
    with django_assert_num_queries(1):
        assert api.get("/api/v1/availability/", {"sku": "NOPE"}).status_code == 403
    assert first_use is not None
    assert ApiClient.objects.get(pk=api.record.pk).last_used_at == first_use
