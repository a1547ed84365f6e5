"""Subscriptions in the API: made with a secret shown once, read, changed, deleted; URLs checked against SSRF."""

from __future__ import annotations

import socket

import pytest

from omni.webhooks.models import EventType, Subscription

pytestmark = pytest.mark.django_db
URL = "/api/v1/webhooks/"
PUBLIC = "https://93.184.215.14/hooks"  # a literal public address: nothing to resolve


@pytest.fixture
def production(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = False


def test_a_subscription_is_made_with_a_secret_shown_once(api, production):
    response = api.post(URL, {"url": PUBLIC, "events": ["order.created", "order.status_changed"]}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["secret"].startswith("whsec_") and len(body["secret"]) > 40
    assert body["events"] == ["order.created", "order.status_changed"] and body["is_active"] is True
    assert "secret" not in api.get(f"{URL}{body['id']}/").json()
    assert [row["id"] for row in api.get(URL).json()["results"]] == [body["id"]]


def test_a_client_sees_and_changes_only_its_own_subscriptions(make_api_client, production):
    mine, theirs = make_api_client(scopes=["webhooks"]), make_api_client(scopes=["webhooks"])
    hook = mine.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").json()["id"]
    assert theirs.get(URL).json()["count"] == 0
    assert theirs.get(f"{URL}{hook}/").status_code == 404
    assert theirs.delete(f"{URL}{hook}/").status_code == 404
    assert Subscription.objects.filter(pk=hook).exists()


def test_patch_and_delete(api, production):
    hook = api.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").json()["id"]
    changed = api.patch(f"{URL}{hook}/", {"events": ["return.received"], "is_active": False}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["events"] == ["return.received"] and changed.json()["is_active"] is False
    assert changed.json()["url"] == PUBLIC
    assert api.delete(f"{URL}{hook}/").status_code == 204
    assert not Subscription.objects.exists()


def test_the_endpoints_need_the_webhooks_scope(make_api_client, production):
    other = make_api_client(scopes=["orders"])
    assert other.get(URL).status_code == 403
    assert other.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": PUBLIC, "events": ["order.shipped"]}, "events.0"),
        ({"url": PUBLIC, "events": []}, "events"),
        ({"url": "not a url", "events": ["*"]}, "url"),
        ({"events": ["*"]}, "url"),
    ],
)
def test_bad_input_is_a_400_and_writes_nothing(api, production, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and field in response.json()["errors"]
    assert not Subscription.objects.exists()


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.215.14/hooks",  # plain http
        "https://127.0.0.1/hooks",  # loopback
        "https://localhost:8443/hooks",  # a name for loopback
        "https://10.1.2.3/hooks",  # private
        "https://192.168.1.10/hooks",
        "https://172.16.0.5/hooks",
        "https://169.254.169.254/latest/meta-data/",  # cloud metadata
        "https://[::1]/hooks",
        "https://[fd00::1]/hooks",
        "https://0.0.0.0/hooks",
        "https://100.64.0.1/hooks",  # carrier-grade NAT
        "https://user:pw@93.184.215.14/hooks",
        "https://no-such-host.invalid/hooks",
    ],
)
def test_urls_that_are_not_https_to_a_public_address_are_refused(api, production, url):
    response = api.post(URL, {"url": url, "events": ["*"]}, format="json")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == "invalid" and "url" in response.json()["errors"]
    assert not Subscription.objects.exists()


def test_a_name_that_resolves_to_a_private_address_is_refused(api, production, monkeypatch):
    real = socket.getaddrinfo

    def resolve(host, *args, **kwargs):
        if host == "hooks.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", 443))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    response = api.post(URL, {"url": "https://hooks.example.com/omni", "events": ["*"]}, format="json")
    assert response.status_code == 400 and "url" in response.json()["errors"]


def test_patching_to_a_private_url_is_refused_too(api, production):
    hook = api.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").json()["id"]
    response = api.patch(f"{URL}{hook}/", {"url": "https://127.0.0.1/"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert Subscription.objects.get(pk=hook).url == PUBLIC


def test_the_setting_allows_http_and_private_addresses_for_development(api, settings):
    settings.WEBHOOKS_ALLOW_PRIVATE = True
    response = api.post(URL, {"url": "http://127.0.0.1:8000/hooks", "events": ["*"]}, format="json")
    assert response.status_code == 201, response.content


def test_the_setting_follows_debug_by_default():
    from tests.omni.test_settings_from_environment import run_python

    code = "import django; django.setup(); from django.conf import settings as s; print(s.WEBHOOKS_ALLOW_PRIVATE)"
    production = run_python(code, DEBUG="false", SECRET_KEY="x" * 50, ALLOWED_HOSTS="omni.example.com")
    development = run_python(code, DEBUG="true")
    overridden = run_python(code, DEBUG="true", WEBHOOKS_ALLOW_PRIVATE="false")
    assert [r.stdout.strip() for r in (production, development, overridden)] == ["False", "True", "False"], (
        production.stderr
    )


def test_the_webhook_endpoints_are_in_the_schema(api):
    paths = api.get("/api/schema/", {"format": "json"}).json()["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/webhooks/"])
    assert {"get", "patch", "delete"} <= set(paths["/api/v1/webhooks/{id}/"])
    assert "get" in paths["/api/v1/webhooks/{id}/deliveries/"]
    assert "post" in paths["/api/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver/"]
    for listed in ("/api/v1/variants/", "/api/v1/stock/", "/api/v1/reservations/"):
        assert "get" in paths[listed]
    described = paths["/api/v1/webhooks/"]["post"]["description"]
    for event_type in EventType.values:
        assert f"`{event_type}`" in described  # every webhook is documented in the schema


def test_staff_on_their_session_need_the_subscription_permissions(production):
    from django.contrib.auth.models import Permission, User
    from rest_framework.test import APIClient

    clerk = User.objects.create_user("clerk", "c@example.it", "pw-Secret-1", is_staff=True)
    session = APIClient()
    session.force_login(clerk)
    assert session.get(URL).status_code == 403
    assert session.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").status_code == 403
    clerk.user_permissions.add(*Permission.objects.filter(codename__in=["view_subscription", "add_subscription"]))
    clerk = User.objects.get(pk=clerk.pk)
    session.force_login(clerk)
    assert session.post(URL, {"url": PUBLIC, "events": ["*"]}, format="json").status_code == 201
    hook = session.get(URL).json()["results"][0]["id"]
    assert session.delete(f"{URL}{hook}/").status_code == 403
    assert Subscription.objects.count() == 1
