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

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q, Sum, Value
from django.db.models.functions import Greatest
from django.utils import timezone

from customers import services as customer_services
from customers.models import Customer, IdentifierKind
from loyalty import reasons
from loyalty.models import Card, EntryKind, LedgerEntry, LoyaltyAccount, PointsLot, Programme, Tier
from loyalty.pricing import programme
from omni import bulk, statements, webhooks
from omni import rows as db_rows
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
    """The customer's account, created on first need (one per customer, race-safe).

    A new account is one INSERT that gives way to one opened meanwhile by a
    concurrent request (ON CONFLICT DO NOTHING), then read: no savepoint.
    """
    account = _account_of(customer.pk)
    if account is not None:
        return account
    account = LoyaltyAccount(customer=customer, created_at=timezone.now())  # the model's defaults, written below
    ops = connection.ops
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {LoyaltyAccount._meta.db_table} "
            "(customer_id, balance, debt, lifetime_points, rolling_spend, created_at) "
            "VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (customer_id) DO NOTHING RETURNING id",
            [
                customer.pk,
                account.balance,
                account.debt,
                account.lifetime_points,
                ops.adapt_decimalfield_value(account.rolling_spend, 12, 2),
                ops.adapt_datetimefield_value(account.created_at),
            ],
        )
        row = cursor.fetchone()
    if row is None:  # opened by a concurrent request, committed meanwhile
        opened = _account_of(customer.pk)
        if opened is None:  # pragma: no cover - the conflicting row is committed, so it is there
            raise LoyaltyAccount.DoesNotExist()
        return opened
    account.pk = row[0]
    account._state.adding, account._state.db = False, connection.alias
    return account


def _account_sql() -> str:
    quote = connection.ops.quote_name
    accounts, tiers = LoyaltyAccount._meta, Tier._meta
    return (
        f"SELECT {db_rows.columns(LoyaltyAccount, 'a')}, {db_rows.columns(Tier, 't')} "
        f"FROM {quote(accounts.db_table)} a LEFT JOIN {quote(tiers.db_table)} t "
        f"ON t.{quote(tiers.pk.column)} = a.{quote(accounts.get_field('tier').column)} "
        f"WHERE a.{quote(accounts.get_field('customer').column)} = %s"
    )


def _account_of(customer_id: int) -> LoyaltyAccount | None:
    """The customer's account with its tier (the order reads `account.tier`), in one plain SELECT; None if none."""
    with connection.cursor() as cursor:
        cursor.execute(_account_sql(), [customer_id])
        row = cursor.fetchone()
    if row is None:
        return None
    split = db_rows.width(LoyaltyAccount)
    account = db_rows.builder(LoyaltyAccount)(row[:split])
    account.tier = db_rows.builder(Tier)(row[split:]) if account.tier_id is not None else None
    return account


def add_card(*, account: LoyaltyAccount, number: str) -> Card:
    """Attach a card to the account; the same card again is a no-op, another account's is CardTaken.

    The card number's home is the Card; the customer's `card` identifier follows it (`_issue_card`).
    """
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
            return _issue_card(account, number)
    except IntegrityError:
        existing = Card.objects.get(number=number)
        if existing.account_id != account.pk:
            raise CardTaken()
        return existing


def replace_card(*, account: LoyaltyAccount, lost: str, new: str) -> Card:
    """A lost card stops working; the new one carries the same account and balance.

    The customer's `card` identifier moves from the lost number to the new
    one in the same transaction: the lost card identifies nobody any more.
    """
    new = new.strip()
    with transaction.atomic():
        updated = Card.objects.filter(account=account, number=lost, is_active=True).update(is_active=False)
        if not updated:
            raise Invalid("No active card with this number on the account.", {"lost": ["Not an active card here."]})
        if Card.objects.filter(number=new).exclude(account=account).exists():
            raise CardTaken()
        card = Card.objects.filter(account=account, number=new).first()
        return _issue_card(account, new, replaces=lost, card=card)


