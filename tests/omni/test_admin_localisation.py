"""The admin in Italian: distinct filter titles, a language switch, channel names and reasons translated."""

import pytest
from django.contrib import admin
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import translation

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss(client):
    user = User.objects.create_superuser("capo", "capo@example.it", "pw-Secret-1")
    client.force_login(user)
    return user


@pytest.mark.parametrize("lang", ["it", "en"])
def test_no_change_list_has_two_filters_with_the_same_title(client, boss, lang):
    clashes = {}
    for model in admin.site._registry:
        url = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
        assert response.status_code == 200, url
        if response.context is None or "cl" not in response.context:
            continue
        with translation.override(lang):
            titles = [str(spec.title) for spec in response.context["cl"].filter_specs]
        repeated = {title for title in titles if titles.count(title) > 1}
        if repeated:
            clashes[url] = repeated
    assert clashes == {}


def test_the_header_switches_the_language_and_comes_back_to_the_same_page(client, boss):
    page = client.get("/admin/orders/order/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert 'id="language-switch"' in page and 'action="/i18n/setlang/"' in page
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/admin/orders/order/"})
    assert response.status_code == 302 and response["Location"] == "/admin/orders/order/"
    english = client.get("/admin/orders/order/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert '<html lang="en"' in english and "<title>Select order to view" in english
    client.post("/i18n/setlang/", {"language": "it", "next": "/admin/"})
    assert '<html lang="it"' in client.get("/admin/orders/order/").content.decode()


def test_channel_names_follow_the_staff_language():
    from omni.catalog.models import Channel

    web = Channel.objects.get(code="web")
    with translation.override("en"):
        assert str(web) == "Web shop"
    with translation.override("it"):
        assert str(web) == "Negozio online"


def test_the_default_return_reasons_are_translated_and_new_ones_show_as_typed():
    from returns.models import ReturnReason

    with translation.override("it"):
        assert str(ReturnReason.objects.get(code="wrong_size")) == "Taglia sbagliata"
        assert str(ReturnReason.objects.create(code="gift", label="Regalo doppio")) == "Regalo doppio"
    with translation.override("en"):
        assert str(ReturnReason.objects.get(code="wrong_size")) == "Wrong size"


def test_journey_paths_read_as_channel_names():
    from kpis.selectors import path_label

    with translation.override("it"):
        assert path_label("web > app > store") == "Negozio online → App → Negozio"
    with translation.override("en"):
        assert path_label("web > store") == "Web shop → Store"


def test_money_and_moments_are_written_the_languages_way():
    from datetime import UTC, datetime
    from decimal import Decimal

    from omni.money import format_moment, format_money

    noon_utc = datetime(2026, 7, 1, 10, 5, tzinfo=UTC)  # 12:05 in Rome (summer time)
    with translation.override("it"):
        assert format_money(Decimal("1364.7")) == "€ 1.364,70"
        assert format_money(Decimal("364.70"), "CHF") == "364,70 CHF"
        assert "12:05" in format_moment(noon_utc) and "01/07/2026" in format_moment(noon_utc)
    with translation.override("en"):
        assert format_money(Decimal("1364.7")) == "€ 1,364.70"


def test_the_customers_orders_table_shows_rome_time_and_money_in_italian(client, boss):
    from datetime import UTC, datetime
    from decimal import Decimal

    from tests.factories import OrderFactory

    order = OrderFactory(total=Decimal("364.70"), created_at=datetime(2026, 1, 15, 23, 30, tzinfo=UTC))
    page = client.get(
        f"/admin/customers/customer/{order.customer_id}/change/", HTTP_ACCEPT_LANGUAGE="it"
    ).content.decode()
    assert "€ 364,70" in page and "364.70 EUR" not in page
    assert "16/01/2026 00:30" in page and "2026-01-15 23:30" not in page  # Rome is an hour ahead in winter
    assert "<td>Negozio online</td>" in page
