"""The shared core: channels, locations, products, variants and their prices."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

CODE_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9._-]*$",
    _("Use letters, digits, dots, dashes and underscores only."),
)


class ChannelCode(models.TextChoices):
    STORE = "store", _("Store")
    WEB = "web", _("Web shop")
    APP = "app", _("App")
    CALL_CENTER = "call_center", _("Call center")
    MARKETPLACE = "marketplace", _("Marketplace")
    SOCIAL = "social", _("Social")


class Channel(models.Model):
    """Where a sale or a contact happens. The six channels exist on every database."""

    code = models.CharField(_("code"), max_length=20, unique=True, choices=ChannelCode.choices)
    name = models.CharField(_("name"), max_length=80)
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("channel")
        verbose_name_plural = _("channels")

    def __str__(self) -> str:
        """The name in the staff's language for the six channels of DESIGN.md; the stored name otherwise."""
        return str(ChannelCode(self.code).label) if self.code in ChannelCode.values else self.name


class LocationKind(models.TextChoices):
    STORE = "store", _("Store")
    WAREHOUSE = "warehouse", _("Warehouse")


class Location(models.Model):
    """A place that holds stock: a store or a warehouse."""

    code = models.CharField(_("code"), max_length=32, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=16, choices=LocationKind.choices, db_index=True)
    address = models.CharField(_("address"), max_length=200, blank=True)
    city = models.CharField(_("city"), max_length=80, db_index=True)
    postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    country = models.CharField(_("country"), max_length=2, default="IT")
    latitude = models.DecimalField(
        _("latitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("-90")), MaxValueValidator(Decimal("90"))],
    )
    longitude = models.DecimalField(
        _("longitude"),
        max_digits=9,
        decimal_places=6,
        validators=[MinValueValidator(Decimal("-180")), MaxValueValidator(Decimal("180"))],
    )
    is_pickup_point = models.BooleanField(_("pick-up point"), default=False)
    ships_to_customers = models.BooleanField(_("ships to customers"), default=False)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("location")
        verbose_name_plural = _("locations")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__gte=-90, latitude__lte=90),
                name="location_latitude_in_range",
            ),
            models.CheckConstraint(
                condition=models.Q(longitude__gte=-180, longitude__lte=180),
                name="location_longitude_in_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Product(models.Model):
    """A product (the "shirt"); what is sold is one of its variants."""

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[CODE_VALIDATOR])
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=80, db_index=True)
    description = models.TextField(_("description"), blank=True)
    channels = models.ManyToManyField(
        Channel,
        related_name="products",
        verbose_name=_("sold on channels"),
        help_text=_("The channels that sell this product."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    # Set by selectors.with_variants_and_channels on the products the API shows; not columns.
    variant_rows: list[dict[str, Any]]
    channel_codes: list[str]

    class Meta:
        ordering = ["code"]
        verbose_name = _("product")
        verbose_name_plural = _("products")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"


class Variant(models.Model):
    """One sellable item of a product, with its own SKU (the red one in M)."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="variants", verbose_name=_("product"))
    sku = models.CharField(_("SKU"), max_length=64, unique=True, validators=[CODE_VALIDATOR])
    color = models.CharField(_("colour"), max_length=40, blank=True)
    size = models.CharField(_("size"), max_length=20, blank=True)
    price = models.DecimalField(
        _("list price"),
        max_digits=12,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("The price on every channel that has no override."),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["sku"]
        verbose_name = _("variant")
        verbose_name_plural = _("variants")
        constraints = [
            models.CheckConstraint(condition=models.Q(price__gt=0), name="variant_price_positive"),
        ]

    def __str__(self) -> str:
        return self.sku


class ChannelPrice(models.Model):
    """A price that one channel sets for a variant, explicitly, instead of the list price."""

    variant = models.ForeignKey(
        Variant, on_delete=models.CASCADE, related_name="channel_prices", verbose_name=_("variant")
    )
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="prices", verbose_name=_("channel"))
    price = models.DecimalField(
        _("price"), max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )

    class Meta:
        verbose_name = _("channel price")
        verbose_name_plural = _("channel prices")
        constraints = [
            models.UniqueConstraint(fields=["variant", "channel"], name="channel_price_unique"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="channel_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.variant.sku} @ {self.channel.code}: {self.price}"


class StaffAssignment(models.Model):
    """The store (or warehouse) a member of staff works at.

    A clerk sees and changes only their location's stock, orders, returns
    and reservations; users with the permission "see every location" (and
    superusers) see the whole network.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_assignment", verbose_name=_("user")
    )
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="staff", verbose_name=_("works at"))
    created_at = models.DateTimeField(_("since"), auto_now_add=True)

    class Meta:
        verbose_name = _("staff assignment")
        verbose_name_plural = _("staff assignments")
        permissions = [("see_all_locations", _("Can see every location's data"))]

    def __str__(self) -> str:
        return f"{self.user} @ {self.location.code}"
