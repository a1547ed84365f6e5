"""Stock per location and variant, and the append-only stock ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from omni.models import Attributed


class StockLevel(models.Model):
    """Units of one variant at one location.

    Its available units are inventory.available's formula (a hold past its
    expiry holds nothing, before any job tidies it). The row changes only in
    the same transaction as the StockMovement that explains the change.
    """

    location = models.ForeignKey(
        "catalog.Location", on_delete=models.PROTECT, related_name="stock_levels", verbose_name=_("location")
    )
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.PROTECT, related_name="stock_levels", verbose_name=_("variant")
    )
    on_hand = models.IntegerField(_("on hand"), default=0)
    reserved = models.IntegerField(_("reserved"), default=0)
    safety_stock = models.IntegerField(
        _("safety stock"),
        default=0,
        help_text=_("Units kept back from online sale, so the shelf is not sold twice."),
    )
    quarantined = models.IntegerField(
        _("quarantined"),
        default=0,
        db_default=0,
        help_text=_("Damaged returns held here; not sellable and not part of on hand."),
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["location", "variant"]
        verbose_name = _("stock level")
        verbose_name_plural = _("stock levels")
        constraints = [
            models.UniqueConstraint(fields=["location", "variant"], name="stock_level_unique"),
            models.CheckConstraint(condition=models.Q(on_hand__gte=0), name="stock_on_hand_not_negative"),
            models.CheckConstraint(condition=models.Q(reserved__gte=0), name="stock_reserved_not_negative"),
            models.CheckConstraint(condition=models.Q(safety_stock__gte=0), name="stock_safety_not_negative"),
            models.CheckConstraint(condition=models.Q(quarantined__gte=0), name="stock_quarantined_not_negative"),
        ]
        indexes = [models.Index(fields=["variant", "location"], name="stock_variant_location_idx")]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}: {self.on_hand}"


class MovementKind(models.TextChoices):
    COUNT = "count", _("Count")
    RECEIPT = "receipt", _("Receipt")
    SALE = "sale", _("Sale")
    RESERVATION = "reservation", _("Reservation")
    RELEASE = "release", _("Release")
    TRANSFER_OUT = "transfer_out", _("Transfer out")
    TRANSFER_IN = "transfer_in", _("Transfer in")
    RETURN = "return", _("Return")
    QUARANTINE = "quarantine", _("Quarantine")
    ADJUSTMENT = "adjustment", _("Adjustment")


class StockMovement(Attributed):
    """One change of stock, with who and why. Insert-only."""

    location = models.ForeignKey(
        "catalog.Location", on_delete=models.PROTECT, related_name="+", verbose_name=_("location")
    )
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.PROTECT, related_name="+", verbose_name=_("variant")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=MovementKind.choices)
    on_hand_delta = models.IntegerField(_("on hand change"), default=0)
    reserved_delta = models.IntegerField(_("reserved change"), default=0)
    quarantined_delta = models.IntegerField(_("quarantined change"), default=0, db_default=0)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [models.Index(fields=["variant", "location"], name="movement_variant_location_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.on_hand_delta:+d}"


class ReservationStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    RELEASED = "released", _("Released")
    CONSUMED = "consumed", _("Collected or shipped")
    EXPIRED = "expired", _("Expired")


class Reservation(Attributed):
    """Units held at one location: for a customer until `expires_at` (click & collect), or for an order line.

    While active its units are counted in the stock row's `reserved`; leaving
    `active` (released, consumed, expired) happens once, by a conditional update
    on the status, together with the stock change.
    """

    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.PROTECT, related_name="+", verbose_name=_("variant")
    )
    location = models.ForeignKey(
        "catalog.Location", on_delete=models.PROTECT, related_name="+", verbose_name=_("location")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reservations",
        verbose_name=_("customer"),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reservations",
        verbose_name=_("order"),
        help_text=_("Set when the hold was made by an order rather than by a customer's request."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ReservationStatus.choices, default=ReservationStatus.ACTIVE
    )
    expires_at = models.DateTimeField(
        _("expires"), null=True, blank=True, help_text=_("Empty for order holds, which last until shipped.")
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("reservation")
        verbose_name_plural = _("reservations")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="reservation_quantity_positive"),
        ]
        indexes = [
            models.Index(fields=["status", "expires_at"], name="reservation_status_expiry_idx"),
            # The available formula looks up a stock row's lapsed holds among its active ones.
            models.Index(
                fields=["location", "variant", "expires_at"],
                condition=models.Q(status="active"),
                name="reservation_active_row_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.quantity} × {self.variant_id}@{self.location_id} ({self.get_status_display()})"

    @property
    def current_status(self) -> str:
        """The status as of now: an active hold past its `expires_at` is expired, whether or not it was tidied."""
        if (
            self.status == ReservationStatus.ACTIVE
            and self.expires_at is not None
            and self.expires_at <= timezone.now()
        ):
            return ReservationStatus.EXPIRED
        return self.status


class TransferStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    IN_TRANSIT = "in_transit", _("In transit")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class Transfer(models.Model):
    """Units moving from one location to another: requested (held at the source), in transit, received."""

    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.PROTECT, related_name="+", verbose_name=_("variant")
    )
    from_location = models.ForeignKey(
        "catalog.Location", on_delete=models.PROTECT, related_name="+", verbose_name=_("from")
    )
    to_location = models.ForeignKey(
        "catalog.Location", on_delete=models.PROTECT, related_name="+", verbose_name=_("to")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    status = models.CharField(
        _("status"), max_length=16, choices=TransferStatus.choices, default=TransferStatus.REQUESTED, db_index=True
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("requested by"),
    )
    api_client = models.ForeignKey(
        "omni.ApiClient",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("API client"),
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    shipped_at = models.DateTimeField(_("shipped"), null=True, blank=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="transfer_quantity_positive"),
            models.CheckConstraint(
                condition=~models.Q(from_location=models.F("to_location")), name="transfer_between_two_locations"
            ),
        ]

    def __str__(self) -> str:
        return f"T{self.pk}: {self.quantity} × {self.variant_id} {self.from_location_id}→{self.to_location_id}"


class ProposalKind(models.TextChoices):
    REPLENISH = "replenish", _("Replenish from a warehouse")
    REBALANCE = "rebalance", _("Rebalance from a store that does not sell it")


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", _("Proposed")
    ACCEPTED = "accepted", _("Turned into a transfer")
    DISMISSED = "dismissed", _("Dismissed")


class ReplenishmentProposal(models.Model):
    """A suggested transfer to a store that will run out, computed nightly from its sales velocity."""

    kind = models.CharField(_("kind"), max_length=16, choices=ProposalKind.choices)
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.CASCADE, related_name="+", verbose_name=_("variant")
    )
    from_location = models.ForeignKey(
        "catalog.Location", on_delete=models.CASCADE, related_name="+", verbose_name=_("from")
    )
    to_location = models.ForeignKey(
        "catalog.Location", on_delete=models.CASCADE, related_name="+", verbose_name=_("to")
    )
    quantity = models.PositiveIntegerField(_("quantity"))
    daily_sales = models.DecimalField(
        _("units sold per day"), max_digits=10, decimal_places=2, help_text=_("At the receiving store, recent weeks.")
    )
    cover_days = models.DecimalField(
        _("cover in days"),
        max_digits=10,
        decimal_places=1,
        help_text=_("How long the receiving store's available units last at that pace."),
    )
    status = models.CharField(
        _("status"), max_length=16, choices=ProposalStatus.choices, default=ProposalStatus.PROPOSED, db_index=True
    )
    transfer = models.ForeignKey(
        Transfer, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("transfer")
    )
    computed_on = models.DateField(_("computed on"), db_index=True)

    class Meta:
        ordering = ["cover_days", "pk"]
        verbose_name = _("replenishment proposal")
        verbose_name_plural = _("replenishment proposals")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="proposal_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id} {self.from_location_id}→{self.to_location_id}"


class NetworkAvailability(models.Model):
    """Whether a variant was last announced available somewhere in the network (the availability.changed event).

    Kept only while someone subscribes to that event; the row is locked while
    a change is compared with it, so two sales of the last units at two
    stores at once announce the sell-out exactly once.
    """

    variant = models.OneToOneField(
        "catalog.Variant", on_delete=models.CASCADE, primary_key=True, related_name="+", verbose_name=_("variant")
    )
    is_available = models.BooleanField(_("available"), null=True, help_text=_("Empty until first announced."))
    changed_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        verbose_name = _("network availability")
        verbose_name_plural = _("network availability")

    def __str__(self) -> str:
        return f"{self.variant_id}: {self.is_available}"
