"""Writes of loyalty: accounts and cards, and every movement of points.

Each movement is one LedgerEntry plus the change of the account's running
balance, in one transaction. Taking points (redeem, negative adjustments) is
a single conditional UPDATE (`balance >= n`), so two channels spending the
same points at once get one success. Adding points and reversals lock the
account row first, because they also settle the debt. Earned points are lots,
spent and expired oldest first; the sum of the lots' remaining points is the
balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from customers.models import Customer
from loyalty.models import Card, EntryKind, LedgerEntry, LoyaltyAccount, PointsLot, Programme, Tier
from loyalty.pricing import programme
from omni import webhooks
from omni.actor import SYSTEM, Actor
from omni.errors import Conflict, InsufficientPoints, Invalid

LOT_BATCH = 100


def end_of_day(moment):
    """Points lapse at the end of a Rome day, so a day's lots expire together."""
    local = timezone.localtime(moment)
    return local.replace(hour=23, minute=59, second=59, microsecond=999999)


class CardTaken(Conflict):
    code = "card_taken"
    default_detail = "This card belongs to another loyalty account."


def open_account(*, customer: Customer) -> LoyaltyAccount:
    """The customer's account, created on first need (one per customer, race-safe)."""
    account = LoyaltyAccount.objects.filter(customer=customer).select_related("tier").first()
    if account is not None:
        return account
    try:
        with transaction.atomic():
            return LoyaltyAccount.objects.create(customer=customer)
    except IntegrityError:
        return LoyaltyAccount.objects.get(customer=customer)


def add_card(*, account: LoyaltyAccount, number: str) -> Card:
    """Attach a card to the account; the same card again is a no-op, another account's is CardTaken."""
    number = number.strip()
    if not number:
        raise Invalid("A card number is needed.", {"number": ["This field may not be blank."]})
    existing = Card.objects.filter(number=number).first()
    if existing is not None:
        if existing.account_id != account.pk:
            raise CardTaken()
        return existing
    try:
        with transaction.atomic():
            return Card.objects.create(account=account, number=number)
    except IntegrityError:
        existing = Card.objects.get(number=number)
        if existing.account_id != account.pk:
            raise CardTaken()
        return existing


def replace_card(*, account: LoyaltyAccount, lost: str, new: str) -> Card:
    """A lost card stops working; the new one carries the same account and balance."""
    with transaction.atomic():
        updated = Card.objects.filter(account=account, number=lost, is_active=True).update(is_active=False)
        if not updated:
            raise Invalid("No active card with this number on the account.", {"lost": ["Not an active card here."]})
        return add_card(account=account, number=new)


def _entry(
    account_id: int,
    kind: str,
    points: int,
    *,
    debt_change: int = 0,
    order=None,
    reference: str = "",
    channel: str = "",
    reason: str = "",
    actor: Actor = SYSTEM,
    at=None,
    spend: Decimal = Decimal("0"),
    balance_after: int | None = None,
) -> LedgerEntry:
    """Append one ledger entry, in one INSERT.

    Callers that hold the account row locked pass the balance they left it at;
    the others let it be read back. The entry is dated `at` (when the points
    moved, which may be a receipt's time) in the INSERT itself.
    """
    if balance_after is None:
        balance_after = LoyaltyAccount.objects.filter(pk=account_id).values_list("balance", flat=True).get()
    entry = LedgerEntry(
        account_id=account_id,
        kind=kind,
        points=points,
        debt_change=debt_change,
        balance_after=balance_after,
        spend=spend,
        order=order,
        reference=reference,
        channel=channel,
        reason=reason,
        user=actor.user,
        api_client=actor.api_client,
        created_at=at or timezone.now(),
    )
    # A raw save writes the fields as they are set (auto_now_add would overwrite the date): one INSERT.
    entry.save_base(raw=True, force_insert=True)
    if points:
        moves = [(account_id, points, balance_after)]
        webhooks.publish("loyalty.balance_changed", lambda: balance_event_data(moves)[0])
    return entry


