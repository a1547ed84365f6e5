"""Saved segments for e-mail marketing: rules, member counts, a consenting-only export safe from formulas."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from customers import selectors, services
from customers.models import Segment
from tests.factories import CustomerFactory, OrderFactory, channel

pytestmark = pytest.mark.django_db


def consenting(**profile):
    customer = CustomerFactory(**profile)
    services.set_consents(customer=customer, choices={"marketing_email": True}, channel="web")
    return customer


def buy(customer, on: str, total: str = "10.00", days_ago: int = 1):
    OrderFactory(
        customer=customer,
        channel=channel(on),
        total=Decimal(total),
        created_at=timezone.now() - timedelta(days=days_ago),
    )


def members(**rules) -> set[int]:
    return set(selectors.segment_members(Segment(name="s", **rules)).values_list("pk", flat=True))


def test_only_customers_whose_latest_choice_is_consent_are_members():
    yes, no = consenting(), consenting()
    services.set_consents(customer=no, choices={"marketing_email": False}, channel="store")
    CustomerFactory()  # never asked
    assert members() == {yes.pk}


def test_omnichannel_and_single_channel_customers_are_told_apart():
    both, web_only = consenting(), consenting()
    buy(both, "store")
    buy(both, "web")
    buy(web_only, "web")
    buy(web_only, "web")
    assert members(reach="omnichannel") == {both.pk}
    assert members(reach="single_channel") == {web_only.pk}
    assert members(channels=["store"]) == {both.pk}


def test_recency_frequency_and_monetary_bands_select_members():
    recent_big, lapsed_small = consenting(), consenting()
    buy(recent_big, "web", "300.00", days_ago=3)
    buy(recent_big, "store", "200.00", days_ago=10)
    buy(lapsed_small, "web", "20.00", days_ago=400)
    assert members(last_order_within_days=30) == {recent_big.pk}
    assert members(no_order_for_days=365) == {lapsed_small.pk}
    assert members(min_orders=2) == {recent_big.pk}
    assert members(min_revenue=Decimal("100")) == {recent_big.pk}
    assert members(max_revenue=Decimal("50")) == {lapsed_small.pk}


def test_merged_and_erased_customers_are_never_members():
    survivor, merged, erased = consenting(), consenting(), consenting()
    services.merge_customers(survivor=survivor, merged=merged)
    services.erase_customer(customer=erased)
    assert members() == {survivor.pk}


def test_saving_a_segment_in_the_admin_counts_and_the_csv_holds_consenting_members_without_formulas(client):
    client.force_login(User.objects.create_superuser("marketing", "m@example.it", "pw-Secret-1"))
    consenting(first_name='=HYPERLINK("http://evil")', email="evil@example.it")
    consenting(first_name="Anna", email="anna@example.it")
    CustomerFactory(first_name="Silent", email="silent@example.it")

    client.post(
        "/admin/customers/segment/add/",
        {
            "name": "Everyone who said yes",
            "consent": "marketing_email",
            "reach": "any",
        },
    )
    segment = Segment.objects.get()
    assert segment.member_count == 2

    response = client.post("/admin/customers/segment/", {"action": "export_csv", "_selected_action": [segment.pk]})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert sorted(row["email"] for row in rows) == ["anna@example.it", "evil@example.it"]
    assert all(not row["first_name"].startswith("=") for row in rows)
    assert "'=HYPERLINK" in response.content.decode()


def test_the_segment_can_be_exported_as_excel(client):
    pytest.importorskip("openpyxl")
    client.force_login(User.objects.create_superuser("marketing", "m@example.it", "pw-Secret-1"))
    consenting(email="anna@example.it")
    segment = Segment.objects.create(name="All")
    response = client.post("/admin/customers/segment/", {"action": "export_xlsx", "_selected_action": [segment.pk]})
    assert response["Content-Disposition"] == f'attachment; filename="segment-{segment.pk}.xlsx"'
    assert response.content[:2] == b"PK"


def test_the_segment_builder_is_a_form_of_ticks_that_writes_the_rules(client):
    from loyalty.models import Tier

    Tier.objects.update_or_create(code="gold", defaults={"name": "Oro", "min_spend": 1000})
    client.force_login(User.objects.create_superuser("marketing", "m@example.it", "pw-Secret-1"))
    page = client.get("/admin/customers/segment/add/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert 'type="checkbox" name="channels" value="web"' in page and "Negozio online" in page
    assert 'type="checkbox" name="tiers" value="gold"' in page and "Oro" in page
    assert '<textarea name="channels"' not in page and '<textarea name="tiers"' not in page
    response = client.post(
        "/admin/customers/segment/add/",
        {
            "name": "Oro online",
            "consent": "marketing_email",
            "reach": "omnichannel",
            "channels": ["web", "app"],
            "tiers": ["gold"],
            "min_revenue": "100",
        },
    )
    assert response.status_code == 302
    segment = Segment.objects.get(name="Oro online")
    assert (segment.channels, segment.tiers, segment.reach) == (["web", "app"], ["gold"], "omnichannel")
    edit = client.get(f"/admin/customers/segment/{segment.pk}/change/").context["adminform"].form
    assert edit["channels"].value() == ["web", "app"] and edit["tiers"].value() == ["gold"]
