"""move_points_many is earn, redeem and reverse for many accounts at once: the same moves write the same rows.

Hypothesis draws a history (earnings over several days, redemptions,
reversals that leave debt) on a few accounts; it is applied once through
the one-row services, move by move, and once through the bulk service in
one call. Entries (in order, with their running balances and debts), lots
and accounts must be the same; a redemption the balance cannot pay is
refused by both, and the bulk service then writes nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import services
from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, PointsLot
from omni.errors import InsufficientPoints
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

START = timezone.make_aware(datetime(2025, 3, 14, 9, 0))


@pytest.fixture
def accounts(db):
    made = [services.open_account(customer=CustomerFactory()) for _ in range(3)]
    services.earn(account=made[0], points=500, at=START - timedelta(days=700))  # a lot that lapses first
    return made


move = st.tuples(
    st.integers(0, 2),  # which account
    st.sampled_from([EntryKind.EARN, EntryKind.EARN, EntryKind.REDEEM, EntryKind.REVERSE]),
    st.integers(0, 300),  # points
    st.integers(0, 5000),  # minutes after START
    st.sampled_from([Decimal("0"), Decimal("12.50"), Decimal("80.00")]),  # spend
)


def one_by_one(accounts, drawn) -> None:
    for index, kind, points, minutes, spend in drawn:
        account, at = accounts[index], START + timedelta(minutes=minutes)
        if kind == EntryKind.EARN:
            services.earn(account=account, points=points, at=at, spend=spend, channel="store")
        elif kind == EntryKind.REDEEM:
            services.redeem(account=account, points=max(points, 1), at=at, channel="store")
        else:
            services.reverse(account=account, points=points, spend=spend, reason="returned")


def in_bulk(accounts, drawn) -> None:
    services.move_points_many(
        [
            services.PointsMove(
                accounts[index].pk,
                kind,
                max(points, 1) if kind == EntryKind.REDEEM else points,
                at=START + timedelta(minutes=minutes) if kind != EntryKind.REVERSE else None,
                spend=spend if kind != EntryKind.REDEEM else Decimal("0"),
                channel="store" if kind != EntryKind.REVERSE else "",
                reason="returned" if kind == EntryKind.REVERSE else "",
            )
            for index, kind, points, minutes, spend in drawn
        ]
    )


def rows_written() -> dict:
    return {
        # A reversal is dated when it is made, so its time is left out; the order of the entries is not.
        "entries": [
            (
                e.account_id,
                e.kind,
                e.points,
                e.debt_change,
                e.balance_after,
                e.spend,
                e.channel,
                e.reason,
                e.created_at if e.kind != EntryKind.REVERSE else None,
            )
            for e in LedgerEntry.objects.order_by("pk")
        ],
        "lots": sorted(
            (lot.account_id, lot.points, lot.remaining, lot.earned_at, lot.expires_at, lot.entry.kind)
            for lot in PointsLot.objects.select_related("entry")
        ),
        "accounts": sorted(LoyaltyAccount.objects.values_list("pk", "balance", "debt", "lifetime_points")),
    }


class Undo(Exception):
    pass


def outcome_of(write) -> dict | str:
    """The rows after `write`, or "refused"; undone either way."""
    seen: dict | str = "refused"
    try:
        with transaction.atomic():
            try:
                write()
            except InsufficientPoints:
                raise Undo from None
            seen = rows_written()
            raise Undo
    except Undo:
        return seen


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(drawn=st.lists(move, min_size=1, max_size=12))
def test_many_moves_at_once_write_what_the_one_row_services_write_move_by_move(accounts, drawn):
    drawn = sorted(drawn, key=lambda m: m[3])  # earnings and redemptions in the order of their moments
    one = outcome_of(lambda: one_by_one(accounts, drawn))
    many = outcome_of(lambda: in_bulk(accounts, drawn))
    assert many == one
    if one == "refused":
        assert LedgerEntry.objects.count() == 1  # the bulk refusal wrote nothing either


def test_a_bulk_redemption_beyond_the_balance_writes_nothing(accounts):
    with pytest.raises(InsufficientPoints):
        services.redeem_many([services.PointsMove(accounts[1].pk, EntryKind.REDEEM, 10)])
    assert LoyaltyAccount.objects.get(pk=accounts[1].pk).balance == 0
    assert not LedgerEntry.objects.filter(account=accounts[1]).exists()