def _issue_card(account: LoyaltyAccount, number: str, *, replaces: str = "", card: Card | None = None) -> Card:
    """The one write path of a card number: the card, and the customer's identifier following it."""
    if card is None:
        card = Card.objects.create(account=account, number=number)
    try:
        customer_services.follow_identifier(
            customer_id=account.customer_id, kind=IdentifierKind.CARD, value=number, replaces=replaces
        )
    except Conflict as error:
        raise CardTaken() from error
    return card


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
    _publish_balance(account_id, points, balance_after)
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


# --- The rules of a movement, shared by the one-row services and their bulk forms ---------------------------------


def settle_earning(*, debt: int, points: int, kind: str = EntryKind.EARN) -> tuple[int, int, int]:
    """(points credited to the balance, debt paid off, points added to the lifetime) when `points` come in.

    Debt from earlier reversals is paid off first; only earnings (not
    adjustments or points given back) count in the lifetime points.
    """
    paid_off = min(debt, points)
    return points - paid_off, paid_off, lifetime_points_of(points=points, kind=kind)


def settle_earning_sql(*, debt: str, points: str) -> tuple[str, str]:
    """`settle_earning` in SQL over the SQL expressions `debt` and `points`: (credit, paid off), any engine.

    The form the one-statement earning computes in the database, under the
    account's lock; a property test holds it to the Python form above. The
    lifetime part depends on the kind alone: `lifetime_points_of`.
    """
    paid_off = f"(CASE WHEN {debt} < {points} THEN {debt} ELSE {points} END)"
    return f"({points} - {paid_off})", paid_off


def lifetime_points_of(*, points: int, kind: str) -> int:
    """The points a movement adds to the account's lifetime: earnings only, not adjustments or points given back."""
    return points if kind == EntryKind.EARN else 0


def settle_reversal(*, balance: int, points: int) -> tuple[int, int]:
    """(points taken from the balance, points owed as debt) when `points` earned are taken back."""
    from_balance = min(balance, points)
    return from_balance, points - from_balance


def lot_expiry(earned_at, settings: Programme):
    """When points earned at `earned_at` lapse: the end of the Rome day, the programme's validity later."""
    return end_of_day(earned_at + timedelta(days=settings.points_valid_days))


def take_from_lots(lots: Iterable[Any], points: int) -> list[tuple[Any, int]]:
    """(lot, points taken) for `points` spent from `lots`, given soonest expiry first: the oldest go first."""
    taken = []
    for lot in lots:
        if points <= 0:
            break
        used = min(lot.remaining, points)
        if used:
            taken.append((lot, used))
            points -= used
    return taken


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
        for lot, used in take_from_lots(batch, left):
            PointsLot.objects.filter(pk=lot.pk).update(remaining=F("remaining") - used)
            left -= used


@dataclass(frozen=True)
class Earning:
    """An earn not yet run: its SQL pieces (`omni.statements`), and the entry they write.

    `earn` runs the pieces alone. A caller with a chained statement of its own
    (an order's `write_placed`) runs them at the head of its chain, asks for
    the rows of `results` in that order (the account and its lot locked
    before anything its own pieces lock, as omni/concurrency.py orders them)
    and hands the rows of `ENTRY` to `written`.
    """

    account_id: int
    pieces: list[statements.Piece]
    fields: _EntryFields
    ENTRY = "entry"
    results = ("entry", "lot")

    def written(self, rows: Sequence[Sequence[Any]]) -> LedgerEntry:
        """The ledger entry the pieces wrote (its balance change published); no row: there is no such account."""
        if not rows:
            raise LoyaltyAccount.DoesNotExist(f"No loyalty account {self.account_id}.")
        return _entry_written(rows[0], self.fields)


def earning(
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
) -> Earning | None:
    """The earn of `points` (see `earn`) as pieces to run, or None when there is nothing to write."""
    if points <= 0 and spend <= 0:
        return None
    points = max(points, 0)
    at = at or timezone.now()
    expires_at = lot_expiry(at, settings or programme()) if points else None
    fields = _EntryFields(kind=kind, order=order, channel=channel, reason=reason, actor=actor, at=at, spend=spend)
    return Earning(account.pk, _earning(account.pk, points, fields=fields, expires_at=expires_at), fields)