def balance_event_data(moves: list[tuple[int, int, int]]) -> list[dict]:
    """The `data` of loyalty.balance_changed for (account id, change, balance after) moves: two queries in all."""
    ids = {account_id for account_id, _, _ in moves}
    customers = dict(LoyaltyAccount.objects.filter(pk__in=ids).values_list("pk", "customer_id"))
    cards: dict[int, str] = {}
    for account_id, number in (
        Card.objects.filter(account_id__in=ids)
        .order_by("-is_active", "-issued_at", "-pk")
        .values_list("account_id", "number")
    ):
        cards.setdefault(account_id, number)  # the card shown first: the newest active one
    return [
        {"card": cards.get(account_id), "customer": customers.get(account_id), "balance": balance, "change": change}
        for account_id, change, balance in moves
    ]


def _consume_lots(account_id: int, points: int) -> None:
    """Take `points` out of the account's open lots, soonest expiry first.

    Lots are locked and read a batch at a time, so spending a few points of
    a long history touches a few rows.
    """
    left = points
    while left:
        batch = list(
            PointsLot.objects.select_for_update()
            .filter(account_id=account_id, remaining__gt=0)
            .order_by("expires_at", "pk")[:LOT_BATCH]
        )
        if not batch:  # the lots and the balance disagree: the ledger is wrong somewhere
            raise RuntimeError(f"account {account_id}: lots hold {points - left} points, {points} were needed")
        for lot in batch:
            used = min(lot.remaining, left)
            PointsLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - used)
            left -= used
            if not left:
                break


def earn(
    *,
    account: LoyaltyAccount,
    points: int,
    order=None,
    channel: str = "",
    reason: str = "",
    actor: Actor = SYSTEM,
    kind: str = EntryKind.EARN,
    at=None,
    spend: Decimal = Decimal("0"),
    settings: Programme | None = None,
) -> LedgerEntry | None:
    """Add points (earned or adjusted up). Debt from earlier reversals is paid off first.

    `spend` is the amount paid behind the points: tiers are computed from it.
    `settings` is the programme if the caller has already read it (an order has).
    """
    if points <= 0 and spend <= 0:
        return None
    points = max(points, 0)
    at = at or timezone.now()
    # Inside a caller's transaction a savepoint would buy nothing: any failure here aborts the caller too.
    with transaction.atomic(savepoint=False):
        locked = LoyaltyAccount.objects.select_for_update().only("balance", "debt").get(pk=account.pk)
        paid_off = min(locked.debt, points)
        credit = points - paid_off
        earned = points if kind == EntryKind.EARN else 0
        LoyaltyAccount.objects.filter(pk=account.pk).update(
            balance=F("balance") + credit, debt=F("debt") - paid_off, lifetime_points=F("lifetime_points") + earned
        )
        entry = _entry(
            account.pk,
            kind,
            credit,
            debt_change=-paid_off,
            order=order,
            channel=channel,
            reason=reason,
            actor=actor,
            at=at,
            spend=spend,
            balance_after=locked.balance + credit,  # the row is locked: nobody else moved it
        )
        if credit:
            add_to_lot(account.pk, credit, entry=entry, earned_at=at, settings=settings)
    return entry


def add_to_lot(
    account_id: int, points: int, *, entry: LedgerEntry, earned_at, settings: Programme | None = None
) -> None:
    """Points lapsing on the same day share one lot, so the next expiries are a few rows whatever the history.

    Called with the account row locked, so two earnings cannot both create the day's lot.
    `settings` is the programme if the caller has already read it.
    """
    settings = settings or programme()
    expires_at = end_of_day(earned_at + timedelta(days=settings.points_valid_days))
    grown = PointsLot.objects.filter(account_id=account_id, expires_at=expires_at).update(
        points=F("points") + points, remaining=F("remaining") + points
    )
    if not grown:
        PointsLot.objects.create(
            account_id=account_id,
            entry=entry,
            points=points,
            remaining=points,
            earned_at=earned_at,
            expires_at=expires_at,
        )


def redeem(
    *,
    account: LoyaltyAccount,
    points: int,
    order=None,
    channel: str = "",
    reason: str = "",
    actor: Actor = SYSTEM,
    kind: str = EntryKind.REDEEM,
    at=None,
) -> LedgerEntry:
    """Spend points. Raises InsufficientPoints (nothing written) when the balance is lower.

    `at` dates the entry (an order's moment, so its redeem and its earn, applied in
    that order, read in that order too: same moment, the earn's higher id).
    """
    if points <= 0:
        raise Invalid("Points to redeem must be positive.", {"points": ["Must be at least 1."]})
    with transaction.atomic():
        taken = LoyaltyAccount.objects.filter(pk=account.pk, balance__gte=points).update(balance=F("balance") - points)
        if not taken:
            raise InsufficientPoints(f"The balance is lower than {points} points.")
        _consume_lots(account.pk, points)
        return _entry(account.pk, kind, -points, order=order, channel=channel, reason=reason, actor=actor, at=at)


