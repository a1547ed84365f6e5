"""Stock per location and variant, and the append-only stock ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class StockLevel(models.Model):
    """Units of one variant at one location.

    available = on_hand - reserved - safety_stock. The row changes only in
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
    safety_stock = models.IntegerField(_("safety stock"), default=0)
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
        ]
        indexes = [models.Index(fields=["variant", "location"], name="stock_variant_location_idx")]

    def __str__(self) -> str:
        return f"{self.variant_id}@{self.location_id}: {self.on_hand}"

    @property
    def available(self) -> int:
        return max(self.on_hand - self.reserved - self.safety_stock, 0)


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


class StockMovement(models.Model):
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
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    api_client = models.ForeignKey("omni.ApiClient", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("stock movement")
        verbose_name_plural = _("stock movements")
        indexes = [models.Index(fields=["variant", "location"], name="movement_variant_location_idx")]

    def __str__(self) -> str:
        return f"{self.kind} {self.on_hand_delta:+d}"
