"""What the orders of every channel bring to the customer's single view.

Registered with `customers.registry` from `OrdersConfig.ready()`: the orders
in the timeline, the per-channel figures of the detail endpoint, the orders
panel on the customer's admin page, the orders in the personal-data export,
and what erasure does to orders (they stay for the books; the shipping
addresses are blanked). Orders follow a merge by the default re-pointing of
`Order.customer`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Max, Min, Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from customers.models import Customer
from customers.registry import (
    Cell,
    Panel,
    TimelineEntry,
    register_erase_hook,
    register_export_part,
    register_panel,
    register_summary,
    register_timeline_source,
)
from omni.money import format_moment, format_money
from omni.orders.models import Order

PANEL_ROWS = 20


def timeline_entries(customer_ids: list[int], limit: int) -> list[TimelineEntry]:
    orders = (
        Order.objects.filter(customer_id__in=customer_ids)
        .select_related("channel", "location")
        .order_by("-created_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            occurred_at=order.created_at,
            kind="order",
            channel=order.channel.code,
            title=_("Order %(number)s") % {"number": order.number},
            summary=f"{order.get_status_display()}, {order.get_fulfilment_type_display()}"
            + (_(" at %(store)s") % {"store": order.location.name} if order.location else ""),
            reference=order.number,
            amount=order.total,
            points=order.points_earned or None,
            source="orders",
            admin_url=reverse("admin:orders_order_change", args=[order.pk]),
        )
        for order in orders
    ]


def timeline_count(customer_ids: list[int]) -> int:
    return Order.objects.filter(customer_id__in=customer_ids).count()


def summary(customer: Customer) -> dict[str, Any]:
    """Order count and revenue per channel, the channels used, first and last order (one query)."""
    rows = list(
        Order.objects.filter(customer=customer)
        .values("channel__code")
        .annotate(orders=Count("pk"), revenue=Sum("total"), first=Min("created_at"), last=Max("created_at"))
        .order_by("channel__code")
    )
    return {
        "channels": [row["channel__code"] for row in rows],
        "first_seen": min((row["first"] for row in rows), default=None),
        "last_seen": max((row["last"] for row in rows), default=None),
        "order_count": sum(row["orders"] for row in rows),
        "revenue": sum((row["revenue"] or Decimal("0") for row in rows), Decimal("0")),
        "orders_by_channel": [
            {"channel": row["channel__code"], "orders": row["orders"], "revenue": row["revenue"] or Decimal("0")}
            for row in rows
        ],
    }


def panel(customer: Customer) -> Panel:
    orders = list(
        Order.objects.filter(customer=customer)
        .select_related("channel", "location")
        .order_by("-created_at", "-pk")[: PANEL_ROWS + 1]
    )
    rows = [
        [
            Cell(order.number, reverse("admin:orders_order_change", args=[order.pk])),
            Cell(format_moment(order.created_at)),
            Cell(str(order.channel)),
            Cell(order.location.name if order.location else ""),
            Cell(order.get_fulfilment_type_display()),
            Cell(order.get_status_display()),
            Cell(format_money(order.total, order.currency)),
        ]
        for order in orders[:PANEL_ROWS]
    ]
    more = ""
    if len(orders) > PANEL_ROWS:
        more = reverse("admin:orders_order_changelist") + f"?customer__id__exact={customer.pk}"
    return Panel(
        title=_("Orders (every channel)"),
        columns=[_("Number"), _("Date"), _("Channel"), _("Store"), _("Fulfilment"), _("Status"), _("Total")],
        rows=rows,
        more_url=more,
    )


def export(customer: Customer) -> list[dict[str, Any]]:
    orders = (
        Order.objects.filter(customer=customer)
        .select_related("channel", "location")
        .prefetch_related("lines__variant", "payments")
        .order_by("created_at", "pk")
    )
    return [
        {
            "number": order.number,
            "channel": order.channel.code,
            "location": order.location.code if order.location else None,
            "created_at": order.created_at.isoformat(),
            "status": order.status,
            "fulfilment": order.fulfilment_type,
            "shipping_address": order.shipping_address,
            "total": str(order.total),
            "currency": order.currency,
            "points_earned": order.points_earned,
            "points_redeemed": order.points_redeemed,
            "lines": [
                {"sku": line.variant.sku, "quantity": line.quantity, "line_total": str(line.line_total)}
                for line in order.lines.all()
            ],
            "payments": [{"tender": p.tender, "amount": str(p.amount)} for p in order.payments.all()],
        }
        for order in orders
    ]


def erase(*, customer: Customer) -> dict[str, int]:
    """Orders stay on the (now anonymous) customer for the books; their addresses go."""
    blanked = Order.objects.filter(customer=customer).update(shipping_address={})
    return {"addresses_blanked": blanked}


def register() -> None:
    register_timeline_source("orders", entries=timeline_entries, count=timeline_count)
    register_summary("orders", summary)
    register_panel("orders", panel)
    register_export_part("orders", export)
    register_erase_hook("orders", erase)
