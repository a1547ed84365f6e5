"""The points and gift-card ledgers read in the staff's language: field names, kinds, and the system's reasons.

The stored reason stays the plain English the services wrote (the API gives it as it is); the pages
translate the reasons the system writes and show a reason typed by a person as it was typed.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone, translation

from loyalty import services
from loyalty.models import GiftCard, GiftCardEntry, LedgerEntry, PointsLot
from loyalty.reasons import reason_shown
from omni.actor import Actor
from tests.factories import LocationFactory
from tests.staff import CLERK, HEAD_OFFICE, page, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def expired(account):
    """40 points earned long ago and expired by the nightly job."""
    services.earn(account=account, points=40, at=timezone.now() - timedelta(days=800))
    services.expire_due()
    return LedgerEntry.objects.get(kind="expire")


@pytest.fixture
def clerk(client):
    client.force_login(staff("negozio", CLERK, LocationFactory()))
    return client


@pytest.fixture
def head_office(client):
    client.force_login(staff("direzione", HEAD_OFFICE))
    return client


def test_a_clerk_reads_an_expired_points_entry_in_italian(clerk, expired):
    html = page(clerk, f"/admin/loyalty/ledgerentry/{expired.pk}/change/", "it")
    assert "Scaduti -40" in html and "Punti scaduti" in html
    assert "Conto fedeltà:" in html and "Ordine:" in html
    for english in ("expire -40", "points expired", "Account:", "Order:"):
        assert english not in html


def test_the_same_entry_reads_in_english_for_an_english_browser(clerk, expired):
    html = page(clerk, f"/admin/loyalty/ledgerentry/{expired.pk}/change/", "en")
    assert "Expired -40" in html and "Points expired" in html and "Loyalty account:" in html
    assert "Scaduti" not in html


def test_the_stored_reason_stays_the_services_english(expired):
    assert expired.reason == "points expired"


def test_a_points_lot_is_named_by_its_points_and_day_and_its_earning_by_kind(head_office, account):
    services.earn(account=account, points=349)
    lot = PointsLot.objects.get(account=account)
    html = page(head_office, f"/admin/loyalty/pointslot/{lot.pk}/change/", "it")
    assert "349 punti fino al" in html and "Accumulati +349" in html and "Movimento del registro:" in html
    for english in ("PointsLot object", "earn +349", "Entry:", "Account:"):
        assert english not in html


def test_the_accounts_latest_movements_give_the_system_reasons_in_italian(head_office, expired):
    html = page(head_office, f"/admin/loyalty/loyaltyaccount/{expired.account_id}/change/", "it")
    assert "Punti scaduti" in html and "points expired" not in html


def test_a_gift_card_payment_reads_as_a_payment_in_italian(clerk):
    card = GiftCard.objects.create(code="SZGW8WFQ6TNRHCXB", initial_amount=Decimal("50"), balance=Decimal("30"))
    entry = GiftCardEntry.objects.create(
        card=card, amount=Decimal("-20"), balance_after=Decimal("30"), reason="payment"
    )
    html = page(clerk, f"/admin/loyalty/giftcardentry/{entry.pk}/change/", "it")
    assert "Pagamento" in html and ">payment<" not in html


def test_system_reasons_are_translated_and_a_typed_one_is_left_as_it_is():
    with translation.override("it"):
        assert reason_shown("points given back") == "Punti riscattati restituiti"
        assert reason_shown("return RMA0000064") == "Reso RMA0000064"
        assert reason_shown("refund of return RMA0000064") == "Rimborso del reso RMA0000064"
        assert reason_shown("order cancelled") == "Ordine annullato"
        assert reason_shown("return of a goodwill gesture") == "return of a goodwill gesture"
    with translation.override("en"):
        assert reason_shown("return RMA0000064") == "Return RMA0000064"


def test_an_adjustment_shows_the_reason_the_clerk_typed(head_office, account):
    entry = services.adjust(account=account, points=5, reason="biglietto smarrito", actor=Actor())
    html = page(head_office, f"/admin/loyalty/ledgerentry/{entry.pk}/change/", "it")
    assert "biglietto smarrito" in html


@pytest.mark.parametrize("model", ["promotion", "earningrule"])
def test_the_channels_of_a_rule_are_chosen_under_their_italian_name(head_office, model):
    html = page(head_office, f"/admin/loyalty/{model}/add/", "it")
    assert 'data-field-name="canali"' in html and 'data-field-name="channels"' not in html
    assert "Livello:" in html and "Tier:" not in html
