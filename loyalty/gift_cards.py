"""Gift cards: money sold on a card with a code, spendable on every channel by whoever holds the code.

The one home of their rules, written as store credit is: a balance row with
an insert-only ledger, changed only together with its entry; spending is one
conditional UPDATE (`balance >= amount`), so two channels cannot spend the
same euros and a balance never goes below zero. A refund goes back onto the
cards that paid, never past what each of them paid for the order.
"""

from __future__ import annotations

import secrets
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from loyalty import reasons
from loyalty.models import GiftCard, GiftCardEntry
from omni.actor import SYSTEM, Actor
from omni.errors import InsufficientGiftCardBalance, Invalid
from omni.money import in_cents, summed_cents, to_cents

# Letters and digits that cannot be read as one another (no 0/O, 1/I/L).
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16
MIN_AMOUNT = Decimal("5.00")
MAX_AMOUNT = Decimal("1000.00")

REASON_SOLD = reasons.SOLD
REASON_PAYMENT = reasons.PAYMENT


def normalise_code(code: str) -> str:
    """A code as stored: capitals, without the spaces and dashes it is printed with."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def printed(code: str) -> str:
    """The code in groups of four, as the receipt prints it."""
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def card_by_code(code: str) -> GiftCard | None:
    return GiftCard.objects.filter(code=normalise_code(code)).first() if code else None


def check_amount(amount: Decimal, field: str = "amount") -> Decimal:
    """The amount of a card to sell, in cents; raises Invalid outside MIN_AMOUNT..MAX_AMOUNT."""
    amount = to_cents(amount)
    if not MIN_AMOUNT <= amount <= MAX_AMOUNT:
        raise Invalid(
            f"A gift card is sold for an amount between {MIN_AMOUNT} and {MAX_AMOUNT}.",
            {field: [f"Between {MIN_AMOUNT} and {MAX_AMOUNT}."]},
        )
    return amount


def _entry(card: GiftCard, amount: Decimal, *, order, reference: str, reason: str, actor: Actor) -> GiftCardEntry:
    after = GiftCard.objects.filter(pk=card.pk).values_list("balance", flat=True).get()
    return GiftCardEntry.objects.create(
        card=card,
        amount=amount,
        balance_after=after,
        order=order,
        reference=reference,
        reason=reason,
        user=actor.user,
        api_client=actor.api_client,
    )


def issue(*, amount: Decimal, order=None, currency: str = "EUR", actor: Actor = SYSTEM) -> GiftCard:
    """A new card loaded with `amount` (its sale); the code is random and unique."""
    amount = check_amount(amount)
    with transaction.atomic():
        for _attempt in range(5):
            code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
            try:
                with transaction.atomic():
                    card = GiftCard.objects.create(
                        code=code, initial_amount=amount, balance=amount, currency=currency, order=order
                    )
                break
            except IntegrityError:  # pragma: no cover - 31^16 codes
                continue
        else:  # pragma: no cover
            raise IntegrityError("could not find a free gift card code")
        _entry(card, amount, order=order, reference=order.number if order else "", reason=REASON_SOLD, actor=actor)
    return card


def spend(*, card: GiftCard, amount: Decimal, order=None, actor: Actor = SYSTEM) -> GiftCardEntry:
    """Pay `amount` with the card. Raises InsufficientGiftCardBalance (nothing written) when the balance is lower."""
    amount = to_cents(amount)
    if amount <= 0:
        raise Invalid("A gift card payment must be positive.", {"amount": ["Must be more than zero."]})
    with transaction.atomic():
        taken = GiftCard.objects.filter(pk=card.pk, balance__gte=amount).update(
            # update() skips auto_now: the card says when it was last used (the API's `last_used_at`)
            balance=in_cents(F("balance") - amount),
            updated_at=timezone.now(),
        )
        if not taken:
            left = GiftCard.objects.filter(pk=card.pk).values_list("balance", flat=True).get()
            raise InsufficientGiftCardBalance(f"The gift card holds {left}, {amount} was asked for.", balance=str(left))
        return _entry(card, -amount, order=order, reference="", reason=REASON_PAYMENT, actor=actor)


def refund_order(*, order, amount: Decimal, reference: str, reason: str, actor: Actor = SYSTEM) -> Decimal:
    """Put up to `amount` back onto the cards that paid for `order`, each up to what it paid less what it got
    back already, in the order they paid; returns what was put back (the rest was paid by a card Omni
    does not hold). Locks the cards' rows in primary-key order."""
    amount = to_cents(amount)
    if amount <= 0:
        return Decimal("0.00")
    moved = (
        GiftCardEntry.objects.filter(order=order)
        .exclude(reason=REASON_SOLD)
        .values("card_id")
        .annotate(net=Sum("amount"))
        .order_by("card_id")
    )
    room = {row["card_id"]: -cents for row in moved if (cents := summed_cents(row["net"])) < 0}
    if not room:
        return Decimal("0.00")
    put_back = Decimal("0.00")
    with transaction.atomic():
        for card in GiftCard.objects.select_for_update().filter(pk__in=room).order_by("pk"):
            share = min(room[card.pk], amount - put_back)
            if share <= 0:
                break
            GiftCard.objects.filter(pk=card.pk).update(
                balance=in_cents(F("balance") + share), updated_at=timezone.now()
            )
            _entry(card, share, order=order, reference=reference, reason=reason, actor=actor)
            put_back += share
    return put_back


def differences() -> list[tuple[int, Decimal, Decimal]]:
    """(card id, stored, ledger) for every gift card whose balance differs from the sum of its entries."""
    sums = {
        card: summed_cents(total)
        for card, total in GiftCardEntry.objects.values("card_id").annotate(s=Sum("amount")).values_list("card_id", "s")
    }
    return [
        (pk, stored, sums.get(pk) or Decimal("0.00"))
        for pk, stored in GiftCard.objects.values_list("pk", "balance")
        if stored != (sums.get(pk) or Decimal("0.00"))
    ]