def earn(**terms: Any) -> LedgerEntry | None:
    """Add points (earned or adjusted up), with the arguments of `earning`. Debt from earlier reversals is paid
    off first.

    `spend` is the amount paid behind the points: tiers are computed from it.
    `settings` is the programme if the caller has already read it (an order has).

    One statement on PostgreSQL (`_earning`): the account locked and settled
    (`settle_earning_sql`), its balance moved, the ledger entry and the day's lot.
    """
    chosen = earning(**terms)
    if chosen is None:
        return None
    # Inside a caller's transaction a savepoint would buy nothing: any failure here aborts the caller too.
    with transaction.atomic(savepoint=False):
        return chosen.written(statements.run(chosen.pieces, result=Earning.ENTRY))


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
    The guarded balance update and the ledger entry are one statement on
    PostgreSQL (`_redeeming`); the lots are spent after it.
    """
    if points <= 0:
        raise Invalid("Points to redeem must be positive.", {"points": ["Must be at least 1."]})
    fields = _EntryFields(kind=kind, order=order, channel=channel, reason=reason, actor=actor, at=at or timezone.now())
    with transaction.atomic():
        rows = statements.run(_redeeming(account.pk, points, fields=fields), result="entry")
        if not rows:
            raise InsufficientPoints(f"The balance is lower than {points} points.")
        _consume_lots(account.pk, points)
        return _entry_written(rows[0], fields)


# --- The SQL pieces of one movement (omni.statements chains them) -----------------------------------------------

_ACCOUNT = LoyaltyAccount._meta.db_table
_LEDGER = LedgerEntry._meta.db_table
_LOT = PointsLot._meta.db_table
_ENTRY_COLUMNS = ("id", "account_id", "points", "debt_change", "balance_after")


@dataclass(frozen=True)
class _EntryFields:
    """What a ledger entry says beside its figures."""

    kind: str
    at: datetime
    actor: Actor = SYSTEM
    order: Any = None
    channel: str = ""
    reason: str = ""
    reference: str = ""
    spend: Decimal = Decimal("0")


def _earning(account_id: int, points: int, *, fields: _EntryFields, expires_at) -> list[statements.Piece]:
    """`earn` as SQL pieces: settle under the account's lock, move the balance, write the entry, grow the day's lot.

    `settled` locks the account row and reads its debt as it is now (a
    concurrent movement committed meanwhile included), so the settlement is
    computed in the database from the figures the update then changes.
    """
    credit, paid_off = settle_earning_sql(debt="held.debt", points="given.points")
    lock = " FOR UPDATE OF held" if connection.vendor == "postgresql" else ""  # SQLite: the writer's lock is the file's
    lifetime = lifetime_points_of(points=points, kind=fields.kind)
    return [
        statements.Piece(
            "settled",
            f"SELECT held.id, {credit}, {paid_off} FROM {_ACCOUNT} held, (SELECT CAST(%s AS integer) AS points) given "
            f"WHERE held.id = %s{lock}",
            [points, account_id],
            ("id", "credit", "paid_off"),
        ),
        statements.Piece(
            "moved",
            f"UPDATE {_ACCOUNT} SET balance = {_ACCOUNT}.balance + settled.credit, "
            f"debt = {_ACCOUNT}.debt - settled.paid_off, lifetime_points = {_ACCOUNT}.lifetime_points + %s "
            f"FROM settled WHERE {_ACCOUNT}.id = settled.id RETURNING {_ACCOUNT}.id, {_ACCOUNT}.balance",
            [lifetime],
            ("id", "balance"),
        ),
        _entry_piece(
            "moved.id, settled.credit, -settled.paid_off, moved.balance",
            "moved JOIN settled ON settled.id = moved.id",
            fields,
        ),
        _lot_piece(earned_at=fields.at, expires_at=expires_at),
    ]


def _redeeming(account_id: int, points: int, *, fields: _EntryFields) -> list[statements.Piece]:
    """`redeem` as SQL pieces: the guarded balance update (no row: the balance is short) and its entry."""
    return [
        statements.Piece(
            "spent",
            f"UPDATE {_ACCOUNT} SET balance = {_ACCOUNT}.balance - %s WHERE {_ACCOUNT}.id = %s "
            f"AND {_ACCOUNT}.balance >= %s RETURNING {_ACCOUNT}.id, {_ACCOUNT}.balance",
            [points, account_id, points],
            ("id", "balance"),
        ),
        _entry_piece("spent.id, CAST(%s AS integer), 0, spent.balance", "spent", fields, [-points]),
    ]


def _entry_piece(
    figures: str, source: str, fields: _EntryFields, figure_params: Sequence[Any] = ()
) -> statements.Piece:
    """The ledger entry of a movement, its figures (account, points, debt change, balance after) read from `source`."""
    ops = connection.ops
    user_id, api_client_id = bulk.attribution(fields.actor)
    return statements.Piece(
        "entry",
        f"INSERT INTO {_LEDGER} (account_id, points, debt_change, balance_after, kind, spend, order_id, reference, "
        f"channel, reason, user_id, api_client_id, created_at) "
        f"SELECT {figures}, %s, %s, %s, %s, %s, %s, %s, %s, %s FROM {source} "
        f"RETURNING {', '.join(_ENTRY_COLUMNS)}",
        [
            *figure_params,
            fields.kind,
            ops.adapt_decimalfield_value(fields.spend, 12, 2),
            fields.order.pk if fields.order is not None else None,
            fields.reference,
            fields.channel,
            fields.reason,
            user_id,
            api_client_id,
            ops.adapt_datetimefield_value(fields.at),
        ],
        _ENTRY_COLUMNS,
    )


def _lot_piece(*, earned_at, expires_at) -> statements.Piece:
    """The entry's credit into the lot of its expiry day: opened by it, or grown (one lot per account and day)."""
    ops = connection.ops
    return statements.Piece(
        "lot",
        f"INSERT INTO {_LOT} (account_id, entry_id, points, remaining, earned_at, expires_at) "
        f"SELECT entry.account_id, entry.id, entry.points, entry.points, %s, %s FROM entry WHERE entry.points > 0 "
        f"ON CONFLICT (account_id, expires_at) DO UPDATE SET points = {_LOT}.points + excluded.points, "
        f"remaining = {_LOT}.remaining + excluded.remaining RETURNING id",
        [ops.adapt_datetimefield_value(earned_at), ops.adapt_datetimefield_value(expires_at)],
        ("id",),  # read by a chain that must lock the lot before its own rows (Earning.results)
    )


