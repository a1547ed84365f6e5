"""Reads of loyalty: an account by card, its ledger, what expires next."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import QuerySet, Sum
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


def expiring(account: LoyaltyAccount, *, limit: int = 5) -> list[Expiring]:
    """The next expiry dates and the points that lapse on each.

    Lots lapse at the end of a day, so this groups by expiry and stops after
    `limit` groups: read in order from the partial index on open lots, its
    cost does not grow with the account's history.
    """
    rows = (
        PointsLot.objects.filter(account=account, remaining__gt=0)
        .values("expires_at")
        .annotate(points=Sum("remaining"))
        .order_by("expires_at")[:limit]
    )
    return [Expiring(points=row["points"], on=timezone.localdate(row["expires_at"])) for row in rows]


def ledger(account: LoyaltyAccount) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.filter(account=account).select_related("order").order_by("-created_at", "-pk")
