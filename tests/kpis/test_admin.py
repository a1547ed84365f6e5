"""The kpis admin pages: events, social figures with their file import, rolled-up days."""

from __future__ import annotations

from datetime import date

import pytest
from celery import current_app
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile

from kpis.models import DailyFigures, RollupDay, SocialMetric
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client):
    client.force_login(User.objects.create_superuser("boss", "b@example.it", "pw-Secret-1"))
    return client


@pytest.mark.parametrize("url", ["/admin/kpis/touchpointevent/", "/admin/kpis/socialmetric/", "/admin/kpis/rollupday/"])
def test_the_lists_open(boss, history, url):
    history.event("web", "page_view", session="s", when=at(date(2025, 3, 10)))
    SocialMetric.objects.create(date=date(2025, 3, 10), network="instagram", likes=3)
    history.roll(date(2025, 3, 10), date(2025, 3, 10))
    assert boss.get(url, {"q": "s"}).status_code == 200


def test_a_social_figures_file_adds_and_replaces_rows(boss):
    SocialMetric.objects.create(date=date(2025, 3, 10), network="instagram", likes=3)
    data = (
        b"date,network,likes,shares,comments,mentions,followers\n"
        b"2025-03-10,Instagram,40,1,2,3,900\n2025-03-10,tiktok,5,0,0,0,10\n"
    )
    response = boss.post(
        "/admin/kpis/socialmetric/import/",
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("social.csv", data, "text/csv")},
    )
    assert response.status_code == 200
    assert SocialMetric.objects.count() == 1  # a preview first: nothing saved yet
    confirm = {key: response.context["confirm_form"].initial[key] for key in response.context["confirm_form"].initial}
    boss.post("/admin/kpis/socialmetric/process_import/", confirm)
    assert {(m.network, m.likes) for m in SocialMetric.objects.all()} == {("instagram", 40), ("tiktok", 5)}


def test_a_file_with_a_negative_figure_saves_nothing(boss):
    data = b"date,network,likes\n2025-03-10,instagram,-4\n"
    response = boss.post(
        "/admin/kpis/socialmetric/import/",
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("social.csv", data, "text/csv")},
    )
    assert "must be zero or more" in response.content.decode()
    assert SocialMetric.objects.count() == 0


def test_selected_days_can_be_recomputed_from_the_admin(boss, history, monkeypatch, django_capture_on_commit_callbacks):
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)  # the demo's Celery; the worker's test is apart
    history.roll(date(2025, 3, 10), date(2025, 3, 10))
    history.order("web", "10.00", when=at(date(2025, 3, 10)))
    day = RollupDay.objects.get(day=date(2025, 3, 10))
    with django_capture_on_commit_callbacks(execute=True):
        boss.post("/admin/kpis/rollupday/", {"action": "recompute", "_selected_action": [day.pk]})
    assert DailyFigures.objects.get(day=date(2025, 3, 10)).orders == 1


def test_a_file_with_an_unknown_network_names_the_row_and_saves_nothing(boss):
    data = b"date,network,likes\n2025-03-10,instagram,4\n2025-03-10,instagarm,7\n"
    response = boss.post(
        "/admin/kpis/socialmetric/import/",
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("social.csv", data, "text/csv")},
    )
    page = response.content.decode()
    assert "Unknown network" in page and "instagarm" in page
    assert "confirm_form" not in response.context or response.context["confirm_form"] is None
    assert SocialMetric.objects.count() == 0