def _entry_written(row: Sequence[Any], fields: _EntryFields) -> LedgerEntry:
    """The entry a chain wrote, as a model (nothing read back), its balance change published."""
    pk, account_id, points, debt_change, balance_after = row
    entry = LedgerEntry(
        pk=pk,
        account_id=account_id,
        kind=fields.kind,
        points=points,
        debt_change=debt_change,
        balance_after=balance_after,
        spend=fields.spend,
        order=fields.order,
        reference=fields.reference,
        channel=fields.channel,
        reason=fields.reason,
        user=fields.actor.user,
        api_client=fields.actor.api_client,
        created_at=fields.at,
    )
    entry._state.adding, entry._state.db = False, connection.alias
    _publish_balance(account_id, points, balance_after)
    return entry


def _publish_balance(account_id: int, change: int, balance: int) -> None:
    """loyalty.balance_changed for one movement, when it changed the balance."""
    if change:
        moves = [(account_id, change, balance)]
        webhooks.publish("loyalty.balance_changed", lambda: balance_event_data(moves)[0])


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
        from_balance, owed = settle_reversal(balance=locked.balance, points=points)
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
        account=account,
        points=points,
        order=order,
        reason=reasons.POINTS_GIVEN_BACK,
        actor=actor,
        kind=EntryKind.REVERSE,
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
            _entry(account_id, EntryKind.EXPIRE, -points, reason=reasons.POINTS_EXPIRED, at=None)
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


# --- Many accounts at once ---------------------------------------------------------------------------------------


