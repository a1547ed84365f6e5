"""A person opens the admin and the API docs in a real browser."""

import pytest
from django.contrib.auth.models import User

from tests.factories import LocationFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_store_staff_log_in_to_the_omni_admin_and_find_their_store(live_server, page):
    User.objects.create_user("negozio", password="omni-Demo-2026", is_staff=True, is_superuser=True)
    LocationFactory(code="MI01", name="Milano Duomo", city="Milano")
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "negozio")
    page.fill("#id_password", "omni-Demo-2026")
    page.click("input[type=submit]")
    page.wait_for_selector("#site-name")
    assert "Omni" in page.inner_text("#site-name")
    page.goto(f"{live_server.url}/admin/catalog/location/?q=duomo")
    assert "Milano Duomo" in page.inner_text("#result_list")


def test_the_api_docs_render_the_operations(live_server, page):
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".opblock-summary-path")
    paths = page.locator(".opblock-summary-path").all_inner_texts()
    assert any("/api/v1/locations/" in path for path in paths)
    assert any("/api/v1/variants/{sku}/" in path.replace("\u200b", "") for path in paths)
