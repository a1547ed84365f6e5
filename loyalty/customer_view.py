"""What loyalty brings to the customer's whole story (registered with `customers.registry`).

- merge: the two accounts become one (balances, debts, lots, entries, cards);
- a `card` identifier attached to a customer is their loyalty card;
- the detail endpoint's `loyalty: {card, balance, tier}`, a panel on the
  customer's admin page and the point movements in the timeline;
- the export lists cards and movements; erasure retires the cards (the
  ledger stays for the books).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.registry import (
    Cell,
    Panel,
    TimelineEntry,
    register_erase_hook,
    register_export_part,
    register_identifier_hook,
    register_import_part,
    register_merge_handler,
    register_panel,
    register_summary,
    register_timeline_source,
)
from loyalty import moving_in, services, store_credit
from loyalty.models import Card, LedgerEntry, LoyaltyAccount, StoreCreditBalance
from loyalty.reasons import reason_shown
from omni.money import format_moment

PANEL_ROWS = 10


def merge(*, survivor: Customer, merged: Customer) -> int:
    services.merge_accounts(survivor=survivor, merged=merged)
    return 1


def attach_card(*, customer: Customer, value: str) -> None:
    """A new card number given to identify (or with an order) becomes the customer's loyalty card."""
    account = services.open_account(customer=customer)
    services.add_card(account=account, number=value)


def summary(customer: Customer) -> dict[str, Any]:
    credit = StoreCreditBalance.objects.filter(customer=customer).values_list("balance", flat=True).first()
    account = LoyaltyAccount.objects.select_related("tier").filter(customer=customer).first()
    if account is None:
        return {"loyalty": None, "store_credit": credit if credit is not None else Decimal("0.00")}
    card = account.cards.filter(is_active=True).values_list("number", flat=True).first()
    return {
        "loyalty": {
            "card": card,
            "balance": account.balance,
            "tier": account.tier.code if account.tier else None,
            "tier_name": account.tier.name if account.tier else None,  # for the customer's page; the API has the code
            "lifetime_points": account.lifetime_points,
        },
        "store_credit": credit if credit is not None else Decimal("0.00"),
    }


def timeline_entries(customer_ids: list[int], limit: int) -> list[TimelineEntry]:
    entries = (
        LedgerEntry.objects.filter(account__customer_id__in=customer_ids)
        .select_related("order")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            occurred_at=entry.created_at,
            kind=f"points_{entry.kind}",
            channel=entry.channel,
            title=_("%(kind)s: %(points)+d points") % {"kind": entry.get_kind_display(), "points": entry.points},
            summary=entry.reason,
            summary_shown=reason_shown(entry.reason),
            reference=entry.order.number if entry.order else entry.reference,
            points=entry.points,
            source="loyalty",
        )
        for entry in entries
    ]


def timeline_count(customer_ids: list[int]) -> int:
    return LedgerEntry.objects.filter(account__customer_id__in=customer_ids).count()


def panel(customer: Customer) -> Panel | None:
    account = LoyaltyAccount.objects.select_related("tier").filter(customer=customer).first()
    if account is None:
        return None
    entries = list(account.entries.select_related("order").order_by("-created_at", "-pk")[:PANEL_ROWS])
    cards = ", ".join(account.cards.filter(is_active=True).values_list("number", flat=True)) or "-"
    return Panel(
        title=_("Loyalty: %(balance)s points, tier %(tier)s, cards %(cards)s")
        % {"balance": account.balance, "tier": account.tier or "-", "cards": cards},
        columns=[_("Date"), _("Movement"), _("Points"), _("Order")],
        rows=[
            [
                Cell(format_moment(e.created_at)),
                Cell(e.get_kind_display()),
                Cell(f"{e.points:+d}"),
                Cell(e.order.number if e.order else e.reference),
            ]
            for e in entries
        ],
        more_url=reverse("admin:loyalty_loyaltyaccount_change", args=[account.pk]),
    )


def export(customer: Customer) -> dict[str, Any] | None:
    account = LoyaltyAccount.objects.select_related("tier").filter(customer=customer).first()
    credit = StoreCreditBalance.objects.filter(customer=customer).first()
    if account is None and credit is None:
        return None
    return {
        "store_credit": None
        if credit is None
        else {
            "balance": str(credit.balance),
            "movements": [
                {"amount": str(e.amount), "reference": e.reference, "created_at": e.created_at.isoformat()}
                for e in credit.entries.order_by("created_at", "pk")
            ],
        },
        **(_account_export(account) if account is not None else {}),
    }


def _account_export(account: LoyaltyAccount) -> dict[str, Any]:
    return {
        "balance": account.balance,
        "debt": account.debt,
        "tier": account.tier.code if account.tier else None,
        "cards": [{"number": c.number, "active": c.is_active} for c in account.cards.all()],
        "movements": [
            {
                "kind": e.kind,
                "points": e.points,
                "order": e.order.number if e.order else None,
                "created_at": e.created_at.isoformat(),
            }
            for e in account.entries.select_related("order").order_by("created_at", "pk")
        ],
    }


@transaction.atomic
def erase(*, customer: Customer) -> dict[str, int]:
    """Cards are personal identifiers: retired and renumbered; balance and ledger stay for the books."""
    cards = list(Card.objects.filter(account__customer=customer))
    for card in cards:
        Card.objects.filter(pk=card.pk).update(number=f"erased-{card.pk}", is_active=False)
    return {"cards_retired": len(cards)}


def register() -> None:
    register_merge_handler("loyalty.LoyaltyAccount", merge)
    register_merge_handler("loyalty.StoreCreditBalance", store_credit.merge)
    register_identifier_hook("card", "loyalty", attach_card)
    register_summary("loyalty", summary)
    register_timeline_source("loyalty", entries=timeline_entries, count=timeline_count)
    register_panel("loyalty", panel)
    register_export_part("loyalty", export)
    register_erase_hook("loyalty", erase)
    register_import_part(moving_in.PART)
