"""The managers' home: one page that links the figures and lists managers work from.

The frame imports no app: each card names a URL and the permission that
opens it, and a card is shown only to users holding that permission.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Card:
    key: str
    title: Promise
    answers: Promise
    url_name: str
    permission: str


CARDS = [
    Card(
        "kpi-overview",
        _("Channels at a glance"),
        _("How much did we sell, to how many visitors, with what conversion, per channel and store?"),
        "kpis:overview",
        "kpis.view_dashboards",
    ),
    Card(
        "kpi-channels",
        _("Channels compared"),
        _("Which channel grows, which brings identified and omnichannel customers, click & collect and returns?"),
        "kpis:channels",
        "kpis.view_dashboards",
    ),
    Card(
        "kpi-stores",
        _("Stores and incentives"),
        _("Which stores started online sales, and how much is each credited?"),
        "kpis:stores",
        "kpis.view_dashboards",
    ),
    Card(
        "kpi-journeys",
        _("Customer journeys"),
        _("Through which touchpoints do customers go before they buy?"),
        "kpis:journeys",
        "kpis.view_dashboards",
    ),
    Card(
        "loyalty-parity",
        _("Same deal on every channel"),
        _("Where do prices, promotions and loyalty benefits differ between channels?"),
        "admin:loyalty_parity",
        "loyalty.view_programme",
    ),
    Card(
        "replenishment",
        _("Replenishment proposals"),
        _("Which store should get which item, from where, given what it sells?"),
        "admin:inventory_replenishmentproposal_changelist",
        "inventory.view_replenishmentproposal",
    ),
    Card(
        "segments",
        _("Customer segments"),
        _("Who are the customers of a segment, and who may we e-mail? Select one to export its members."),
        "admin:customers_segment_changelist",
        "customers.view_segment",
    ),
    Card(
        "returns-report",
        _("Returns report"),
        _("What is returned, on which channel, why, and where do online orders come back?"),
        "admin:returns_report",
        "returns.view_return",
    ),
]


def cards_for(user) -> list[dict]:
    """The cards this user may open, with their URLs; a page that is not installed is left out."""
    shown = []
    for card in CARDS:
        if not user.has_perm(card.permission):
            continue
        try:
            url = reverse(card.url_name)
        except NoReverseMatch:
            continue
        shown.append({"key": card.key, "title": card.title, "answers": card.answers, "url": url})
    return shown


@staff_member_required
def managers_home(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": _("Managers' home"),
        "cards": cards_for(request.user),
    }
    return render(request, "omni/managers_home.html", context)
