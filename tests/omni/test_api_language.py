"""The API speaks English, and Italian on `Accept-Language: it`; its schema is one document in every language."""

from __future__ import annotations

import io

import pytest
from django.conf import settings
from django.core.management import call_command
from django.utils import translation
from rest_framework.test import APIClient

from customers import services
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

ITALIAN = ("it", "it-IT,it;q=0.9,en;q=0.8")
ENGLISH = (None, "en", "en-GB", "fr", "de, en;q=0.5")


def ask(client, path, language, params=None):
    headers = {"accept-language": language} if language else {}
    return client.get(path, params or {}, headers=headers)


@pytest.mark.parametrize("language", ENGLISH)
def test_error_bodies_are_in_english_unless_italian_is_asked_for(api, language):
    assert ask(APIClient(), "/api/v1/orders/", language).json()["detail"] == (
        "Authentication credentials were not provided."
    )
    assert ask(api, "/api/v1/orders/", language, {"bogus": 1}).json()["errors"] == {
        "bogus": ["Unknown query parameter."]
    }
    assert ask(api, "/api/v1/no-such-thing/", language).json()["detail"] == "No endpoint answers at this address."


@pytest.mark.parametrize("language", ITALIAN)
def test_error_bodies_are_in_italian_on_accept_language_it(api, language):
    unauthenticated = ask(APIClient(), "/api/v1/orders/", language)
    assert (unauthenticated.status_code, unauthenticated.json()["code"]) == (401, "not_authenticated")
    assert unauthenticated.json()["detail"] == "Non sono state immesse le credenziali di autenticazione."
    assert unauthenticated["Content-Language"] == "it"
    assert ask(api, "/api/v1/orders/", language, {"bogus": 1}).json()["errors"] == {
        "bogus": ["Parametro di ricerca sconosciuto."]
    }
    assert ask(api, "/api/v1/no-such-thing/", language).json()["detail"] == (
        "Nessun endpoint risponde a questo indirizzo."
    )


def test_validation_messages_and_their_summary_follow_the_language(api):
    body = {"identifiers": [{"kind": "bogus", "value": ""}]}
    english = api.post("/api/v1/customers/identify/", body, format="json").json()
    italian = api.post("/api/v1/customers/identify/", body, format="json", headers={"accept-language": "it"}).json()
    assert english["code"] == italian["code"] == "invalid"
    assert english["errors"]["identifiers.0.kind"] == ['"bogus" is not a valid choice.']
    assert italian["errors"]["identifiers.0.kind"] == ['"bogus" non è una scelta valida.']
    assert english["detail"] == 'identifiers.0.kind: "bogus" is not a valid choice. (and 1 more)'
    assert italian["detail"] == 'identifiers.0.kind: "bogus" non è una scelta valida. (e 1 altro)'


def test_a_services_own_messages_are_translated(api):
    body = {"identifiers": [{"kind": "email", "value": "not-an-email"}]}
    english = api.post("/api/v1/customers/identify/", body, format="json").json()
    italian = api.post("/api/v1/customers/identify/", body, format="json", headers={"accept-language": "it"}).json()
    assert english["errors"] == {"identifiers.0.value": ["'not-an-email' is not a valid e-mail address."]}
    assert italian["errors"] == {"identifiers.0.value": ["'not-an-email' non è un indirizzo e-mail valido."]}
    missing = api.get("/api/v1/customers/999999/", headers={"accept-language": "it"}).json()
    assert (missing["code"], missing["detail"]) == ("not_found", "Nessun cliente 999999.")


def test_a_domain_errors_default_detail_is_translated(api):
    customer = CustomerFactory()
    services.erase_customer(customer=customer)
    url = f"/api/v1/customers/{customer.pk}/"
    english = api.patch(url, {"first_name": "X"}, format="json")
    italian = api.patch(url, {"first_name": "X"}, format="json", headers={"accept-language": "it"})
    assert english.status_code == italian.status_code == 409
    assert english.json()["code"] == italian.json()["code"] == "customer_erased"
    assert english.json()["detail"].startswith("This customer's personal data was erased")
    assert italian.json()["detail"].startswith("I dati personali di questo cliente sono stati cancellati")


def test_the_language_cookie_and_the_projects_italian_default_do_not_reach_the_api(api):
    assert settings.LANGUAGE_CODE == "it"
    api.cookies[settings.LANGUAGE_COOKIE_NAME] = "it"
    answer = api.get("/api/v1/orders/NOPE/")
    assert (answer.status_code, answer.json()["code"]) == (404, "not_found")
    assert answer["Content-Language"] == "en"


# -- the schema ---------------------------------------------------------------------------------


def schema_in(language: str | None, **params) -> dict:
    headers = {"accept-language": language} if language else {}
    response = APIClient().get("/api/schema/", {"format": "json", **params}, headers=headers)
    assert response.status_code == 200
    return response.json()


def shape(schema: dict) -> dict:
    """What a generated client is built from: operation ids, paths, parameters, components, enums."""
    operations = {
        (path, method): operation for path, item in schema["paths"].items() for method, operation in item.items()
    }
    enums: dict[str, list] = {}

    def collect(node, where: str) -> None:
        if isinstance(node, dict):
            if "enum" in node:
                enums[where] = node["enum"]
            for key, value in node.items():
                collect(value, f"{where}/{key}")
        elif isinstance(node, list):
            for index, value in enumerate(node):
                collect(value, f"{where}/{index}")

    collect(schema, "")
    return {
        "paths": sorted(schema["paths"]),
        "operation_ids": sorted((op["operationId"], path, method) for (path, method), op in operations.items()),
        "parameters": sorted(
            (path, method, p["in"], p["name"], p.get("required", False))
            for (path, method), op in operations.items()
            for p in op.get("parameters", [])
        ),
        "components": sorted(schema["components"]["schemas"]),
        "enums": enums,
    }


def test_the_schema_is_the_same_document_whatever_the_language():
    english = schema_in("en")
    assert len(shape(english)["operation_ids"]) > 40 and shape(english)["enums"]
    for other in (schema_in("it"), schema_in("it-IT,it;q=0.9"), schema_in(None), schema_in("it", lang="it")):
        assert shape(other) == shape(english)
        assert other == english  # descriptions too: the schema is written in English


def test_the_schema_file_generated_with_the_command_is_the_served_one():
    out = io.StringIO()
    call_command("spectacular", "--format", "openapi-json", stdout=out)
    import json

    assert json.loads(out.getvalue()) == schema_in("it")


def test_the_kpi_fields_described_in_the_schema_keep_their_text_lazy_so_the_schema_is_english():
    """Settled when the module was imported, a description would be in the language of that moment: Italian
    in a server or a `manage.py spectacular` on the project's default. The schema is generated in English."""
    from kpis.api.serializers import KpiPeriodSerializer

    fields = KpiPeriodSerializer().fields
    for name, english, italian in [
        ("revenue", "Sum of order totals", "Somma dei totali"),
        ("return_rate", "Units returned in the period", "Pezzi resi nel periodo"),
        ("orders", "Orders placed", "Ordini effettuati"),
        ("units_per_receipt", "Units sold ÷ orders", "Pezzi venduti ÷ ordini"),
        ("social_engagement", "Likes + shares", "Mi piace + condivisioni"),
    ]:
        with translation.override("en"):
            assert str(fields[name].help_text).startswith(english), name
        with translation.override("it"):
            assert str(fields[name].help_text).startswith(italian), name
