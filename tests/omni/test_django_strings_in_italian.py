"""What Django 5.2's own Italian catalogue lacks and the admin shows, supplied by the project's catalogues.

The two-box selector of filter_horizontal (promotions, earning rules) takes its words from the admin's
JavaScript catalogue (domain djangojs, at /admin/jsi18n/); the index and every page's sidebar have
screen-reader headers ("Model name", "Add link") from the django domain. Django merges LOCALE_PATHS into
both, so locale/it/LC_MESSAGES/django.po and djangojs.po fill the gaps; `make install` compiles both.
"""

import json
import re
from pathlib import Path

import django
import pytest
from django.conf import settings

from tests.omni.test_translations import PLACEHOLDER, po_entries
from tests.staff import HEAD_OFFICE, page, staff

pytestmark = pytest.mark.django_db

JS_CATALOGUE = Path(settings.BASE_DIR) / "locale" / "it" / "LC_MESSAGES" / "djangojs.po"
DJANGO_ADMIN_JS = Path(django.__file__).parent / "contrib" / "admin" / "locale" / "en" / "LC_MESSAGES" / "djangojs.po"


@pytest.fixture
def head_office(client):
    client.force_login(staff("direzione", HEAD_OFFICE))
    return client


def js_catalogue(client, language: str) -> dict:
    """The translations the admin's pages load from /admin/jsi18n/ in `language`."""
    response = client.get("/admin/jsi18n/", headers={"accept-language": language})
    assert response.status_code == 200
    script = response.content.decode()
    start = script.find("const newcatalog = ")
    return json.JSONDecoder().raw_decode(script, start + len("const newcatalog = "))[0] if start >= 0 else {}


def test_the_admins_javascript_catalogue_has_the_selectors_words_in_italian(head_office):
    italian = js_catalogue(head_office, "it")
    assert italian["Choose all %s"] == "Scegli tutti: %s" and italian["Remove all %s"] == "Rimuovi tutti: %s"
    assert italian['Choose %s by selecting them and then select the "Choose" arrow button.'].startswith(
        "Scegli %s selezionandoli"
    )
    assert italian["Available %s"] == "%s disponibili"  # Django's own words are still there
    assert "Choose all %s" not in js_catalogue(head_office, "en")


def test_every_word_of_the_admins_javascript_has_an_italian_translation(head_office):
    italian = js_catalogue(head_office, "it")
    keys = [f"{e['msgctxt']}\x04{e['msgid']}" if "msgctxt" in e else e["msgid"] for e in po_entries(DJANGO_ADMIN_JS)]
    assert [key for key in keys if not italian.get(key)] == []


def test_the_sidebar_headers_for_screen_readers_are_italian(head_office):
    html = page(head_office, "/admin/customers/customer/", "it")
    assert "Nome del modello" in html and "Link per aggiungere" in html
    assert "Link per modificare o vedere l'elenco" in html
    assert "Model name" not in html and "Add link" not in html and "Change or view list link" not in html
    assert "Model name" in page(head_office, "/admin/customers/customer/", "en")


def test_the_javascript_catalogue_translates_every_string_with_the_same_placeholders():
    entries = po_entries(JS_CATALOGUE)
    assert entries
    for entry in entries:
        translations = [v for k, v in entry.items() if k.startswith("msgstr")]
        assert translations and all(translations), entry["msgid"]
        for translation in translations:
            assert sorted(PLACEHOLDER.findall(translation)) == sorted(PLACEHOLDER.findall(entry["msgid"]))


def test_the_compiled_javascript_catalogue_is_there_and_kept_out_of_git():
    assert JS_CATALOGUE.with_suffix(".mo").exists(), "run `make install`, which compiles the translations"
    ignored = (Path(settings.BASE_DIR) / ".gitignore").read_text().split()
    assert "*.mo" in ignored
    assert re.search(r"compilemessages", (Path(settings.BASE_DIR) / "Makefile").read_text())