def open_accounts(
    *, customer_ids: Iterable[int], create: bool = True, lock: bool = False, fresh: Iterable[int] = ()
) -> dict[int, LoyaltyAccount]:
    """The bulk form of `open_account`: customer id -> account (with its tier), the missing ones made first.

    With `lock` the accounts are locked in primary-key order (a caller about
    to move their points). Without `create` a customer with no account is
    left out (a dry run writes nothing). `fresh`: customers the caller created
    in its own transaction (an import): nobody else can see them yet, so they
    have no account and none can be opened meanwhile; theirs are written in
    one COPY, without looking or locking.
    """
    new = sorted(set(fresh)) if create else []
    accounts: dict[int, LoyaltyAccount] = {}
    if new:
        now = timezone.now()
        ids = bulk.insert_rows(
            LoyaltyAccount,
            ("customer_id", "balance", "debt", "lifetime_points", "rolling_spend", "created_at"),
            [(pk, 0, 0, 0, Decimal("0"), now) for pk in new],
            ids=True,
        )
        for customer_id, pk in zip(new, ids, strict=True):
            accounts[customer_id] = LoyaltyAccount(
                pk=pk, customer_id=customer_id, balance=0, debt=0, lifetime_points=0, created_at=now
            )
    ids = sorted(set(customer_ids) - set(new))
    if create and ids:
        missing = set(ids)
        for part in bulk.chunks(ids):
            missing -= set(LoyaltyAccount.objects.filter(customer_id__in=part).values_list("customer_id", flat=True))
        LoyaltyAccount.objects.bulk_create(
            [LoyaltyAccount(customer_id=pk) for pk in sorted(missing)], ignore_conflicts=True, batch_size=1000
        )
    for part in bulk.chunks(ids):
        query = LoyaltyAccount.objects.filter(customer_id__in=part).select_related("tier").order_by("pk")
        if lock:
            query = query.select_for_update(of=("self",))
        accounts.update({account.customer_id: account for account in query})
    return accounts


@dataclass(frozen=True)
class PointsMove:
    """One movement of points for the bulk services: ids and amounts only.

    `kind` says which one-row service it is the bulk form of: EARN (`earn`),
    REDEEM (`redeem`) or REVERSE (`reverse`); OPENING is the balance an
    account brings from another system (`open_balances`): points credited
    into a lot lapsing at `expires_at`, or, negative, taken back as a
    redemption is. `at` dates the entry (now when not given); `spend` is the
    amount paid behind an earning or refunded behind a reversal.
    """

    account_id: int
    kind: str
    points: int
    at: datetime | None = None
    spend: Decimal = Decimal("0")
    order_id: int | None = None
    channel: str = ""
    reason: str = ""
    reference: str = ""
    expires_at: datetime | None = None  # OPENING only: when its points lapse (else the programme's rule)


@dataclass
class _Lot:
    """A lot as the bulk services follow it: read (with its id) or opened by the batch (entry to be known)."""

    account_id: int
    expires_at: datetime
    points: int
    remaining: int
    pk: int | None = None
    earned_at: datetime | None = None
    entry: int | None = None  # index of the move that opened it
    changed: bool = False


def earn_many(moves: Sequence[PointsMove], *, actor: Actor = SYSTEM, settings: Programme | None = None) -> list:
    """`earn` for many accounts at once (each move's kind must be EARN); see `move_points_many`."""
    return move_points_many([_of_kind(m, EntryKind.EARN) for m in moves], actor=actor, settings=settings)


def redeem_many(moves: Sequence[PointsMove], *, actor: Actor = SYSTEM) -> list:
    """`redeem` for many accounts at once; InsufficientPoints (nothing written) if one balance is short."""
    return move_points_many([_of_kind(m, EntryKind.REDEEM) for m in moves], actor=actor)


def reverse_many(moves: Sequence[PointsMove], *, actor: Actor = SYSTEM) -> list:
    """`reverse` for many accounts at once; see `move_points_many`."""
    return move_points_many([_of_kind(m, EntryKind.REVERSE) for m in moves], actor=actor)


def _of_kind(move: PointsMove, kind: str) -> PointsMove:
    if move.kind != kind:
        raise ValueError(f"a {move.kind} move given to the bulk form of {kind}")
    return move