def adjust(*, account: LoyaltyAccount, points: int, reason: str, actor: Actor) -> LedgerEntry | None:
    """A staff correction, always with a reason. Cannot take the balance below zero."""
    if not reason or not reason.strip():
        raise Invalid("An adjustment needs a reason.", {"reason": ["This field may not be blank."]})
    if points == 0:
        raise Invalid("An adjustment of zero points changes nothing.", {"points": ["Must not be zero."]})
    if points > 0:
        return earn(account=account, points=points, reason=reason, actor=actor, kind=EntryKind.ADJUST)
    return redeem(account=account, points=-points, reason=reason, actor=actor, kind=EntryKind.ADJUST)


def reverse(
    *,
    account: LoyaltyAccount,
    points: int,
    order=None,
    reference: str = "",
    reason: str = "",
    actor: Actor = SYSTEM,
    spend: Decimal = Decimal("0"),
) -> LedgerEntry | None:
    """Take back earned points (a return, a cancellation).

    What the balance still holds is taken back; what was already spent
    becomes debt, paid off by the next earnings, so the balance never goes
    negative and the ledger explains every point. The points taken back are
    no longer among the points earned in the account's lifetime.
    """
    if points <= 0 and spend <= 0:
        return None
    points = max(points, 0)
    with transaction.atomic():
        locked = LoyaltyAccount.objects.select_for_update().get(pk=account.pk)
        from_balance = min(locked.balance, points)
        owed = points - from_balance
        LoyaltyAccount.objects.filter(pk=account.pk).update(
            balance=F("balance") - from_balance,
            debt=F("debt") + owed,
            lifetime_points=Greatest(F("lifetime_points") - points, Value(0)),
        )
        if from_balance:
            _consume_lots(account.pk, from_balance)
        return _entry(
            account.pk,
            EntryKind.REVERSE,
            -from_balance,
            debt_change=owed,
            order=order,
            reference=reference,
            reason=reason,
            actor=actor,
            spend=-spend,
            balance_after=locked.balance - from_balance,  # the row is locked: nobody else moved it
        )


def restore_redeemed(
    *, account: LoyaltyAccount, points: int, order=None, reference: str = "", actor: Actor = SYSTEM
) -> LedgerEntry | None:
    """Give back points that paid for something returned or cancelled (a `reverse` entry adding points)."""
    entry = earn(
        account=account, points=points, order=order, reason="points given back", actor=actor, kind=EntryKind.REVERSE
    )
    if entry is not None and reference:
        LedgerEntry.objects.filter(pk=entry.pk).update(reference=reference)
        entry.reference = reference
    return entry


def expire_due(*, now=None) -> int:
    """Expire what is left of lots past their date. Idempotent: an expired lot has nothing left."""
    now = now or timezone.now()
    expired = 0
    due = PointsLot.objects.filter(expires_at__lte=now, remaining__gt=0).values_list("pk", "account_id")
    for lot_id, account_id in list(due):
        with transaction.atomic():
            LoyaltyAccount.objects.select_for_update().filter(pk=account_id).first()
            lot = PointsLot.objects.select_for_update().filter(pk=lot_id, remaining__gt=0).first()
            if lot is None:
                continue
            points = lot.remaining
            PointsLot.objects.filter(pk=lot.pk).update(remaining=0)
            LoyaltyAccount.objects.filter(pk=account_id).update(balance=F("balance") - points)
            _entry(account_id, EntryKind.EXPIRE, -points, reason="points expired", at=None)
            expired += points
    return expired


@dataclass(frozen=True)
class BalanceDifference:
    account_id: int
    stored_balance: int
    ledger_balance: int
    stored_debt: int
    ledger_debt: int
    lots_remaining: int


