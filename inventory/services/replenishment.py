"""Pull replenishment: proposals from sales velocity, turned into transfers."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from inventory.available import annotate_available, units_available
from inventory.models import (
    MovementKind,
    ProposalKind,
    ProposalStatus,
    ReplenishmentProposal,
    StockLevel,
    StockMovement,
    Transfer,
)
from inventory.services.sourcing import distance_km
from inventory.services.transfers import request_transfer
from omni.actor import SYSTEM, Actor
from omni.catalog.models import LocationKind
from omni.errors import InvalidTransition

# --- Pull replenishment ----------------------------------------------------------------------------------------

VELOCITY_WEEKS = 4
MIN_COVER_DAYS = 7
TARGET_COVER_DAYS = 21


@dataclass(frozen=True)
class ReplenishmentRun:
    proposals: int
    replenish: int
    rebalance: int


def propose_replenishment(
    *,
    today: date | None = None,
    weeks: int = VELOCITY_WEEKS,
    min_cover_days: int = MIN_COVER_DAYS,
    target_cover_days: int = TARGET_COVER_DAYS,
) -> ReplenishmentRun:
    """Compute tonight's proposals from sales velocity; replaces the open proposals of earlier runs.

    Velocity is the store's `sale` movements over the last `weeks` weeks per
    day. A store whose available units cover fewer than `min_cover_days` days
    gets a proposal up to `target_cover_days` of cover: from the warehouse
    with the most available units (replenish), else from the store nearest
    to it that holds the SKU and sold none of it in the period (rebalance).
    Four queries whatever the size of the network; running it twice a day
    leaves the same open proposals.
    """
    today = today or timezone.localdate()
    since = timezone.make_aware(datetime.combine(today - timedelta(weeks=weeks), time.min))
    days = Decimal(weeks * 7)
    sold: dict[tuple[int, int], int] = {
        (row["location_id"], row["variant_id"]): -row["units"]
        for row in StockMovement.objects.filter(kind=MovementKind.SALE, created_at__gte=since)
        .values("location_id", "variant_id")
        .order_by()
        .annotate(units=Sum("on_hand_delta"))
    }
    variant_ids = {variant_id for _, variant_id in sold}
    rows = list(
        annotate_available(
            StockLevel.objects.filter(variant_id__in=variant_ids, location__is_active=True)
        ).select_related("location")
    )
    by_variant: dict[int, list[StockLevel]] = {}
    for row in rows:
        by_variant.setdefault(row.variant_id, []).append(row)

    proposals: list[ReplenishmentProposal] = []
    for variant_id, levels in by_variant.items():
        spare = {row.pk: units_available(row) for row in levels}  # what sources can still give tonight
        for row in levels:
            units = sold.get((row.location_id, variant_id), 0)
            if row.location.kind != LocationKind.STORE or units <= 0:
                continue
            per_day = Decimal(units) / days
            cover = Decimal(units_available(row)) / per_day
            if cover >= min_cover_days:
                continue
            need = math.ceil(per_day * target_cover_days) - units_available(row)
            warehouses = sorted(
                (r for r in levels if r.location.kind == LocationKind.WAREHOUSE and spare[r.pk] > 0),
                key=lambda r: (-spare[r.pk], r.location.code),
            )
            idle_stores = sorted(
                (
                    r
                    for r in levels
                    if r.location.kind == LocationKind.STORE
                    and r.pk != row.pk
                    and spare[r.pk] > 0
                    and sold.get((r.location_id, variant_id), 0) == 0
                ),
                key=lambda r: distance_km(
                    float(row.location.latitude),
                    float(row.location.longitude),
                    float(r.location.latitude),
                    float(r.location.longitude),
                ),
            )
            for source, kind in [(w, ProposalKind.REPLENISH) for w in warehouses] + [
                (s, ProposalKind.REBALANCE) for s in idle_stores
            ]:
                if need <= 0:
                    break
                quantity = min(need, spare[source.pk])
                spare[source.pk] -= quantity
                need -= quantity
                proposals.append(
                    ReplenishmentProposal(
                        kind=kind,
                        variant_id=variant_id,
                        from_location_id=source.location_id,
                        to_location_id=row.location_id,
                        quantity=quantity,
                        daily_sales=per_day.quantize(Decimal("0.01")),
                        cover_days=cover.quantize(Decimal("0.1")),
                        computed_on=today,
                    )
                )
    with transaction.atomic():
        ReplenishmentProposal.objects.filter(status=ProposalStatus.PROPOSED).delete()
        ReplenishmentProposal.objects.bulk_create(proposals, batch_size=1000)
    return ReplenishmentRun(
        proposals=len(proposals),
        replenish=sum(1 for p in proposals if p.kind == ProposalKind.REPLENISH),
        rebalance=sum(1 for p in proposals if p.kind == ProposalKind.REBALANCE),
    )


def accept_proposal(*, proposal: ReplenishmentProposal, actor: Actor = SYSTEM) -> Transfer:
    """Turn an open proposal into a requested transfer (its units are held at the source)."""
    with transaction.atomic():
        locked = (
            ReplenishmentProposal.objects.select_for_update()
            .select_related("variant", "from_location", "to_location")
            .get(pk=proposal.pk)
        )
        if locked.status != ProposalStatus.PROPOSED:
            raise InvalidTransition(f"The proposal is {locked.status}, not proposed.")
        transfer = request_transfer(
            from_location=locked.from_location,
            to_location=locked.to_location,
            variant=locked.variant,
            quantity=locked.quantity,
            reason=f"{locked.get_kind_display()} (cover {locked.cover_days} days)",
            actor=actor,
        )
        locked.status, locked.transfer = ProposalStatus.ACCEPTED, transfer
        locked.save(update_fields=["status", "transfer"])
    return transfer
