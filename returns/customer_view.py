"""What returns bring to the customer's single view.

Registered with `customers.registry` from `ReturnsConfig.ready()`: returns in
the timeline (with the RMA, the money refunded and the points taken back),
the returns panel on the customer's admin page and the returns in the
personal-data export. Returns follow a merge by the default re-pointing of
`Return.customer`; erasure leaves them, like orders, for the books.
"""

from __future__ import annotations

from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.registry import (
    Cell,
    Panel,
    TimelineEntry,
    register_export_part,
    register_panel,
    register_timeline_source,
)
from omni.money import format_moment, format_money
from returns.models import Return

PANEL_ROWS = 20


def _summary(ret: Return) -> str:
    if ret.location:
        text = _("%(status)s at %(where)s, order %(order)s") % {
            "status": ret.get_status_display(),
            "where": ret.location.name,
            "order": ret.order.number,
        }
    else:
        text = _("%(status)s, order %(order)s") % {"status": ret.get_status_display(), "order": ret.order.number}
    if ret.points_reversed:
        text += ", " + _("%(points)s points taken back") % {"points": ret.points_reversed}
    return text


def timeline_entries(customer_ids: list[int], limit: int) -> list[TimelineEntry]:
    rows = (
        Return.objects.filter(customer_id__in=customer_ids)
        .select_related("order", "order__channel", "location")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            occurred_at=ret.received_at or ret.created_at,
            kind="return",
            channel=ret.order.channel.code,
            title=_("Return %(rma)s") % {"rma": ret.rma},
            summary=_summary(ret),
            reference=ret.rma,
            amount=ret.refund_amount if ret.status == "received" else None,
            points=-ret.points_reversed if ret.points_reversed else None,
            source="returns",
            admin_url=reverse("admin:returns_return_change", args=[ret.pk]),
        )
        for ret in rows
    ]


def timeline_count(customer_ids: list[int]) -> int:
    return Return.objects.filter(customer_id__in=customer_ids).count()


def panel(customer: Customer) -> Panel:
    rows = list(
        Return.objects.filter(customer=customer)
        .select_related("order", "location")
        .order_by("-created_at", "-pk")[: PANEL_ROWS + 1]
    )
    more = ""
    if len(rows) > PANEL_ROWS:
        more = reverse("admin:returns_return_changelist") + f"?customer__id__exact={customer.pk}"
    return Panel(
        title=_("Returns"),
        columns=[
            _("RMA"),
            _("Opened"),
            _("Order"),
            _("Received at"),
            _("Status"),
            _("Refund"),
            _("Points taken back"),
        ],
        rows=[
            [
                Cell(ret.rma, reverse("admin:returns_return_change", args=[ret.pk])),
                Cell(format_moment(ret.created_at)),
                Cell(ret.order.number, reverse("admin:orders_order_change", args=[ret.order_id])),
                Cell(ret.location.name if ret.location else ""),
                Cell(ret.get_status_display()),
                Cell(format_money(ret.refund_amount)),
                Cell(str(ret.points_reversed)),
            ]
            for ret in rows[:PANEL_ROWS]
        ],
        more_url=more,
    )


def export(customer: Customer) -> list[dict[str, Any]]:
    rows = (
        Return.objects.filter(customer=customer)
        .select_related("order", "location")
        .prefetch_related("lines__variant", "lines__reason", "refunds")
        .order_by("created_at", "pk")
    )
    return [
        {
            "rma": ret.rma,
            "order": ret.order.number,
            "status": ret.status,
            "location": ret.location.code if ret.location else None,
            "created_at": ret.created_at.isoformat(),
            "received_at": ret.received_at.isoformat() if ret.received_at else None,
            "refund_amount": str(ret.refund_amount),
            "points_reversed": ret.points_reversed,
            "points_restored": ret.points_restored,
            "lines": [
                {
                    "sku": line.variant.sku,
                    "quantity": line.quantity,
                    "reason": line.reason.code,
                    "condition": line.condition,
                }
                for line in ret.lines.all()
            ],
            "refunds": [{"tender": r.tender, "amount": str(r.amount)} for r in ret.refunds.all()],
        }
        for ret in rows
    ]


def register() -> None:
    register_timeline_source("returns", entries=timeline_entries, count=timeline_count)
    register_panel("returns", panel)
    register_export_part("returns", export)
