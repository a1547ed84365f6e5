"""Returns of any channel's order at any location: the RMA, its lines, its refunds.

A return is `requested` (asked for, goods not here yet), `received` (units
taken back, refund paid, points settled) or `cancelled`. Requested and
received lines both count against what can still be returned of an order
line; cancelled ones do not. The figures of a received return (its value,
the money refunded, the points given back and taken back) are stored on it,
so reports and the KPIs read one row per return.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from omni.models import Attributed
from omni.orders.models import Tender
from returns.reference import reason_label

MONEY = {"max_digits": 12, "decimal_places": 2, "default": Decimal("0")}
DEFAULT_WINDOW_DAYS = 30
# A refund goes back to a tender of the order, or becomes the credit of an exchange's new order.
EXCHANGE_TENDER = "exchange"
REFUND_TENDERS = [*Tender.choices, (EXCHANGE_TENDER, _("Exchange"))]


class ReturnReason(models.Model):
    """Why a customer brings something back; the list is kept in the admin."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    label = models.CharField(_("label"), max_length=120)
    is_active = models.BooleanField(_("active"), default=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0, help_text=_("Order in the clerk's list."))

    class Meta:
        ordering = ["position", "code"]
        verbose_name = _("return reason")
        verbose_name_plural = _("return reasons")

    def __str__(self) -> str:
        return reason_label(self.code, self.label)


class ReturnPolicy(models.Model):
    """How long after the hand-over a channel's orders can be returned."""

    channel = models.OneToOneField(
        "catalog.Channel", on_delete=models.CASCADE, related_name="return_policy", verbose_name=_("channel")
    )
    window_days = models.PositiveIntegerField(
        _("return window (days)"),
        default=DEFAULT_WINDOW_DAYS,
        validators=[MinValueValidator(0), MaxValueValidator(3650)],
        help_text=_("Days after the hand-over (sale, shipping or collection) during which a return is accepted."),
    )

    class Meta:
        ordering = ["channel"]
        verbose_name = _("return policy")
        verbose_name_plural = _("return policies")

    def __str__(self) -> str:
        days = ngettext("%(channel)s: %(days)d day", "%(channel)s: %(days)d days", self.window_days)
        return days % {"channel": self.channel, "days": self.window_days}


class ReturnStatus(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    RECEIVED = "received", _("Received")
    CANCELLED = "cancelled", _("Cancelled")


class RefundTarget(models.TextChoices):
    ORIGINAL = "original", _("Original tender")
    STORE_CREDIT = "store_credit", _("Store credit")


class Condition(models.TextChoices):
    RESELLABLE = "resellable", _("Resellable")
    DAMAGED = "damaged", _("Damaged")


# Statuses whose lines count against what can still be returned.
OPEN_OR_RECEIVED = [ReturnStatus.REQUESTED, ReturnStatus.RECEIVED]


class Return(Attributed):
    """One RMA: order lines brought back, where, why, and what was refunded."""

    rma = models.CharField(_("RMA"), max_length=20, unique=True)
    order = models.ForeignKey("orders.Order", on_delete=models.PROTECT, related_name="returns", verbose_name=_("order"))
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="returns",
        verbose_name=_("customer"),
    )
    status = models.CharField(
        _("status"), max_length=12, choices=ReturnStatus.choices, default=ReturnStatus.REQUESTED, db_index=True
    )
    location = models.ForeignKey(
        "catalog.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="returns",
        verbose_name=_("receiving store"),
        help_text=_("Where the goods were (or will be) received."),
    )
    refund_to = models.CharField(
        _("refund to"), max_length=12, choices=RefundTarget.choices, default=RefundTarget.ORIGINAL
    )
    units = models.PositiveIntegerField(_("units"), default=0)
    returned_value = models.DecimalField(
        _("returned value"), **MONEY, help_text=_("What the returned units cost: money refunded plus points' value.")
    )
    refund_amount = models.DecimalField(_("money refunded"), **MONEY)
    points_value = models.DecimalField(_("points' value given back"), **MONEY)
    points_restored = models.IntegerField(_("redeemed points given back"), default=0)
    points_reversed = models.IntegerField(_("earned points taken back"), default=0)
    exchange_order = models.OneToOneField(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="exchanged_return",
        verbose_name=_("exchange order"),
        help_text=_("The new order taken in exchange, when the return was an exchange."),
    )
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("opened"), auto_now_add=True, db_index=True)
    received_at = models.DateTimeField(_("received"), null=True, blank=True, db_index=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("return")
        verbose_name_plural = _("returns")
        indexes = [
            models.Index(fields=["status", "received_at"], name="return_status_received_idx"),
            models.Index(fields=["location", "created_at"], name="return_location_created_idx"),
        ]

    def __str__(self) -> str:
        return self.rma


class ReturnLine(models.Model):
    """Units of one order line in a return, with the reason and their condition."""

    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="lines", verbose_name=_("return"))
    order_line = models.ForeignKey(
        "orders.OrderLine", on_delete=models.PROTECT, related_name="return_lines", verbose_name=_("order line")
    )
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.PROTECT, related_name="+", verbose_name=_("variant")
    )
    requested_quantity = models.PositiveIntegerField(_("requested"), validators=[MinValueValidator(1)])
    quantity = models.PositiveIntegerField(
        _("quantity"), help_text=_("Units that count against the order line: requested, then received.")
    )
    reason = models.ForeignKey(ReturnReason, on_delete=models.PROTECT, related_name="+", verbose_name=_("reason"))
    condition = models.CharField(_("condition"), max_length=12, choices=Condition.choices, default=Condition.RESELLABLE)
    returned_value = models.DecimalField(_("returned value"), **MONEY)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("return line")
        verbose_name_plural = _("return lines")
        constraints = [
            models.UniqueConstraint(fields=["ret", "order_line"], name="return_line_once_per_order_line"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class Refund(models.Model):
    """Money given back on one tender for a return. Insert-only."""

    ret = models.ForeignKey(Return, on_delete=models.CASCADE, related_name="refunds", verbose_name=_("return"))
    tender = models.CharField(_("tender"), max_length=16, choices=REFUND_TENDERS)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("refund")
        verbose_name_plural = _("refunds")

    def __str__(self) -> str:
        return f"{self.get_tender_display()} {self.amount}"
