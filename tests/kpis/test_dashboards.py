"""The dashboards: for staff with the permission, filtered, charted, downloadable as safe CSV."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from kpis.csv_export import safe_cell
from omni.orders.models import FulfilmentType
from tests.factories import CustomerFactory, LocationFactory
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db

PAGES = ["/dashboards/", "/dashboards/channels/", "/dashboards/stores/", "/dashboards/journeys/"]
MARCH = {"start": "2025-03-01", "end": "2025-03-31"}


@pytest.fixture
def manager(client):
    user = User.objects.create_user("marketing", "m@example.it", "pw-Secret-1", is_staff=True)
    # A network-wide reader, as the Marketing role: staff held to one store see only that store's figures.
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_dashboards", "see_all_locations"]))
    client.force_login(user)
    return client


@pytest.fixture
def march(history, store):
    buyer = CustomerFactory()
    for offset in range(0, 31, 3):
        day = date(2025, 3, 1) + timedelta(days=offset)
        history.order("store", "100.00", location=store, customer=buyer, when=at(day, 10))
        history.order(
            "web", "40.00", customer=buyer, fulfilment=FulfilmentType.CLICK_AND_COLLECT, pickup=store, when=at(day, 20)
        )
        history.event("web", "session_start", session=f"s{offset}", device="d", when=at(day, 19))
    history.order("web", "5.00", when=at(date(2025, 2, 10)))
    history.roll(date(2025, 2, 1), date(2025, 3, 31))


@pytest.mark.parametrize("url", PAGES)
def test_a_page_needs_a_staff_login_with_the_dashboards_permission(client, url):
    assert client.get(url).status_code == 302  # to the admin login
    User.objects.create_user("clerk", "c@example.it", "pw-Secret-1", is_staff=True)
    client.login(username="clerk", password="pw-Secret-1")
    assert client.get(url).status_code == 403


def test_a_refused_page_says_why_in_the_admins_look_and_the_readers_language(client):
    """Not Django's bare "403 Forbidden": the clerk reads, in their language, that the account lacks the
    permission, with a way back to their home page."""
    User.objects.create_user("clerk", "c@example.it", "pw-Secret-1", is_staff=True)
    client.login(username="clerk", password="pw-Secret-1")
    for lang, title, reason in [
        ("it", "Non puoi aprire questa pagina", "non ha il permesso"),
        ("en", "You may not open this page", "does not have the permission"),
    ]:
        response = client.get("/dashboards/", HTTP_ACCEPT_LANGUAGE=lang)
        page = response.content.decode()
        assert response.status_code == 403
        assert f"<h1>{title}</h1>" in page and reason in page and "(clerk)" in page
        assert '<a href="/admin/" class="button" id="error-home">' in page
        assert 'id="header"' in page  # the admin's header, language switch included


@pytest.mark.parametrize("url", PAGES)
def test_every_page_shows_its_table_and_charts_from_the_projects_own_chart_js(manager, march, url):
    response = manager.get(url, MARCH)
    assert response.status_code == 200
    page = response.content.decode()
    assert "/static/kpis/chart.umd.min.js" in page
    # Every script and style sheet comes from the project itself, none from another host. (Not a search for
    # "cdn" in the page: the CSRF token is random text and spelled it once.)
    loaded = re.findall(r'<script[^>]*\ssrc="([^"]+)"|<link[^>]*\shref="([^"]+)"', page)
    assert loaded
    assert all((src or href).startswith("/") and not (src or href).startswith("//") for src, href in loaded), loaded
    assert "<canvas" in page and "<table" in page


def test_the_overview_puts_last_month_beside_the_month_before(manager, march):
    page = manager.get("/dashboards/", MARCH).content.decode()
    assert "€ 1.540,00" in page  # 11 × (100 + 40), written the Italian way
    assert "€ 5,00" in page  # the previous 31 days, 29 January to 28 February
    assert "Fatturato ÷ ordini." in page  # each KPI has its definition beside it


def test_the_stores_page_credits_the_pickup_store_and_downloads_as_csv(manager, march):
    response = manager.get("/dashboards/stores/", {**MARCH, "format": "csv", "table": "stores"})
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    milano = next(r for r in rows if r["store"] == "MI01")
    assert milano["own_sales"] == "1100.00"
    assert milano["credited_pickup"] == "440.00"


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(manager, march):
    LocationFactory(code="EVIL", name='=HYPERLINK("http://x")')
    body = manager.get("/dashboards/stores/", {**MARCH, "format": "csv", "table": "stores"}).content.decode()
    assert "'=HYPERLINK" in body
    assert [safe_cell(v) for v in ["+1", "-x", "@a", "\tb", "\rc", "ok", 5]] == [
        "'+1",
        "'-x",
        "'@a",
        "'\tb",
        "'\rc",
        "ok",
        5,
    ]


def test_reversed_dates_are_refused_with_a_message(manager):
    response = manager.get("/dashboards/", {"start": "2025-03-31", "end": "2025-03-01"})
    assert response.status_code == 400
    assert "Correggi i filtri" in response.content.decode()  # staff read Italian


@pytest.mark.parametrize("url", PAGES)
def test_a_page_costs_the_same_queries_for_a_week_and_a_year(manager, march, url):
    def queries(params) -> int:
        with CaptureQueriesContext(connection) as captured:
            assert manager.get(url, params).status_code == 200
        return len(captured.captured_queries)

    week = queries({"start": "2025-03-01", "end": "2025-03-07"})
    year = queries({"start": "2024-04-01", "end": "2025-03-31", "granularity": "month"})
    assert year == week


def test_the_admin_index_links_to_the_dashboards(manager):
    page = manager.get("/admin/").content.decode()
    assert 'id="dashboards-link"' in page
