"""Hostile requests under /api/ answer the contract's JSON error, never a 500 or an HTML page."""

import pytest

from omni.catalog.models import Location

pytestmark = pytest.mark.django_db

LOCATIONS = "/api/v1/locations/"


def assert_json_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:500]
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert body["detail"]
    return body


@pytest.mark.parametrize("depth", [1_000, 100_000])
def test_json_nested_a_thousand_levels_deep_is_a_400_invalid(api, depth):
    body = '{"code": ' + "[" * depth + "]" * depth + "}"
    response = api.post(LOCATIONS, data=body, content_type="application/json")
    assert_json_error(response, 400, "invalid")
    assert not Location.objects.exists()


def test_json_nested_deeper_than_the_api_accepts_is_refused_before_any_view_sees_it(api):
    body = '{"id": "e1", "type": "page_view", "properties": ' + '{"a": ' * 200 + "1" + "}" * 200 + "}"
    response = api.post("/api/v1/events/", data="[" + body + "]", content_type="application/json")
    assert "nested" in assert_json_error(response, 400, "invalid")["detail"]


def test_a_ten_megabyte_body_is_a_413_too_large(api):
    body = '{"code": "' + "x" * (10 * 1024 * 1024) + '"}'
    response = api.post(LOCATIONS, data=body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="big")
    assert_json_error(response, 413, "too_large")
    assert not Location.objects.exists()


def test_an_unknown_api_address_is_a_json_404_even_with_debug_on(api, settings):
    settings.DEBUG = True
    assert_json_error(api.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_json_error(api.post("/api/nothing-here", data="{}", content_type="application/json"), 404, "not_found")


def test_pages_outside_the_api_keep_their_html_404(client, settings):
    settings.DEBUG = True
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


TOO_BIG_FOR_ANY_DATABASE = 458_388_210_127_000_298_449_797_120  # beyond 2**63-1: SQLite cannot even bind it


@pytest.mark.parametrize(
    ("url", "body"),
    [
        (
            "/api/v1/events/",
            [{"id": "e1", "type": "page_view", "occurred_at": "2026-01-01T10:00:00Z", "channel": "app"}],
        ),
        ("/api/v1/orders/", {"channel": "web", "lines": [{"sku": "X", "quantity": 1}]}),
        ("/api/v1/reservations/", {"sku": "X", "quantity": 1, "location": "MI01"}),
        ("/api/v1/loyalty/quote/", {"channel": "web", "lines": [{"sku": "X", "quantity": 1}]}),
    ],
)
def test_a_customer_id_no_database_can_hold_is_a_400_naming_the_field(api, url, body):
    if isinstance(body, list):
        body[0]["customer"] = TOO_BIG_FOR_ANY_DATABASE
    else:
        body["customer"] = TOO_BIG_FOR_ANY_DATABASE
    response = api.post(url, data=body, format="json", HTTP_IDEMPOTENCY_KEY=f"big-id-{url}")
    errors = assert_json_error(response, 400, "invalid")["errors"]
    assert "customer" in str(errors)
