"""Staff work in Italian: every string has its Italian translation, pages follow the browser's language,
and numbers are written the Italian way on pages but stay plain in the API and the CSV exports."""

from __future__ import annotations

import ast
import csv
import io
import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth.models import User

from tests.factories import VariantFactory
from tests.kpis.conftest import History, at

CATALOGUE = Path(settings.BASE_DIR) / "locale" / "it" / "LC_MESSAGES" / "django.po"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]|\{\w*\}")


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: msgid, msgid_plural, msgstr (or msgstr[n]) and flags; obsolete ones left out."""
    entries, current, key = [], {"flags": []}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if "msgid" in current:
                entries.append(current)
            current, key = {"flags": []}, None
        elif line.startswith("#~"):
            current["obsolete"] = True
        elif line.startswith("#,"):
            current["flags"] += [flag.strip() for flag in line[2:].split(",")]
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[key] += ast.literal_eval(line)
        else:
            key, _, text = line.partition(" ")
            current[key] = ast.literal_eval(text)
    return [entry for entry in entries if entry["msgid"] and not entry.get("obsolete")]


def test_the_italian_catalogue_translates_every_string_with_the_same_placeholders():
    entries = po_entries(CATALOGUE)
    assert len(entries) > 500
    fuzzy = [e["msgid"] for e in entries if "fuzzy" in e["flags"]]
    assert fuzzy == []
    for entry in entries:
        translations = [v for k, v in entry.items() if k.startswith("msgstr")]
        assert translations and all(translations), f"not translated: {entry['msgid']!r}"
        for translation in translations:
            expected = sorted(PLACEHOLDER.findall(entry.get("msgid_plural") or entry["msgid"]))
            if "msgid_plural" in entry and translation is translations[0]:
                expected = sorted(PLACEHOLDER.findall(entry["msgid"]))
            assert sorted(PLACEHOLDER.findall(translation)) == expected, entry["msgid"]


def test_the_compiled_catalogue_is_there():
    assert CATALOGUE.with_suffix(".mo").exists(), "run `make install`, which compiles the translations"


def test_the_projects_default_language_is_italian_with_english_selectable(monkeypatch):
    import importlib

    import omni.settings

    monkeypatch.delenv("LANGUAGE_CODE", raising=False)
    project = importlib.reload(omni.settings)
    assert project.LANGUAGE_CODE == "it"
    assert [code for code, _ in project.LANGUAGES] == ["it", "en"]
    assert "django.middleware.locale.LocaleMiddleware" in project.MIDDLEWARE


@pytest.fixture
def head_office(client, db):
    from django.contrib.auth.models import Group

    from omni.roles import setup_roles

    setup_roles()
    user = User.objects.create_user("direzione", "d@example.it", "pw-Secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Head office"))
    client.force_login(user)
    return client


def test_the_admin_speaks_italian_by_default_and_english_when_the_browser_asks(head_office):
    italian = head_office.get("/admin/").content.decode()
    assert "Clienti" in italian and "Giacenze" in italian and "Programma fedeltà" in italian

    english = head_office.get("/admin/", headers={"accept-language": "en"}).content.decode()
    assert "Customers" in english and "Stock levels" in english and "Loyalty programme" in english
    assert "Giacenze" not in english


def test_the_language_cookie_chooses_english_over_the_default(head_office):
    head_office.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = head_office.get("/admin/returns/return/take-back/").content.decode()
    assert "Take back a return" in page


@pytest.fixture
def march(db):
    history = History()
    history.order("store", "1234.56", when=at(date(2025, 3, 4), 11))
    history.roll(date(2025, 2, 1), date(2025, 3, 31))
    return history


MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


def test_dashboards_write_money_and_dates_the_italian_way_and_csv_stays_plain(head_office, march):
    italian = head_office.get("/dashboards/", MARCH).content.decode()
    assert "Fatturato" in italian and "€ 1.234,56" in italian
    assert "01/03/2025" in italian  # the period in the heading

    english = head_office.get("/dashboards/", MARCH, headers={"accept-language": "en"}).content.decode()
    assert "Revenue" in english and "€ 1,234.56" in english

    table = head_office.get("/dashboards/", {**MARCH, "format": "csv", "table": "kpis"})
    rows = {row[0]: row for row in csv.reader(io.StringIO(table.content.decode()))}
    assert rows["revenue"][2] == "1234.56"


def test_the_api_keeps_plain_decimals_whatever_the_language(api):
    VariantFactory(sku="CAPPOTTO-L", price=Decimal("1249.00"))
    for language in ("it", "en"):
        answer = api.get("/api/v1/variants/CAPPOTTO-L/", headers={"accept-language": language})
        assert answer.status_code == 200
        assert answer.json()["list_price"] == "1249.00"
        assert {offer["price"] for offer in answer.json()["offers"]} == {"1249.00"}
