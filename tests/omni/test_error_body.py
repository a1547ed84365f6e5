"""Every error answers {"code", "detail"} (and "errors" for validation)."""

import pytest
from rest_framework.test import APIClient

from omni.models import ApiClient

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code
    assert isinstance(body["detail"], str) and body["detail"]
    return body


def test_validation_errors_name_the_field(api):
    body = assert_error(api.post("/api/v1/locations/", {"code": "MI01"}, format="json"), 400, "invalid")
    assert "name" in body["errors"]
    assert "latitude" in body["errors"]


def test_malformed_json_is_a_400_invalid(api):
    response = api.post("/api/v1/locations/", data='{"code": "MI01",', content_type="application/json")
    assert_error(response, 400, "invalid")


def test_a_body_that_is_not_an_object_is_a_400_invalid(api):
    assert_error(api.post("/api/v1/locations/", data="[1, 2]", content_type="application/json"), 400, "invalid")


def test_no_credentials_is_a_401():
    assert_error(APIClient().get("/api/v1/products/"), 401, "not_authenticated")


def test_missing_scope_is_a_403(make_api_client):
    assert_error(make_api_client(["kpis"]).get("/api/v1/products/"), 403, "permission_denied")


def test_unknown_object_is_a_404(api):
    assert_error(api.get("/api/v1/locations/NOPE/"), 404, "not_found")


def test_unknown_address_under_the_api_is_a_404_with_the_same_body(api):
    assert_error(api.get("/api/v1/no-such-thing/"), 404, "not_found")


def test_wrong_method_is_a_405(api):
    assert_error(api.delete("/api/v1/locations/"), 405, "method_not_allowed")


def test_wrong_content_type_is_a_415(api):
    response = api.post("/api/v1/locations/", data="code=MI01", content_type="application/x-www-form-urlencoded")
    assert_error(response, 415, "unsupported_media_type")


def test_too_many_requests_is_a_429_with_retry_after(make_api_client):
    api = make_api_client(["catalog"], rate_limit="3/min")
    for _ in range(3):
        assert api.get("/api/v1/locations/").status_code == 200
    response = api.get("/api/v1/locations/")
    assert_error(response, 429, "throttled")
    wait = int(response["Retry-After"])
    assert 1 <= wait <= 60
    assert response.json()["detail"] == f"Too many requests: try again in {wait} seconds."
    italian = api.get("/api/v1/locations/", HTTP_ACCEPT_LANGUAGE="it")
    assert_error(italian, 429, "throttled")
    # DRF's sentence filled the seconds in before looking up its translation, so it stayed half English.
    assert italian.json()["detail"] == f"Troppe richieste: riprova tra {int(italian['Retry-After'])} secondi."


def test_each_client_has_its_own_allowance(make_api_client):
    first = make_api_client(["catalog"], rate_limit="2/min")
    second = make_api_client(["catalog"], rate_limit="2/min")
    for _ in range(2):
        first.get("/api/v1/locations/")
    assert first.get("/api/v1/locations/").status_code == 429
    assert second.get("/api/v1/locations/").status_code == 200
    assert ApiClient.objects.count() == 2


def test_text_that_is_not_valid_unicode_is_a_400_invalid(api):
    body = '{"code": "MI\\udb85", "name": "x"}'
    assert_error(api.post("/api/v1/locations/", data=body, content_type="application/json"), 400, "invalid")


def test_a_nul_character_is_a_400_invalid(api):
    body = '{"code": "MI01", "name": "Milano\\u0000"}'
    assert_error(api.post("/api/v1/locations/", data=body, content_type="application/json"), 400, "invalid")


def test_a_nul_character_in_the_address_is_a_400_invalid(api):
    assert_error(api.get("/api/v1/locations/MI%0001/"), 400, "invalid")
    assert_error(api.get("/api/v1/products/", {"search": "a\x00b"}), 400, "invalid")
