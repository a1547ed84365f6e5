"""The points ledger: every movement is an entry, the balance is what the ledger sums to."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from loyalty import services
from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, PointsLot, Programme, Tier
from omni.errors import InsufficientPoints, Invalid
from tests.factories import CustomerFactory, OrderFactory
from tests.loyalty.conftest import balance_of

pytestmark = pytest.mark.django_db


def test_a_fresh_database_has_a_programme_that_earns_one_point_per_euro():
    programme = Programme.objects.get()
    assert programme.points_per_euro == 1
    assert list(Tier.objects.values_list("code", flat=True)) == ["base", "silver", "gold"]


def test_earned_points_land_on_the_balance_with_an_entry_and_a_lot(account):
    order = OrderFactory(customer=account.customer)
    entry = services.earn(account=account, points=30, order=order, channel="web")
    assert balance_of(account) == 30
    assert (entry.kind, entry.points, entry.balance_after, entry.order) == ("earn", 30, 30, order)
    assert PointsLot.objects.get(account=account).remaining == 30


def test_redeeming_more_than_the_balance_is_refused_and_writes_nothing(account):
    services.earn(account=account, points=10)
    with pytest.raises(InsufficientPoints):
        services.redeem(account=account, points=11)
    assert balance_of(account) == 10
    assert LedgerEntry.objects.filter(kind="redeem").count() == 0


def test_redemption_spends_the_oldest_lot_first(account):
    now = timezone.now()
    services.earn(account=account, points=10, at=now - timedelta(days=100))
    services.earn(account=account, points=10, at=now)
    services.redeem(account=account, points=15)
    remaining = list(PointsLot.objects.order_by("earned_at").values_list("remaining", flat=True))
    assert remaining == [0, 5]


def test_expiry_takes_only_the_lots_past_their_date_and_is_idempotent(account):
    long_ago = timezone.now() - timedelta(days=800)
    services.earn(account=account, points=40, at=long_ago)
    services.earn(account=account, points=25)
    assert services.expire_due() == 40
    assert services.expire_due() == 0
    assert balance_of(account) == 25
    assert LedgerEntry.objects.get(kind="expire").points == -40


def test_a_reversal_of_spent_points_becomes_debt_paid_off_by_the_next_earnings(account):
    order = OrderFactory(customer=account.customer)
    services.earn(account=account, points=50, order=order)
    services.redeem(account=account, points=45)
    services.reverse(account=account, points=50, order=order, reference="RMA-1")
    account.refresh_from_db()
    assert (account.balance, account.debt) == (0, 45)
    services.earn(account=account, points=60)
    account.refresh_from_db()
    assert (account.balance, account.debt) == (15, 0)
    assert services.recompute_balances() == []


def test_an_adjustment_needs_a_reason(account):
    with pytest.raises(Invalid):
        services.adjust(account=account, points=10, reason=" ", actor=services.SYSTEM)
    assert not LedgerEntry.objects.exists()
    services.adjust(account=account, points=10, reason="goodwill", actor=services.SYSTEM)
    assert LedgerEntry.objects.get().kind == EntryKind.ADJUST


def test_the_recompute_command_finds_no_difference_and_reports_a_tampered_balance(account):
    services.earn(account=account, points=20)
    out = io.StringIO()
    call_command("recompute_loyalty", stdout=out)
    assert "0 difference" in out.getvalue()
    LoyaltyAccount.objects.filter(pk=account.pk).update(balance=999)
    with pytest.raises(CommandError):
        call_command("recompute_loyalty", stdout=io.StringIO())
    call_command("recompute_loyalty", "--fix", stdout=io.StringIO())
    assert balance_of(account) == 20


def test_tiers_follow_the_rolling_spend(account):
    services.earn(account=account, points=600, spend=600)
    services.earn(account=account, points=0, spend=1000, at=timezone.now() - timedelta(days=400))
    assert services.recompute_tiers() == 1
    account.refresh_from_db()
    assert account.tier.code == "silver"
    assert account.rolling_spend == 600
    assert services.recompute_tiers() == 0


def test_merging_customers_adds_their_accounts_into_one(account):
    other = services.open_account(customer=CustomerFactory())
    services.add_card(account=other, number="0420000000099")
    services.earn(account=account, points=30)
    services.earn(account=other, points=12)
    services.merge_accounts(survivor=account.customer, merged=other.customer)
    account.refresh_from_db()
    assert account.balance == 42
    assert sorted(account.cards.values_list("number", flat=True)) == ["0420000000017", "0420000000099"]
    assert not LoyaltyAccount.objects.filter(pk=other.pk).exists()
    assert services.recompute_balances() == []


def test_a_card_of_another_account_cannot_be_taken(account):
    other = services.open_account(customer=CustomerFactory())
    with pytest.raises(services.CardTaken):
        services.add_card(account=other, number="0420000000017")


def test_a_lost_card_is_replaced_and_the_balance_stays(account):
    services.earn(account=account, points=30)
    services.replace_card(account=account, lost="0420000000017", new="0420000000555")
    from loyalty.selectors import account_by_card

    assert account_by_card("0420000000017") is None
    assert account_by_card("0420000000555").balance == 30


def test_points_lapsing_on_the_same_day_share_one_lot_so_a_long_history_stays_cheap(account):
    morning = timezone.now().replace(hour=9)
    for hour in range(3):
        services.earn(account=account, points=10, at=morning + timedelta(hours=hour))
    services.earn(account=account, points=5, at=morning + timedelta(days=3))
    assert list(PointsLot.objects.order_by("expires_at").values_list("points", flat=True)) == [30, 5]
    from loyalty.selectors import expiring

    assert [e.points for e in expiring(account)] == [30, 5]


def test_a_merge_adds_up_the_lots_that_lapse_on_the_same_day(account):
    other = services.open_account(customer=CustomerFactory())
    at = timezone.now()
    services.earn(account=account, points=10, at=at)
    services.earn(account=other, points=7, at=at)
    services.earn(account=other, points=4, at=at - timedelta(days=5))
    services.merge_accounts(survivor=account.customer, merged=other.customer)
    assert list(PointsLot.objects.order_by("expires_at").values_list("account_id", "remaining")) == [
        (account.pk, 4),
        (account.pk, 17),
    ]
    assert services.recompute_balances() == []
