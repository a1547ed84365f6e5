"""The customer's page reads in the staff's language: consents' origins, the timeline's channels and details,
the loyalty tier; the API keeps the codes and the stored words."""

from datetime import timedelta

import pytest
from django.utils import timezone, translation

from customers import services as customer_services
from customers.models import ConsentChange, Identifier
from customers.reference import source_label
from loyalty import services as loyalty
from loyalty.models import LoyaltyAccount, Tier
from tests.factories import CustomerFactory, LocationFactory
from tests.staff import CLERK, HEAD_OFFICE, page, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def ginevra(db):
    """A gold customer who consented at the site's checkout, earned at the till and saw 40 points expire."""
    customer = CustomerFactory()
    customer_services.set_consents(
        customer=customer, choices={"marketing_email": True, "profiling": False}, channel="web", source="checkout form"
    )
    account = loyalty.open_account(customer=customer)
    loyalty.add_card(account=account, number="2915429094359")
    loyalty.earn(account=account, points=40, channel="store", at=timezone.now() - timedelta(days=800))
    loyalty.expire_due()
    LoyaltyAccount.objects.filter(pk=account.pk).update(tier=Tier.objects.get(code="gold"))
    return customer


@pytest.fixture
def clerk(client):
    client.force_login(staff("negozio", CLERK, LocationFactory()))
    return client


def test_a_clerk_reads_the_customers_page_in_italian(clerk, ginevra):
    html = page(clerk, f"/admin/customers/customer/{ginevra.pk}/change/", "it")
    assert "modulo di checkout" in html and "checkout form" not in html  # where the consents were given
    assert "<td>Negozio</td>" in html and "<td>store</td>" not in html  # the timeline's channel
    assert "<td>Punti scaduti</td>" in html and "points expired" not in html  # the timeline's details
    assert "· livello Gold ·" in html and "· gold ·" not in html  # as the panel says
    assert "Fedeltà: 0 punti, livello Gold" in html


def test_an_english_browser_reads_the_same_page_in_english(clerk, ginevra):
    html = page(clerk, f"/admin/customers/customer/{ginevra.pk}/change/", "en")
    assert "checkout form" in html and "<td>Store</td>" in html and "<td>Points expired</td>" in html
    assert "· tier Gold ·" in html


def test_the_api_keeps_the_codes_and_the_stored_words(api, ginevra):
    detail = api.get(f"/api/v1/customers/{ginevra.pk}/", headers={"accept-language": "it"}).json()
    assert detail["loyalty"]["tier"] == "gold" and "tier_name" not in detail["loyalty"]
    assert detail["consents"]["marketing_email"]["source"] == "checkout form"
    assert detail["consents"]["marketing_email"]["channel"] == "web"
    timeline = api.get(f"/api/v1/customers/{ginevra.pk}/timeline/", headers={"accept-language": "it"}).json()
    expired = next(e for e in timeline["results"] if e["kind"] == "points_expire")
    assert (expired["channel"], expired["summary"]) == ("", "points expired")
    assert "summary_shown" not in expired


def test_consent_changes_and_identifiers_are_named_in_italian(client, ginevra):
    client.force_login(staff("direzione", HEAD_OFFICE))
    change = ConsentChange.objects.get(customer=ginevra, purpose="profiling")
    html = page(client, f"/admin/customers/consentchange/{change.pk}/change/", "it")
    assert "Profilazione: revocato" in html and "profiling: withdrawn" not in html
    assert "Negozio online" in html and "modulo di checkout" in html
    listed = page(client, "/admin/customers/consentchange/", "it")
    assert "modulo di checkout" in listed and '<td class="field-channel">web</td>' not in listed
    card = Identifier.objects.get(kind="card", value="2915429094359")
    html = page(client, f"/admin/customers/identifier/{card.pk}/change/", "it")
    assert "Carta fedeltà: 2915429094359" in html and "card: 2915429094359" not in html


def test_sources_the_system_and_the_channels_write_are_translated_and_others_left_as_given():
    with translation.override("it"):
        assert source_label("till") == "cassa"
        assert source_label("counter MI01") == "banco MI01"
        assert source_label("import") == "importazione dei clienti"
        assert source_label("newsletter del sito") == "newsletter del sito"
    with translation.override("en"):
        assert source_label("till") == "till"
