"""The pages a person meets when an address shows nothing: in the admin's look and the reader's language.

(The API answers its own errors in JSON: tests/omni/test_error_body.py.)"""

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "lang, title", [("it", "Pagina non trovata"), ("en", "Page not found")], ids=["italian", "english"]
)
def test_an_address_that_shows_nothing_says_so_with_a_way_home(client, lang, title):
    response = client.get("/negozi/nessuno/", HTTP_ACCEPT_LANGUAGE=lang)
    page = response.content.decode()
    assert response.status_code == 404
    assert f"<h1>{title}</h1>" in page and 'id="error-home"' in page and 'id="header"' in page


def test_an_api_address_that_shows_nothing_still_answers_json(client):
    response = client.get("/api/v1/nothing-here/", HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 404 and response.json()["code"] == "not_found"
