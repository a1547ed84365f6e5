"""Store credit: a refund kept as money with the retailer, spendable on every channel.

Like points, a balance with an insert-only ledger, changed only together
with its entry; spending is one conditional UPDATE (`balance >= amount`), so
two channels cannot spend the same euros.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone

from customers.models import Customer
from loyalty import reasons
from loyalty.models import StoreCreditBalance, StoreCreditEntry
from omni.actor import SYSTEM, Actor
from omni.errors import InsufficientStoreCredit, Invalid
from omni.money import in_cents, summed_cents, to_cents


def balance_of(customer: Customer) -> StoreCreditBalance:
    """The customer's store credit row, created at zero on first need (race-safe)."""
    found = StoreCreditBalance.objects.filter(customer=customer).first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            return StoreCreditBalance.objects.create(customer=customer)
    except IntegrityError:
        return StoreCreditBalance.objects.get(customer=customer)


def _entry(row: StoreCreditBalance, amount: Decimal, *, order, reference: str, reason: str, actor: Actor):
    after = StoreCreditBalance.objects.filter(pk=row.pk).values_list("balance", flat=True).get()
    return StoreCreditEntry.objects.create(
        balance=row,
        amount=amount,
        balance_after=after,
        order=order,
        reference=reference,
        reason=reason,
        user=actor.user,
        api_client=actor.api_client,
    )


def issue(
    *, customer: Customer, amount: Decimal, reference: str = "", order=None, reason: str = "", actor: Actor = SYSTEM
) -> StoreCreditEntry:
    """Add store credit (a refund, or a cancelled order paid with credit)."""
    amount = to_cents(amount)
    if amount <= 0:
        raise Invalid("Store credit to issue must be positive.", {"amount": ["Must be more than zero."]})
    with transaction.atomic():
        row = balance_of(customer)
        StoreCreditBalance.objects.filter(pk=row.pk).update(
            balance=in_cents(F("balance") + amount), updated_at=timezone.now()
        )
        return _entry(row, amount, order=order, reference=reference, reason=reason, actor=actor)


def spend(*, customer: Customer, amount: Decimal, order=None, actor: Actor = SYSTEM) -> StoreCreditEntry:
    """Pay with store credit. Raises InsufficientStoreCredit (nothing written) when it is lower."""
    amount = to_cents(amount)
    if amount <= 0:
        raise Invalid("Store credit to spend must be positive.", {"amount": ["Must be more than zero."]})
    with transaction.atomic():
        row = balance_of(customer)
        taken = StoreCreditBalance.objects.filter(pk=row.pk, balance__gte=amount).update(
            balance=in_cents(F("balance") - amount), updated_at=timezone.now()
        )
        if not taken:
            raise InsufficientStoreCredit(f"The store credit is lower than {amount}.")
        return _entry(row, -amount, order=order, reference="", reason=reasons.PAYMENT, actor=actor)


def merge(*, survivor: Customer, merged: Customer) -> int:
    """Two customers become one: their store credit adds up."""
    rows = list(StoreCreditBalance.objects.select_for_update().filter(customer__in=[survivor, merged]).order_by("pk"))
    mine = next((r for r in rows if r.customer_id == survivor.pk), None)
    theirs = next((r for r in rows if r.customer_id == merged.pk), None)
    if theirs is None:
        return 0
    if mine is None:
        StoreCreditBalance.objects.filter(pk=theirs.pk).update(customer=survivor)
        return 1
    StoreCreditEntry.objects.filter(balance=theirs).update(balance=mine)
    StoreCreditBalance.objects.filter(pk=mine.pk).update(
        balance=in_cents(F("balance") + theirs.balance), updated_at=timezone.now()
    )
    StoreCreditBalance.objects.filter(pk=theirs.pk).delete()
    return 1


def differences() -> list[tuple[int, Decimal, Decimal]]:
    """(row id, stored, ledger) for every store credit balance that differs from its entries."""
    entries = StoreCreditEntry.objects.values("balance_id").annotate(s=Sum("amount")).values_list("balance_id", "s")
    sums = {balance: summed_cents(total) for balance, total in entries}
    return [
        (pk, stored, sums.get(pk) or Decimal("0.00"))
        for pk, stored in StoreCreditBalance.objects.values_list("pk", "balance")
        if stored != (sums.get(pk) or Decimal("0.00"))
    ]
