"""What `customers` itself shows in the timeline: consents given and withdrawn, merges."""

from __future__ import annotations

from django.utils.translation import gettext as _

from customers.models import ConsentChange, CustomerMerge
from customers.registry import TimelineEntry, register_timeline_source


def consent_entries(customer_ids: list[int], limit: int) -> list[TimelineEntry]:
    changes = ConsentChange.objects.filter(customer_id__in=customer_ids).order_by("-changed_at", "-pk")[:limit]
    return [
        TimelineEntry(
            occurred_at=change.changed_at,
            kind="consent",
            channel=change.channel,
            title=(_("%(purpose)s given") if change.is_granted else _("%(purpose)s withdrawn"))
            % {"purpose": change.get_purpose_display()},
            summary=change.source,
            summary_shown=change.source_shown,
            source="customers",
        )
        for change in changes
    ]


def consent_count(customer_ids: list[int]) -> int:
    return ConsentChange.objects.filter(customer_id__in=customer_ids).count()


def merge_entries(customer_ids: list[int], limit: int) -> list[TimelineEntry]:
    merges = CustomerMerge.objects.filter(survivor_id__in=customer_ids).order_by("-merged_at", "-pk")[:limit]
    return [
        TimelineEntry(
            occurred_at=merge.merged_at,
            kind="merge",
            title=_("Customer #%(id)s merged into this one") % {"id": merge.merged_id},
            reference=str(merge.merged_id),
            source="customers",
        )
        for merge in merges
    ]


def merge_count(customer_ids: list[int]) -> int:
    return CustomerMerge.objects.filter(survivor_id__in=customer_ids).count()


def register() -> None:
    register_timeline_source("customers.consents", entries=consent_entries, count=consent_count)
    register_timeline_source("customers.merges", entries=merge_entries, count=merge_count)
