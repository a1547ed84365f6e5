"""Orders of every channel: a till receipt, a web order, an endless-aisle order."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.formats import number_format
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from omni.models import Attributed


class FulfilmentType(models.TextChoices):
    CARRY_OUT = "carry_out", _("Carry out")
    SHIP_TO_HOME = "ship_to_home", _("Ship to home")
    CLICK_AND_COLLECT = "click_and_collect", _("Click & collect")
    SHIP_TO_STORE = "ship_to_store", _("Ship to store")


class OrderStatus(models.TextChoices):
    PLACED = "placed", _("Placed")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pick-up")
    SHIPPED = "shipped", _("Shipped")
    COLLECTED = "collected", _("Collected")
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")


class Tender(models.TextChoices):
    CARD = "card", _("Card")
    CASH = "cash", _("Cash")
    GIFT_CARD = "gift_card", _("Gift card")
    STORE_CREDIT = "store_credit", _("Store credit")


class Order(models.Model):
    """One sale on any channel, with its lines, payments and fulfilment."""

    number = models.CharField(_("number"), max_length=32, unique=True)
    channel = models.ForeignKey(
        "catalog.Channel", on_delete=models.PROTECT, related_name="orders", verbose_name=_("channel")
    )
    location = models.ForeignKey(
        "catalog.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("selling store"),
        help_text=_("The store where the sale was made (store sales and endless-aisle orders)."),
    )
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        verbose_name=_("customer"),
    )
    external_id = models.CharField(
        _("external id"),
        max_length=64,
        null=True,
        blank=True,
        help_text=_("The till's receipt number or the site's order id; unique per channel."),
    )
    status = models.CharField(
        _("status"), max_length=20, choices=OrderStatus.choices, default=OrderStatus.PLACED, db_index=True
    )
    fulfilment_type = models.CharField(
        _("fulfilment"), max_length=20, choices=FulfilmentType.choices, default=FulfilmentType.CARRY_OUT
    )
    pickup_location = models.ForeignKey(
        "catalog.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="pickup_orders",
        verbose_name=_("pick-up store"),
    )
    shipping_address = models.JSONField(_("shipping address"), default=dict, blank=True)
    is_endless_aisle = models.BooleanField(
        _("endless aisle"),
        default=False,
        help_text=_("Taken in a store for stock that store did not have."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    subtotal = models.DecimalField(_("subtotal"), max_digits=12, decimal_places=2, default=Decimal("0"))
    discount_total = models.DecimalField(_("discounts"), max_digits=12, decimal_places=2, default=Decimal("0"))
    total = models.DecimalField(_("total"), max_digits=12, decimal_places=2, default=Decimal("0"))
    points_value = models.DecimalField(
        _("paid with points"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        db_default=Decimal("0"),
        help_text=_("The value of the points redeemed, taken off what the customer paid."),
    )
    points_earned = models.IntegerField(_("points earned"), default=0)
    points_redeemed = models.IntegerField(_("points redeemed"), default=0)
    created_at = models.DateTimeField(_("created"), db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="order_external_id_unique_per_channel",
            ),
            models.CheckConstraint(condition=models.Q(total__gte=0), name="order_total_not_negative"),
        ]
        indexes = [
            models.Index(fields=["customer", "created_at"], name="order_customer_created_idx"),
            models.Index(fields=["location", "created_at"], name="order_location_created_idx"),
            models.Index(fields=["channel", "created_at"], name="order_channel_created_idx"),
        ]

    def __str__(self) -> str:
        return self.number


class OrderLine(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", verbose_name=_("order"))
    variant = models.ForeignKey(
        "catalog.Variant", on_delete=models.PROTECT, related_name="order_lines", verbose_name=_("variant")
    )
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    unit_price = models.DecimalField(_("unit price"), max_digits=12, decimal_places=2)
    discount = models.DecimalField(_("discount"), max_digits=12, decimal_places=2, default=Decimal("0"))
    line_total = models.DecimalField(_("line total"), max_digits=12, decimal_places=2)
    omni_unit_price = models.DecimalField(
        _("Omni's unit price"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        help_text=_(
            "For a line priced by the till or the marketplace: what Omni would have charged for one unit on the "
            "channel. Where it differs from the unit price, the parity report lists the line as till drift."
        ),
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gte=1), name="order_line_quantity_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.variant_id}"


class Allocation(models.Model):
    """Which location serves how many units of an order line."""

    line = models.ForeignKey(
        OrderLine, on_delete=models.CASCADE, related_name="allocations", verbose_name=_("order line")
    )
    location = models.ForeignKey(
        "catalog.Location", on_delete=models.PROTECT, related_name="+", verbose_name=_("location")
    )
    quantity = models.PositiveIntegerField(_("quantity"))

    class Meta:
        ordering = ["pk"]
        verbose_name = _("allocation")
        verbose_name_plural = _("allocations")

    def __str__(self) -> str:
        return gettext("%(quantity)d × %(sku)s of order %(order)s from %(location)s") % {
            "quantity": self.quantity,
            "sku": self.line.variant.sku,
            "order": self.line.order.number,
            "location": self.location.code,
        }


class Payment(models.Model):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="payments", verbose_name=_("order"))
    tender = models.CharField(_("tender"), max_length=16, choices=Tender.choices)
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("payment")
        verbose_name_plural = _("payments")

    def __str__(self) -> str:
        return f"{self.get_tender_display()} {number_format(self.amount, 2, force_grouping=True)}"


class OrderEventType(models.TextChoices):
    PLACED = "placed", _("Placed")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pick-up")
    SHIPPED = "shipped", _("Shipped")
    COLLECTED = "collected", _("Collected")
    CANCELLED = "cancelled", _("Cancelled")


class OrderEvent(Attributed):
    """One step in an order's life, with who took it. Insert-only."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="events", verbose_name=_("order"))
    type = models.CharField(_("event"), max_length=20, choices=OrderEventType.choices)
    from_status = models.CharField(_("from"), max_length=20, choices=OrderStatus.choices, blank=True)
    to_status = models.CharField(_("to"), max_length=20, choices=OrderStatus.choices)
    created_at = models.DateTimeField(_("when"), auto_now_add=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("order event")
        verbose_name_plural = _("order events")

    def __str__(self) -> str:
        return f"{self.order_id}: {self.get_type_display()}"


class ImportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class ReceiptImport(models.Model):
    """A file of POS receipts imported in the background, with its progress and outcome.

    The file's bytes are kept in the row, so any worker can read them
    without a shared disk.
    """

    file_name = models.CharField(_("file"), max_length=255)
    file_format = models.CharField(_("format"), max_length=8)
    content = models.BinaryField(_("content"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("imported by"),
    )
    location = models.ForeignKey(
        "catalog.Location",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("store"),
        help_text=_("Set when the importer may import one store's receipts only."),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ImportStatus.choices, default=ImportStatus.QUEUED, db_index=True
    )
    total_lines = models.PositiveIntegerField(_("lines"), default=0)
    lines_done = models.PositiveIntegerField(_("lines done"), default=0)
    orders_created = models.PositiveIntegerField(_("orders created"), default=0)
    receipts_skipped = models.PositiveIntegerField(_("receipts already imported"), default=0)
    row_errors = models.JSONField(_("row errors"), default=list, blank=True)
    shortfalls = models.JSONField(_("stock shortfalls"), default=list, blank=True)
    message = models.TextField(_("message"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("receipt import")
        verbose_name_plural = _("receipt imports")
        permissions = [("import_receipts", _("Can import POS receipt files"))]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    @property
    def percent(self) -> int:
        if not self.total_lines:
            return 100 if self.status in (ImportStatus.DONE, ImportStatus.FAILED) else 0
        return min(100, self.lines_done * 100 // self.total_lines)

    @property
    def is_running(self) -> bool:
        return self.status in (ImportStatus.QUEUED, ImportStatus.RUNNING)
