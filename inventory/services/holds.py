"""Holds (reservations) for customers and orders, and their expiry."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from inventory.models import (
    Reservation,
    ReservationStatus,
)
from inventory.services.stock import (
    DEFAULT_HOLD_MINUTES,
    MAX_HOLD_MINUTES,
    REASON_MAX_LENGTH,
    _check_quantity,
    release,
    reserve,
    ship_reserved,
)
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Location, Variant
from omni.concurrency import retry_on_conflict
from omni.errors import Invalid, InvalidTransition, NotFound

# --- Holds for customers (click & collect) ---------------------------------------------------------------------


@retry_on_conflict
def hold(
    *,
    location: Location,
    variant: Variant,
    quantity: int,
    customer_id: int | None = None,
    order_id: int | None = None,
    hold_minutes: int | None = DEFAULT_HOLD_MINUTES,
    reason: str = "",
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> Reservation:
    """Reserve units and record the hold. `hold_minutes=None` (order holds) never expires.

    Raises InsufficientStock, NotFound (unknown customer), Invalid (hold_minutes out of range).
    """
    quantity = _check_quantity(quantity)
    if hold_minutes is not None and (
        isinstance(hold_minutes, bool) or not isinstance(hold_minutes, int) or not 1 <= hold_minutes <= MAX_HOLD_MINUTES
    ):
        raise Invalid(
            "hold_minutes is out of range.",
            {"hold_minutes": [f"Ensure this value is between 1 and {MAX_HOLD_MINUTES}."]},
        )
    now = now or timezone.now()
    with transaction.atomic():
        reservation = Reservation.objects.create(
            variant=variant,
            location=location,
            quantity=quantity,
            customer_id=customer_id,
            order_id=order_id,
            expires_at=None if hold_minutes is None else now + timedelta(minutes=hold_minutes),
            reason=reason[:REASON_MAX_LENGTH],
            user=actor.user,
            api_client=actor.api_client,
        )
        if customer_id is not None:
            _check_foreign_keys(f"No customer {customer_id}.")
        reserve(
            location=location,
            variant=variant,
            quantity=quantity,
            reason=reason or f"hold #{reservation.pk}",
            actor=actor,
        )
    return reservation


def _check_foreign_keys(message: str) -> None:
    """The hold just written points at rows that exist, or NotFound(message).

    The customer belongs to an app on the same floor, which inventory does not
    read: the database's own foreign key on the hold decides, checked now
    rather than at the commit (a savepoint keeps the caller's transaction
    usable on PostgreSQL, and the caller's rollback removes the hold).
    """
    try:
        with transaction.atomic():
            connection.check_constraints(table_names=[Reservation._meta.db_table])
    except IntegrityError:
        raise NotFound(message) from None


def _close_hold(reservation: Reservation, status: str, now: datetime, *, lapsed_too: bool = True) -> bool:
    """Move an active hold to `status`, once: True for the one caller that did it.

    With `lapsed_too=False` a hold past its expiry is not moved: it holds nothing any more.
    """
    still = Q() if lapsed_too else Q(expires_at__isnull=True) | Q(expires_at__gt=now)
    changed = Reservation.objects.filter(still, pk=reservation.pk, status=ReservationStatus.ACTIVE).update(
        status=status, closed_at=now
    )
    if changed:
        reservation.status, reservation.closed_at = status, now
    return bool(changed)


@retry_on_conflict
def cancel_hold(*, reservation: Reservation, reason: str = "", actor: Actor = SYSTEM) -> Reservation:
    """Release an active hold. A hold already released, collected or expired: InvalidTransition."""
    with transaction.atomic():
        if not _close_hold(reservation, ReservationStatus.RELEASED, timezone.now()):
            current = Reservation.objects.filter(pk=reservation.pk).values_list("status", flat=True).first()
            raise InvalidTransition(f"Reservation {reservation.pk} is {current}, not active.")
        release(
            location=reservation.location,
            variant=reservation.variant,
            quantity=reservation.quantity,
            reason=reason or f"hold #{reservation.pk} cancelled",
            actor=actor,
        )
    return reservation


@retry_on_conflict
def collect_hold(*, reservation: Reservation, reason: str = "", actor: Actor = SYSTEM) -> Reservation:
    """The held units are handed over or shipped: they leave stock and the hold is consumed.

    A hold past its expiry holds nothing: InvalidTransition, as for a hold no longer active.
    """
    with transaction.atomic():
        if not _close_hold(reservation, ReservationStatus.CONSUMED, timezone.now(), lapsed_too=False):
            current = Reservation.objects.filter(pk=reservation.pk).first()
            status = current.current_status if current is not None else None
            raise InvalidTransition(f"Reservation {reservation.pk} is {status}, not active.")
        ship_reserved(
            location=reservation.location,
            variant=reservation.variant,
            quantity=reservation.quantity,
            reason=reason or f"hold #{reservation.pk} collected",
            actor=actor,
        )
    return reservation


def release_expired_holds(now: datetime | None = None, *, limit: int = 10_000) -> int:
    """Release the active holds whose time has passed; returns how many this run released.

    Each hold is closed by a conditional update on its status in its own
    transaction, so two workers running at once release each hold once, and a
    second run finds nothing to do.
    """
    now = now or timezone.now()
    due = list(
        Reservation.objects.filter(status=ReservationStatus.ACTIVE, expires_at__lte=now)
        .select_related("variant", "location")
        .order_by("pk")[:limit]
    )
    released = 0
    for reservation in due:
        with transaction.atomic():
            if not _close_hold(reservation, ReservationStatus.EXPIRED, now):
                continue
            release(
                location=reservation.location,
                variant=reservation.variant,
                quantity=reservation.quantity,
                reason=f"hold #{reservation.pk} expired",
                actor=SYSTEM,
            )
            released += 1
    return released


def _order_holds(order_id: int) -> list[Reservation]:
    return list(
        Reservation.objects.select_related("variant", "location")
        .filter(order_id=order_id, status=ReservationStatus.ACTIVE)
        .order_by("pk")
    )


def ship_order_holds(*, order_id: int, reason: str = "", actor: Actor = SYSTEM) -> int:
    """An order is shipped or collected: its active holds leave stock. Returns the units shipped."""
    with transaction.atomic():
        holds = _order_holds(order_id)
        for reservation in holds:
            collect_hold(reservation=reservation, reason=reason or f"order {order_id} handed over", actor=actor)
    return sum(h.quantity for h in holds)


def release_order_holds(*, order_id: int, reason: str = "", actor: Actor = SYSTEM) -> int:
    """An order is cancelled: its active holds are released. Returns the units released."""
    with transaction.atomic():
        holds = _order_holds(order_id)
        for reservation in holds:
            cancel_hold(reservation=reservation, reason=reason or f"order {order_id} cancelled", actor=actor)
    return sum(h.quantity for h in holds)
