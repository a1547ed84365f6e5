"""Transfers between locations: requested (held at the source), in transit, received."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from inventory.models import (
    MovementKind,
    StockLevel,
    Transfer,
    TransferStatus,
)
from inventory.services.stock import (
    REASON_MAX_LENGTH,
    _check_quantity,
    _movement,
    _record,
    _touch,
    receive,
    release,
    reserve,
)
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Location, Variant
from omni.errors import InsufficientStock, Invalid, InvalidTransition

# --- Transfers between locations -------------------------------------------------------------------------------


def request_transfer(
    *,
    from_location: Location,
    to_location: Location,
    variant: Variant,
    quantity: int,
    reason: str = "",
    actor: Actor = SYSTEM,
) -> Transfer:
    """Ask for units to move; they are held (reserved) at the source until shipped. Raises InsufficientStock."""
    quantity = _check_quantity(quantity)
    if from_location.pk == to_location.pk:
        raise Invalid("A transfer needs two locations.", {"to_location": ["Must differ from the source."]})
    with transaction.atomic():
        transfer = Transfer.objects.create(
            variant=variant,
            from_location=from_location,
            to_location=to_location,
            quantity=quantity,
            reason=reason[:REASON_MAX_LENGTH],
            user=actor.user,
            api_client=actor.api_client,
        )
        reserve(
            location=from_location,
            variant=variant,
            quantity=quantity,
            reason=f"transfer T{transfer.pk} to {to_location.code}",
            actor=actor,
        )
    return transfer


def _move_transfer(transfer: Transfer, source: str, target: str, **stamps: Any) -> None:
    changed = Transfer.objects.filter(pk=transfer.pk, status=source).update(status=target, **stamps)
    if not changed:
        current = Transfer.objects.filter(pk=transfer.pk).values_list("status", flat=True).first()
        raise InvalidTransition(f"Transfer T{transfer.pk} is {current}, not {source}.")
    transfer.status = target
    for name, value in stamps.items():
        setattr(transfer, name, value)


def ship_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """The held units leave the source (`transfer_out`): requested -> in transit."""
    with transaction.atomic():
        _move_transfer(transfer, TransferStatus.REQUESTED, TransferStatus.IN_TRANSIT, shipped_at=timezone.now())
        changed = StockLevel.objects.filter(
            location_id=transfer.from_location_id,
            variant_id=transfer.variant_id,
            reserved__gte=transfer.quantity,
            on_hand__gte=transfer.quantity,
        ).update(on_hand=F("on_hand") - transfer.quantity, reserved=F("reserved") - transfer.quantity, **_touch())
        if not changed:
            raise InsufficientStock(f"The units of transfer T{transfer.pk} are no longer at the source.")
        _record(
            _movement(
                level_or_ids=(transfer.from_location_id, transfer.variant_id),
                kind=MovementKind.TRANSFER_OUT,
                actor=actor,
                reason=f"transfer T{transfer.pk}",
                on_hand=-transfer.quantity,
                reserved=-transfer.quantity,
            )
        )
    return transfer


def receive_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """The units arrive (`transfer_in`): in transit -> received."""
    with transaction.atomic():
        _move_transfer(transfer, TransferStatus.IN_TRANSIT, TransferStatus.RECEIVED, received_at=timezone.now())
        receive(
            location=transfer.to_location,
            variant=transfer.variant,
            quantity=transfer.quantity,
            kind=MovementKind.TRANSFER_IN,
            reason=f"transfer T{transfer.pk}",
            actor=actor,
        )
    return transfer


def cancel_transfer(*, transfer: Transfer, actor: Actor = SYSTEM) -> Transfer:
    """A requested transfer is dropped; its held units are released at the source."""
    with transaction.atomic():
        _move_transfer(transfer, TransferStatus.REQUESTED, TransferStatus.CANCELLED)
        release(
            location=transfer.from_location,
            variant=transfer.variant,
            quantity=transfer.quantity,
            reason=f"transfer T{transfer.pk} cancelled",
            actor=actor,
        )
    return transfer