def move_points_many(
    moves: Sequence[PointsMove], *, actor: Actor = SYSTEM, settings: Programme | None = None
) -> list[int | None]:
    """Earn, redeem and reverse points for many accounts, in the order given, as sets of rows.

    The same as calling `earn`, `redeem` and `reverse` move by move (the same
    entries, lots and balances, through the same rules: `settle_earning`,
    `settle_reversal`, `lot_expiry`, `take_from_lots`), but written with one
    set-based statement per table: the ledger entries, the lots grown, the
    lots opened, the accounts. Returns the id of each move's entry (None for
    a move that writes nothing, as `earn` returns None).

    One transaction (the caller's, when there is one). Locks the accounts,
    then their lots, in primary-key order. Raises InsufficientPoints (nothing written) when a
    redemption finds its balance short at its turn, Invalid for a
    redemption of no points.
    """
    if not moves:
        return []
    with transaction.atomic():
        return _move_points(moves, actor=actor, settings=settings or programme())


def _move_points(moves: Sequence[PointsMove], *, actor: Actor, settings: Programme) -> list[int | None]:
    now = timezone.now()
    ids = sorted({m.account_id for m in moves})
    state: dict[int, list[int]] = {}  # account -> [balance, debt, lifetime]
    for part in bulk.chunks(ids):
        for pk, balance, debt, lifetime in (
            LoyaltyAccount.objects.select_for_update()
            .filter(pk__in=part)
            .order_by("pk")
            .values_list("pk", "balance", "debt", "lifetime_points")
        ):
            state[pk] = [balance, debt, lifetime]
    missing = set(ids) - set(state)
    if missing:
        raise Invalid("No such loyalty account.", {"account": [f"Unknown account(s): {sorted(missing)}."]})

    days = {_expiry_of(m, now, settings) for m in moves if m.kind in (EntryKind.EARN, EntryKind.OPENING)}
    lots: dict[int, list[_Lot]] = {pk: [] for pk in ids}
    by_day: dict[tuple[int, datetime], _Lot] = {}
    for part in bulk.chunks(ids):
        for pk, account_id, expires_at, points, remaining in (
            PointsLot.objects.select_for_update()
            .filter(Q(remaining__gt=0) | Q(expires_at__in=days), account_id__in=part)
            .order_by("pk")
            .values_list("pk", "account_id", "expires_at", "points", "remaining")
        ):
            lot = _Lot(account_id, expires_at, points, remaining, pk=pk)
            lots[account_id].append(lot)
            by_day[(account_id, expires_at)] = lot

    entries: list[tuple[Any, ...]] = []
    entry_of: list[int | None] = []  # move index -> index in entries
    who = bulk.attribution(actor)
    for move in moves:
        figures = state[move.account_id]
        balance, debt, lifetime = figures
        at = move.at or now
        taken_back = move.kind == EntryKind.OPENING and move.points < 0  # a corrected opening balance
        if move.kind == EntryKind.REDEEM or taken_back:
            points = -move.points if taken_back else move.points
            if points <= 0:
                raise Invalid("Points to redeem must be positive.", {"points": ["Must be at least 1."]})
            if balance < points:
                raise InsufficientPoints(f"The balance is lower than {points} points.")
            change, debt_change, spend = -points, 0, move.spend
            _spend_lots(lots[move.account_id], points)
        elif move.kind == EntryKind.REVERSE:
            if move.points <= 0 and move.spend <= 0:
                entry_of.append(None)
                continue
            points = max(move.points, 0)
            from_balance, owed = settle_reversal(balance=balance, points=points)
            change, debt_change, spend = -from_balance, owed, -move.spend
            figures[2] = max(lifetime - points, 0)
            _spend_lots(lots[move.account_id], from_balance)
        else:
            if move.points <= 0 and move.spend <= 0:
                entry_of.append(None)
                continue
            credit, paid_off, earned = settle_earning(debt=debt, points=max(move.points, 0), kind=move.kind)
            change, debt_change, spend = credit, -paid_off, move.spend
            figures[2] = lifetime + earned
            if credit:
                expires_at = _expiry_of(move, now, settings)
                day = by_day.get((move.account_id, expires_at))
                if day is None:
                    day = by_day[(move.account_id, expires_at)] = _Lot(
                        move.account_id, expires_at, 0, 0, earned_at=at, entry=len(entries)
                    )
                    lots[move.account_id].append(day)
                day.points += credit
                day.remaining += credit
                day.changed = True
        figures[0] = balance + change
        figures[1] = debt + debt_change
        entry_of.append(len(entries))
        entries.append(
            (
                move.account_id,
                move.kind,
                change,
                debt_change,
                figures[0],
                spend,
                move.order_id,
                move.reference,
                move.channel,
                move.reason,
                *who,
                at,
            )
        )

    entry_ids = bulk.insert_rows(
        LedgerEntry,
        (
            "account_id",
            "kind",
            "points",
            "debt_change",
            "balance_after",
            "spend",
            "order_id",
            "reference",
            "channel",
            "reason",
            "user_id",
            "api_client_id",
            "created_at",
        ),
        entries,
        ids=True,
        restamp=True,
    )
    changes = [(entry[0], entry[2], entry[4]) for entry in entries if entry[2]]  # (account, change, balance)
    webhooks.publish_many("loyalty.balance_changed", lambda: balance_event_data(changes))

    every = [lot for account_lots in lots.values() for lot in account_lots if lot.changed]
    bulk.update_rows(
        PointsLot,
        ("points", "remaining"),
        [PointsLot(pk=lot.pk, points=lot.points, remaining=lot.remaining) for lot in every if lot.pk is not None],
    )
    bulk.insert_rows(
        PointsLot,
        ("account_id", "entry_id", "points", "remaining", "earned_at", "expires_at"),
        [
            (lot.account_id, entry_ids[lot.entry], lot.points, lot.remaining, lot.earned_at, lot.expires_at)
            for lot in every
            if lot.pk is None and lot.entry is not None
        ],
    )
    bulk.update_rows(
        LoyaltyAccount,
        ("balance", "debt", "lifetime_points"),
        [
            LoyaltyAccount(pk=pk, balance=balance, debt=debt, lifetime_points=lifetime)
            for pk, (balance, debt, lifetime) in sorted(state.items())
        ],
    )
    return [entry_ids[i] if i is not None else None for i in entry_of]


