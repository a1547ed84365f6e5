"""The reasons the system writes into loyalty's ledgers (points, store credit, gift cards), as staff read them.

The ledgers are insert-only: an entry keeps the plain English its service
wrote ("points expired", "refund of return RMA0000064"), and the API gives it
as it is. Pages show it in the staff's language through `reason_shown`. A
reason typed by a person (a points adjustment) is shown as it was typed.

The words written here, and by the apps above that move points and money:
loyalty's services and moving-in (the constants below), orders when an order
is cancelled ("order cancelled"), returns when a return is received
("return <RMA>" on the points, "refund of return <RMA>" or "exchange" on the
money).
"""

from __future__ import annotations

import re

from django.utils.translation import gettext_lazy as _

POINTS_EXPIRED = "points expired"
POINTS_GIVEN_BACK = "points given back"
OPENING_BALANCE = "opening balance"
ORDER_CANCELLED = "order cancelled"
SOLD = "sold"
PAYMENT = "payment"
EXCHANGE = "exchange"

WORDS = {
    POINTS_EXPIRED: _("Points expired"),
    POINTS_GIVEN_BACK: _("Redeemed points given back"),
    OPENING_BALANCE: _("Opening balance"),
    ORDER_CANCELLED: _("Order cancelled"),
    SOLD: _("Sold"),
    PAYMENT: _("Payment"),
    EXCHANGE: _("Exchange"),
}

# Reasons that name a return by its RMA (returns numbers them RMA0000064).
ABOUT_A_RETURN = [
    (re.compile(r"refund of return (?P<rma>RMA\d+)"), _("Refund of return %(rma)s")),
    (re.compile(r"return (?P<rma>RMA\d+)"), _("Return %(rma)s")),
]


def reason_shown(reason: str) -> str:
    """A ledger entry's reason in the staff's language; anything else (typed by a person) as it is."""
    words = WORDS.get(reason)
    if words is not None:
        return str(words)
    for pattern, text in ABOUT_A_RETURN:
        found = pattern.fullmatch(reason)
        if found is not None:
            return str(text) % found.groupdict()
    return reason
