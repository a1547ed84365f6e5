"""Reads of loyalty: an account by card, its ledger, what expires next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet
from django.utils import timezone

from loyalty.models import Card, LedgerEntry, LoyaltyAccount, PointsLot


def account_by_card(number: str) -> LoyaltyAccount | None:
    """The account an active card belongs to, with its tier and customer (one query)."""
    card = (
        Card.objects.select_related("account__tier", "account__customer")
        .filter(number=number.strip(), is_active=True)
        .first()
    )
    if card is None:
        return None
    account = card.account
    account.card_number = card.number  # type: ignore[attr-defined]
    return account


def account_of(customer_id: int) -> LoyaltyAccount | None:
    return LoyaltyAccount.objects.select_related("tier").filter(customer_id=customer_id).first()


def current_card(account: LoyaltyAccount) -> str | None:
    return account.cards.filter(is_active=True).values_list("number", flat=True).first()


@dataclass(frozen=True)
class Expiring:
    points: int
    on: date


def expiring(account: LoyaltyAccount, *, limit: int = 5, lots_read: int = 1000) -> list[Expiring]:
    """The next expiry dates and the points that lapse on each.

    Reads at most `lots_read` lots, soonest first, through the (account,
    expires_at) index, so the cost does not grow with the account's history;
    a date whose lots may run past that window is left out rather than
    shown short.
    """
    lots = list(
        PointsLot.objects.filter(account=account, remaining__gt=0)
        .order_by("expires_at", "pk")
        .values_list("expires_at", "remaining")[:lots_read]
    )
    by_day: dict[date, int] = {}
    for expires_at, remaining in lots:
        day = timezone.localdate(expires_at)
        by_day[day] = by_day.get(day, 0) + remaining
    days = sorted(by_day)
    if len(lots) == lots_read and days:
        days = days[:-1]
    return [Expiring(points=by_day[day], on=day) for day in days[:limit]]


def ledger(account: LoyaltyAccount) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account=account).select_related("order").order_by("-created_at", "-pk")
