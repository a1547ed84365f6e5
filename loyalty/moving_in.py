"""Loyalty's columns of the customer import (`customers.moving_in`): the card, the opening balance, the tier.

Registered with `customers.registry` as an import part. `check` finds the
bad rows before anything is written; `apply` writes, in the import's
transaction, through loyalty's bulk services: `open_accounts`,
`issue_cards_many` and `move_points_many` with one OPENING entry per
account, whose lot lapses at the end of `points_expire_on` (or as the
programme says when the file gives no date).

Re-running: the opening entries name the row's old id in their reference,
so a file given again finds its points there and writes nothing. A corrected
balance writes another OPENING entry with the difference, so an account's
opening entries always add up to the file's figure, but only while no other
movement happened on the account: once points were earned or spent in
Omni the row is refused, and the balance is corrected with an adjustment.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.moving_in import parse_date_value
from customers.normalise import normalise_token
from customers.registry import ImportPart
from loyalty import reasons, services
from loyalty.models import Card, EntryKind, LedgerEntry, LoyaltyAccount, Tier
from omni import bulk
from omni.errors import Invalid

COLUMNS = ("card", "points", "tier", "points_expire_on")
CARD_MAX = 64
REASON = reasons.OPENING_BALANCE


@dataclass(frozen=True)
class Opening:
    card: str
    points: int | None
    tier: Tier | None
    expires_on: date | None

    @property
    def expires_at(self) -> datetime | None:
        if self.expires_on is None:
            return None
        return datetime.combine(self.expires_on, time(12), tzinfo=timezone.get_current_timezone())


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _clean(data: Any, tiers: dict[str, Tier], today: date) -> tuple[Opening | None, dict[str, list[str]]]:
    errors: dict[str, list[str]] = {}
    if not isinstance(data, dict):
        return None, {"card": [_("The loyalty part of a row is an object.")]}
    card = _text(data.get("card"))
    if card:
        try:
            card = normalise_token(card, field="card")
        except Invalid as exc:
            errors["card"] = [exc.detail]
        if len(card) > CARD_MAX:
            errors["card"] = [_("At most %(count)d characters.") % {"count": CARD_MAX}]
    points: int | None = None
    raw = _text(data.get("points"))
    if raw:
        try:
            points = int(raw)
        except ValueError:
            errors["points"] = [_("%(value)r is not a whole number of points.") % {"value": raw}]
        else:
            if points < 0:
                errors["points"] = [_("A balance cannot be negative.")]
    tier = None
    code = _text(data.get("tier"))
    if code:
        tier = tiers.get(code.lower())
        if tier is None:
            errors["tier"] = [
                _("Unknown tier %(tier)r; the tiers are: %(known)s.")
                % {"tier": code, "known": ", ".join(sorted({t.code for t in tiers.values()})) or "-"}
            ]
    expires_on = None
    try:
        expires_on = parse_date_value(data.get("points_expire_on"))
    except ValueError:
        errors["points_expire_on"] = [_("A date (YYYY-MM-DD) is needed.")]
    else:
        if expires_on is not None and expires_on < today:
            errors["points_expire_on"] = [_("The points would have lapsed already.")]
    return Opening(card=card, points=points, tier=tier, expires_on=expires_on), errors


def _tiers() -> dict[str, Tier]:
    tiers: dict[str, Tier] = {}
    for tier in Tier.objects.all():
        tiers[tier.name.lower()] = tier
        tiers[tier.code.lower()] = tier
    return tiers


def _opened(account_ids: Sequence[int]) -> tuple[dict[tuple[int, str], int], set[int]]:
    """((account, old id) -> opening points so far, the accounts with any other movement)."""
    opened: dict[tuple[int, str], int] = {}
    active: set[int] = set()
    for part in bulk.chunks(sorted(set(account_ids))):
        for account_id, reference, points in (
            LedgerEntry.objects.filter(account_id__in=part, kind=EntryKind.OPENING)
            .values("account_id", "reference")
            .annotate(total=Sum("points"))
            .values_list("account_id", "reference", "total")
        ):
            opened[(account_id, reference)] = points or 0
        active.update(
            LedgerEntry.objects.filter(account_id__in=part)
            .exclude(kind=EntryKind.OPENING)
            .values_list("account_id", flat=True)
            .distinct()
        )
    return opened, active


def check(rows: list[tuple[int, str, Any, int | None, frozenset[int] | None]]) -> tuple[dict[int, dict], set[int]]:
    """The bad rows (a card held by another customer or given twice, a negative balance, an unknown tier, a
    balance to correct on an account with other movements) and the rows that change something."""
    tiers, today = _tiers(), timezone.localdate()
    errors: dict[int, dict[str, list[str]]] = {}
    cleaned: list[tuple[int, str, Opening, frozenset[int]]] = []
    for line, external_id, data, _customer, persons in rows:
        if data is None:
            continue
        opening, problems = _clean(data, tiers, today)
        if problems:
            errors[line] = problems
        if opening is not None and persons is not None:
            cleaned.append((line, external_id, opening, persons))

    numbers = sorted({opening.card for _l, _e, opening, _p in cleaned if opening.card})
    holders: dict[str, int] = {}
    for part in bulk.chunks(numbers):
        holders.update(Card.objects.filter(number__in=part).values_list("number", "account__customer_id"))
    every = sorted({pk for *_rest, persons in cleaned for pk in persons})
    accounts: dict[int, int] = {}
    for part in bulk.chunks(every):
        accounts.update(LoyaltyAccount.objects.filter(customer_id__in=part).values_list("customer_id", "pk"))
    opened, active = _opened(list(accounts.values()))

    first_line: dict[str, int] = {}
    changed: set[int] = set()
    for line, external_id, opening, persons in cleaned:
        problems = errors.setdefault(line, {})
        if opening.card:
            holder = holders.get(opening.card)
            if opening.card in first_line:
                problems.setdefault("card", []).append(
                    _("The same card is on line %(line)s.") % {"line": first_line[opening.card]}
                )
            elif holder is not None and holder not in persons:
                problems.setdefault("card", []).append(
                    _("This card belongs to another customer (#%(customer)s).") % {"customer": holder}
                )
            first_line.setdefault(opening.card, line)
            if holder is None:
                changed.add(line)
        ids = [accounts[pk] for pk in persons if pk in accounts]
        if opening.points is not None:
            delta = opening.points - sum(opened.get((pk, external_id), 0) for pk in ids)
            if delta:
                changed.add(line)
                if any(pk in active for pk in ids):
                    problems.setdefault("points", []).append(
                        _(
                            "Points were earned or spent in Omni since the opening balance was imported: "
                            "correct the balance with an adjustment."
                        )
                    )
        if opening.tier is not None:
            changed.add(line)
        if not problems:
            del errors[line]
    return errors, changed


def apply(rows: list[tuple[int, str, Any, int, bool]]) -> None:
    """Open the accounts, issue the new cards, set the tiers and write the opening entries: a few statements each."""
    tiers, today = _tiers(), timezone.localdate()
    openings = [
        (external_id, opening, customer)
        for _line, external_id, data, customer, _created in rows
        if (opening := _clean(data, tiers, today)[0]) is not None
    ]
    accounts = services.open_accounts(
        customer_ids=[customer for *_rest, customer in openings],
        fresh=[customer for *_rest, customer, created in rows if created],  # made by this import: no account yet
        lock=True,
    )

    numbers = sorted({opening.card for _e, opening, _c in openings if opening.card})
    issued: set[str] = set()
    for part in bulk.chunks(numbers):
        issued.update(Card.objects.filter(number__in=part).values_list("number", flat=True))
    services.issue_cards_many(
        cards=[
            (accounts[customer].pk, customer, opening.card)
            for _e, opening, customer in openings
            if opening.card and opening.card not in issued
        ]
    )
    retiered = {}
    for _e, opening, customer in openings:
        account = accounts[customer]
        if opening.tier is not None and account.tier_id != opening.tier.pk:
            account.tier = opening.tier
            retiered[account.pk] = account
    bulk.update_rows(LoyaltyAccount, ("tier",), list(retiered.values()))

    fresh = {customer for *_rest, customer, created in rows if created}  # their accounts have no entries yet
    opened, _active = _opened([account.pk for customer, account in accounts.items() if customer not in fresh])
    moves = []
    for external_id, opening, customer in openings:
        account = accounts[customer]
        first = (account.pk, external_id) not in opened
        # The tier holds for the programme's tier window, as if its threshold had been spent today.
        spend = opening.tier.min_spend if first and opening.tier is not None else Decimal("0")
        delta = (opening.points or 0) - opened.get((account.pk, external_id), 0)
        if delta or spend:
            moves.append(
                services.PointsMove(
                    account_id=account.pk,
                    kind=EntryKind.OPENING,
                    points=delta,
                    spend=spend,
                    reference=external_id,
                    reason=REASON,
                    expires_at=opening.expires_at,
                )
            )
    services.move_points_many(moves)


PART = ImportPart(name="loyalty", key="loyalty", columns=COLUMNS, check=check, apply=apply)