def _expiry_of(move: PointsMove, now: datetime, settings: Programme) -> datetime:
    """When the points a move credits lapse: an opening balance's own date, else the programme's rule."""
    if move.kind == EntryKind.OPENING and move.expires_at is not None:
        return end_of_day(move.expires_at)
    return lot_expiry(move.at or now, settings)


def _spend_lots(lots: list[_Lot], points: int) -> None:
    """Spend `points` from an account's lots as `_consume_lots` does: soonest expiry first, then the oldest lot."""
    if not points:
        return
    ordered = sorted(
        (lot for lot in lots if lot.remaining > 0),
        key=lambda lot: (lot.expires_at, lot.pk is None, lot.pk or 0),
    )
    taken = take_from_lots(ordered, points)
    if sum(used for _, used in taken) != points:  # the lots and the balance disagree: the ledger is wrong somewhere
        raise RuntimeError(f"account {lots[0].account_id if lots else '?'}: the lots hold fewer than {points} points")
    for lot, used in taken:
        lot.remaining -= used
        lot.changed = True


def issue_cards_many(*, cards: Sequence[tuple[int, int, str]]) -> int:
    """The bulk form of `add_card` for new numbers: (account id, customer id, number) triples, numbers free.

    The cards in one COPY, and the customers' `card` identifiers following
    them (`follow_identifiers_many`), as `_issue_card` does for one. Raises
    CardTaken, nothing written, when a number names another customer. Call
    inside the caller's transaction. Returns the cards issued.
    """
    if not cards:
        return 0
    now = timezone.now()
    bulk.insert_rows(
        Card, ("account_id", "number", "is_active", "issued_at"), [(a, n, True, now) for a, _c, n in cards]
    )
    try:
        customer_services.follow_identifiers_many(kind=IdentifierKind.CARD, pairs=[(c, n) for _a, c, n in cards])
    except Conflict as error:
        raise CardTaken() from error
    return len(cards)
