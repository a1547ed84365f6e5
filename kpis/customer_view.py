"""What kpis brings to the customer's whole story (registered with `customers.registry`).

- a `device` identifier attached to a customer gives them that device's
  anonymous events (one UPDATE, then the days concerned are recomputed);
- touchpoint events appear in the customer's timeline and export;
- erasure keeps the events for the figures but drops their device and properties.

On a merge `TouchpointEvent.customer` is re-pointed to the survivor like any
foreign key; the buyer and visitor rollups too, but through
`services.follow_merge`, which also forgets the distinct counts of the
periods they fall in (two buyers may have become one).
"""

from __future__ import annotations

from typing import Any

from customers.models import Customer
from customers.registry import (
    TimelineEntry,
    register_erase_hook,
    register_export_part,
    register_identifier_hook,
    register_merge_handler,
    register_timeline_source,
)
from kpis import services
from kpis.models import TouchpointEvent


def attach_device(*, customer: Customer, value: str) -> None:
    services.link_device(customer=customer, value=value)


def timeline_entries(customer_ids: list[int], limit: int) -> list[TimelineEntry]:
    events = (
        TouchpointEvent.objects.filter(customer_id__in=customer_ids)
        .select_related("channel", "location", "product")
        .order_by("-occurred_at", "-pk")[:limit]
    )
    return [
        TimelineEntry(
            occurred_at=e.occurred_at,
            kind=e.type,
            channel=e.channel.code,
            title=e.get_type_display(),
            summary=", ".join(
                part for part in (e.product.name if e.product else "", e.location.name if e.location else "") if part
            ),
            reference=e.event_id,
            source="kpis",
        )
        for e in events
    ]


def timeline_count(customer_ids: list[int]) -> int:
    return TouchpointEvent.objects.filter(customer_id__in=customer_ids).count()


def export(customer: Customer) -> list[dict[str, Any]] | None:
    events = (
        TouchpointEvent.objects.filter(customer=customer)
        .select_related("channel", "location")
        .order_by("occurred_at", "pk")
    )
    rows = [
        {
            "id": e.event_id,
            "type": e.type,
            "occurred_at": e.occurred_at.isoformat(),
            "channel": e.channel.code,
            "location": e.location.code if e.location else None,
            "session_id": e.session_id,
            "device_id": e.device_id,
            "properties": e.properties,
        }
        for e in events.iterator(chunk_size=2000)
    ]
    return rows or None


def erase(*, customer: Customer) -> dict[str, int]:
    return services.erase_events(customer=customer)


def register() -> None:
    register_identifier_hook("device", "kpis", attach_device)
    register_merge_handler("kpis.BuyerDay", services.follow_merge)
    register_merge_handler("kpis.VisitorDay", services.follow_merge)
    register_timeline_source("kpis", entries=timeline_entries, count=timeline_count)
    register_export_part("touchpoint_events", export)
    register_erase_hook("kpis", erase)