def recompute_balances(*, fix: bool = False) -> list[BalanceDifference]:
    """Compare every account's balance and debt with its ledger (and its lots). There must be no difference."""
    sums = {
        row["account_id"]: row
        for row in LedgerEntry.objects.values("account_id").annotate(points=Sum("points"), debt=Sum("debt_change"))
    }
    lots = dict(
        PointsLot.objects.values("account_id").annotate(left=Sum("remaining")).values_list("account_id", "left")
    )
    differences = []
    for account_id, balance, debt in LoyaltyAccount.objects.values_list("pk", "balance", "debt").iterator():
        row = sums.get(account_id, {"points": 0, "debt": 0})
        ledger_balance, ledger_debt = row["points"] or 0, row["debt"] or 0
        remaining = lots.get(account_id) or 0
        if (balance, debt) != (ledger_balance, ledger_debt) or remaining != ledger_balance:
            differences.append(BalanceDifference(account_id, balance, ledger_balance, debt, ledger_debt, remaining))
            if fix:
                LoyaltyAccount.objects.filter(pk=account_id).update(balance=ledger_balance, debt=ledger_debt)
    return differences


def merge_accounts(*, survivor: Customer, merged: Customer) -> None:
    """Customers merge: the accounts become one, balances, debts, lots, entries and cards added up."""
    with transaction.atomic():
        accounts = list(
            LoyaltyAccount.objects.select_for_update().filter(customer__in=[survivor, merged]).order_by("pk")
        )
        mine = next((a for a in accounts if a.customer_id == survivor.pk), None)
        theirs = next((a for a in accounts if a.customer_id == merged.pk), None)
        if theirs is None:
            return
        if mine is None:
            LoyaltyAccount.objects.filter(pk=theirs.pk).update(customer=survivor)
            return
        Card.objects.filter(account=theirs).update(account=mine)
        LedgerEntry.objects.filter(account=theirs).update(account=mine)
        fold_lots(into=mine, source=theirs)
        LoyaltyAccount.objects.filter(pk=mine.pk).update(
            balance=F("balance") + theirs.balance,
            debt=F("debt") + theirs.debt,
            lifetime_points=F("lifetime_points") + theirs.lifetime_points,
            rolling_spend=F("rolling_spend") + theirs.rolling_spend,
        )
        LoyaltyAccount.objects.filter(pk=theirs.pk).delete()
        if theirs.balance:
            moves = [(mine.pk, theirs.balance, mine.balance + theirs.balance)]  # both rows are locked
            webhooks.publish("loyalty.balance_changed", lambda: balance_event_data(moves)[0])


def fold_lots(*, into: LoyaltyAccount, source: LoyaltyAccount) -> None:
    """Move `source`'s lots to `into`, adding the lots of a day both accounts hold."""
    mine = {lot.expires_at: lot for lot in PointsLot.objects.filter(account=into)}
    for lot in PointsLot.objects.filter(account=source):
        twin = mine.get(lot.expires_at)
        if twin is None:
            PointsLot.objects.filter(pk=lot.pk).update(account=into)
        else:
            PointsLot.objects.filter(pk=twin.pk).update(
                points=F("points") + lot.points, remaining=F("remaining") + lot.remaining
            )
            lot.delete()


def recompute_tiers(*, now=None) -> int:
    """Set each account's rolling spend and tier from the spend in the programme's window. Returns changes."""
    now = now or timezone.now()
    window_start = now - timedelta(days=programme().tier_window_days)
    spend = dict(
        LedgerEntry.objects.filter(created_at__gte=window_start)
        .values("account_id")
        .annotate(total=Sum("spend"))
        .values_list("account_id", "total")
    )
    tiers = list(Tier.objects.order_by("-min_spend"))
    changed = []
    for account in LoyaltyAccount.objects.only("pk", "tier_id", "rolling_spend").iterator():
        total = max(spend.get(account.pk) or Decimal("0"), Decimal("0"))
        tier = next((t for t in tiers if total >= t.min_spend), None)
        tier_id = tier.pk if tier is not None else None
        if account.tier_id != tier_id or account.rolling_spend != total:
            account.tier_id, account.rolling_spend = tier_id, total
            changed.append(account)
    LoyaltyAccount.objects.bulk_update(changed, ["tier", "rolling_spend"], batch_size=1000)
    return len(changed)
