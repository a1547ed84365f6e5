"""Writes of the catalog: locations and products with their variants."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db import IntegrityError, transaction

from omni import versions
from omni.catalog.models import Channel, Location, Product, Variant
from omni.catalog.selectors import VARIANTS
from omni.errors import Invalid


@dataclass(frozen=True)
class VariantIn:
    sku: str
    price: Decimal
    color: str = ""
    size: str = ""


def create_location(**fields) -> Location:
    """Create a location. Raises Invalid when the code is taken."""
    try:
        with transaction.atomic():
            return Location.objects.create(**fields)
    except IntegrityError as exc:
        if Location.objects.filter(code=fields.get("code")).exists():
            raise Invalid("A location with this code exists.", {"code": ["A location with this code exists."]}) from exc
        raise


def create_product(
    *,
    code: str,
    name: str,
    category: str,
    variants: list[VariantIn],
    channels: list[str] | None = None,
    description: str = "",
) -> Product:
    """Create a product with its variants, sold on `channels` (default: every channel).

    Raises Invalid (nothing written) for a taken product code, a SKU given
    twice or already used, or an unknown channel.
    """
    errors: dict[str, list[str]] = {}
    skus = [variant.sku for variant in variants]
    for index, sku in enumerate(skus):
        if skus.index(sku) != index:
            errors.setdefault(f"variants.{index}.sku", []).append("This SKU appears twice in the request.")
    taken = set(Variant.objects.filter(sku__in=skus).values_list("sku", flat=True))
    for index, sku in enumerate(skus):
        if sku in taken:
            errors.setdefault(f"variants.{index}.sku", []).append("A variant with this SKU exists.")
    if Product.objects.filter(code=code).exists():
        errors["code"] = ["A product with this code exists."]
    channel_rows = list(Channel.objects.filter(code__in=channels) if channels is not None else Channel.objects.all())
    if channels is not None:
        unknown = sorted(set(channels) - {channel.code for channel in channel_rows})
        if unknown:
            errors["channels"] = [f"Unknown channel: {', '.join(unknown)}."]
    if errors:
        raise Invalid("The product cannot be created.", errors)

    try:
        with transaction.atomic():
            product = Product.objects.create(code=code, name=name, category=category, description=description)
            product.channels.set(channel_rows)
            Variant.objects.bulk_create(
                [Variant(product=product, sku=v.sku, color=v.color, size=v.size, price=v.price) for v in variants]
            )
            versions.changed(VARIANTS)  # bulk_create sends no post_save: the kept variants get a new token here
    except IntegrityError as exc:  # a concurrent request took the code or a SKU
        raise Invalid("The product code or a SKU was taken meanwhile.", {"code": ["Taken."]}) from exc
    return product


GIFT_CARD_SKU = "GIFT-CARD"


def gift_card_variant() -> Variant:
    """The catalog item an order line of a gift card names (its amount is the line's price), made on first sale.

    It is sold on no channel's shelf and holds no stock: orders sell gift cards
    through their own input, never as a plain line.
    """
    found = Variant.objects.filter(sku=GIFT_CARD_SKU).select_related("product").first()
    if found is not None:
        return found
    try:
        with transaction.atomic():
            product = Product.objects.create(code=GIFT_CARD_SKU, name="Gift card", category="gift-cards")
            return Variant.objects.create(product=product, sku=GIFT_CARD_SKU, price=Decimal("1.00"))
    except IntegrityError:
        return Variant.objects.select_related("product").get(sku=GIFT_CARD_SKU)
