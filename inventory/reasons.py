"""The reasons the system writes on stock movements, holds and transfers, as staff read them.

The stock ledger is insert-only: a movement keeps the plain English its
service wrote ("order OM261203-007827 collected", "transfer T12 to MI01"),
and the API and the exports give it as it is. Pages show it in the staff's
language through `reason_shown`; a reason typed by a person (a count, an
import, a transfer requested in the admin) is shown as it was typed.

Who writes what: the stock services themselves (the movement's kind when no
reason is given, "transfer T<id>", "hold #<id> expired", a replenishment's
"<kind> (cover <n> days)", the fulfilment when no order is named); the API
("click & collect hold", "cancelled") and the admin ("cancelled in the
admin", "count"); orders ("order <id>" on a sale, "order <number> cancelled",
"order <number> shipped" or "collected", and TILL_SHORTFALL_REASON with the
receipt); returns ("return <RMA>").
"""

from __future__ import annotations

import re

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from inventory.models import MovementKind, ProposalKind
from inventory.services.bulk import TILL_SHORTFALL_REASON
from inventory.services.sourcing import CARRY_OUT, CLICK_AND_COLLECT, SHIP_TO_HOME, SHIP_TO_STORE

WORDS = {
    "click & collect hold": _("click & collect hold"),
    "cancelled": _("hold cancelled"),
    "cancelled in the admin": _("cancelled in the admin"),
    CARRY_OUT: _("Carry out"),
    SHIP_TO_HOME: _("Ship to home"),
    CLICK_AND_COLLECT: _("Click & collect"),
    SHIP_TO_STORE: _("Ship to store"),
    **{kind.value: kind.label for kind in MovementKind},  # a movement written without a reason: its kind
}

# Reasons that name what they are about; each pattern matches the whole reason.
NAMING = [
    (re.compile(r"order (?P<order>\S+)"), _("order %(order)s")),
    (re.compile(r"order (?P<order>\S+) cancelled"), _("order %(order)s cancelled")),
    (re.compile(r"order (?P<order>\S+) shipped"), _("order %(order)s shipped")),
    (re.compile(r"order (?P<order>\S+) collected"), _("order %(order)s collected")),
    (
        re.compile(re.escape(TILL_SHORTFALL_REASON) + r": receipt (?P<receipt>.+)"),
        _("sold at the till beyond the stock on file: receipt %(receipt)s"),
    ),
    (re.compile(r"return (?P<rma>RMA\d+)"), _("return %(rma)s")),
    (re.compile(r"transfer (?P<transfer>T\d+)"), _("transfer %(transfer)s")),
    (re.compile(r"transfer (?P<transfer>T\d+) to (?P<location>\S+)"), _("transfer %(transfer)s to %(location)s")),
    (re.compile(r"transfer (?P<transfer>T\d+) cancelled"), _("transfer %(transfer)s cancelled")),
    (re.compile(r"hold #(?P<hold>\d+) expired"), _("hold #%(hold)s expired")),
]
COVER = re.compile(r"(?P<what>.+) \(cover (?P<days>[\d.]+) days\)")


def reason_shown(reason: str) -> str:
    """A stock reason in the staff's language; anything else (typed by a person) as it is."""
    words = WORDS.get(reason)
    if words is not None:
        return str(words)
    for pattern, text in NAMING:
        found = pattern.fullmatch(reason)
        if found is not None:
            return str(text) % found.groupdict()
    found = COVER.fullmatch(reason)
    if found is not None:  # an accepted replenishment proposal: its kind was written in the accepter's language
        what = _proposal_kind(found["what"])
        return str(_("%(what)s (cover %(days)s days)")) % {"what": what, "days": found["days"]}
    return reason


def _proposal_kind(written: str) -> str:
    for kind in ProposalKind:
        with translation.override("en"):
            english = str(kind.label)
        if written == english:
            return str(kind.label)
    return written
