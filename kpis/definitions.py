"""The KPIs, each with the one-line definition shown beside it on the dashboard and in the API schema."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _


@dataclass(frozen=True)
class Kpi:
    key: str
    label: str | Promise
    definition: str | Promise
    kind: str  # money (2 places), count (integer), ratio (2 places), share (0..1, 4 places)


KPIS: tuple[Kpi, ...] = (
    Kpi(
        "revenue",
        _("Revenue"),
        _("Sum of order totals (after discounts, incl. the part paid with points); cancelled orders excluded."),
        "money",
    ),
    Kpi("orders", _("Orders"), _("Orders placed, cancelled ones excluded."), "count"),
    Kpi("average_receipt", _("Average receipt"), _("Revenue ÷ orders."), "money"),
    Kpi("units_per_receipt", _("Units per receipt"), _("Units sold ÷ orders."), "ratio"),
    Kpi(
        "visitors",
        _("Visitors"),
        _("Distinct customers, or else devices or sessions, with at least one touchpoint event."),
        "count",
    ),
    Kpi("sessions", _("Sessions"), _("Distinct session ids of the events, counted per day and channel."), "count"),
    Kpi(
        "conversion_rate",
        _("Conversion rate"),
        _(
            "Share of web and app sessions that ended in an order: each day's web and app orders, at most one per "
            "session of that day, ÷ web and app sessions."
        ),
        "share",
    ),
    Kpi(
        "identified_sales_share",
        _("Identified sales"),
        _("Share of orders of a customer known by an e-mail, phone, card or web account (a device alone is not)."),
        "share",
    ),
    Kpi(
        "omnichannel_customer_share",
        _("Omnichannel customers"),
        _("Share of the period's identified buyers who bought on two or more channels in the period."),
        "share",
    ),
    Kpi("click_and_collect_share", _("Click & collect"), _("Share of orders fulfilled as click & collect."), "share"),
    Kpi(
        "endless_aisle_revenue",
        _("Endless-aisle revenue"),
        _("Revenue of orders taken in a store for stock that store did not have."),
        "money",
    ),
    Kpi("return_rate", _("Return rate"), _("Units returned in the period ÷ units sold in the period."), "share"),
    Kpi("points_issued", _("Points issued"), _("Loyalty points earned (earn entries of the ledger)."), "count"),
    Kpi("points_redeemed", _("Points redeemed"), _("Loyalty points spent (redeem entries of the ledger)."), "count"),
    Kpi(
        "social_engagement",
        _("Social engagement"),
        _("Likes + shares + comments + mentions on every network (not split by channel or store)."),
        "count",
    ),
)

BY_KEY = {kpi.key: kpi for kpi in KPIS}
