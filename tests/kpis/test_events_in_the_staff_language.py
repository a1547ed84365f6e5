"""A touchpoint event is named by its type's label in the staff's language, not by its code."""

from datetime import date

import pytest

from tests.kpis.conftest import at
from tests.staff import HEAD_OFFICE, page, staff

pytestmark = pytest.mark.django_db


def test_head_office_reads_a_session_start_in_italian(client, history):
    client.force_login(staff("direzione", HEAD_OFFICE))
    event = history.event("web", "session_start", session="s-1", when=at(date(2025, 3, 10)))
    html = page(client, f"/admin/kpis/touchpointevent/{event.pk}/change/", "it")
    assert f"Inizio sessione {event.event_id}" in html and f"session_start {event.event_id}" not in html
    english = page(client, f"/admin/kpis/touchpointevent/{event.pk}/change/", "en")
    assert f"Session start {event.event_id}" in english
