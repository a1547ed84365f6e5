"""The OpenAPI schema is valid OpenAPI 3 and documents the frame."""

import pytest
from openapi_spec_validator import validate
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def schema():
    response = APIClient().get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    return response.json()


def test_the_schema_validates_as_openapi_3(schema):
    assert schema["openapi"].startswith("3.")
    validate(schema)


def test_the_schema_lists_the_reference_endpoints(schema):
    paths = schema["paths"]
    assert {"get", "post"} <= set(paths["/api/v1/locations/"])
    assert "get" in paths["/api/v1/locations/{code}/"]
    assert {"get", "post"} <= set(paths["/api/v1/products/"])
    assert "get" in paths["/api/v1/variants/{sku}/"]


def test_every_post_documents_the_idempotency_key_and_its_conflicts(schema):
    posts = [(path, ops["post"]) for path, ops in schema["paths"].items() if "post" in ops]
    assert posts
    for path, operation in posts:
        headers = [p["name"] for p in operation.get("parameters", []) if p["in"] == "header"]
        assert "Idempotency-Key" in headers, path
        assert {"409", "422"} <= set(operation["responses"]), path


def test_every_operation_documents_the_error_body_and_bearer_keys(schema):
    assert schema["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            for status in ("400", "401", "403", "429"):
                error = operation["responses"][status]["content"]["application/json"]["schema"]
                assert error == {"$ref": "#/components/schemas/Error"}, (method, path, status)
            assert {"bearerAuth": []} in operation["security"]


def test_the_list_filters_and_pagination_are_documented(schema):
    names = {p["name"] for p in schema["paths"]["/api/v1/products/"]["get"]["parameters"]}
    assert {"category", "channel", "search", "page", "page_size"} <= names


def test_the_docs_page_is_served_without_a_cdn():
    response = APIClient().get("/api/docs/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "swagger-ui" in page
    assert "cdn.jsdelivr" not in page and "unpkg.com" not in page


def test_the_schema_generates_without_a_single_warning():
    import io

    from django.core.management import call_command

    out, err = io.StringIO(), io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", stdout=out, stderr=err)
    assert "Warning" not in err.getvalue(), err.getvalue()
