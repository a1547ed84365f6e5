"""Reads of the catalog: prices and who sells what, per channel."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from omni.catalog.models import Channel, ChannelPrice, Location, Product, Variant


@dataclass(frozen=True)
class ChannelOffer:
    """What a channel asks for a variant, and whether it sells it at all."""

    channel: str
    currency: str
    price: Decimal
    list_price: Decimal
    is_sold: bool

    @property
    def differs_from_list(self) -> bool:
        return self.price != self.list_price


def channels() -> list[Channel]:
    return list(Channel.objects.all())


def locations() -> QuerySet[Location]:
    return Location.objects.all()


def products() -> QuerySet[Product]:
    return Product.objects.prefetch_related(
        Prefetch("variants", queryset=Variant.objects.order_by("sku")),
        Prefetch("channels", queryset=Channel.objects.order_by("pk")),
    )


def variants() -> QuerySet[Variant]:
    """Variants with their product, by SKU: the list an integrator pages through."""
    return Variant.objects.select_related("product").order_by("sku")


def with_channel_price(queryset: QuerySet[Variant], channel_code: str) -> QuerySet[Variant]:
    """Variants annotated with `channel_price` on that channel (its override, else the list price)."""
    override = ChannelPrice.objects.filter(variant=OuterRef("pk"), channel__code=channel_code).values("price")[:1]
    return queryset.annotate(channel_price=Coalesce(Subquery(override), F("price")), price_channel=Value(channel_code))


def variant_by_sku(sku: str) -> Variant | None:
    return (
        Variant.objects.select_related("product")
        .prefetch_related("product__channels", "channel_prices__channel")
        .filter(sku=sku)
        .first()
    )


def offers(variant: Variant, all_channels: list[Channel]) -> list[ChannelOffer]:
    """The variant's price and availability on every channel (expects the prefetches of variant_by_sku)."""
    overrides: dict[int, Decimal] = {cp.channel_id: cp.price for cp in variant.channel_prices.all()}
    selling = {channel.pk for channel in variant.product.channels.all()}
    return [
        ChannelOffer(
            channel=channel.code,
            currency=channel.currency,
            price=overrides.get(channel.pk, variant.price),
            list_price=variant.price,
            is_sold=channel.pk in selling and variant.is_active and variant.product.is_active,
        )
        for channel in all_channels
    ]


def price_on(variant: Variant, channel: Channel) -> Decimal:
    """The price of `variant` on `channel`: the channel's override, else the list price."""
    override = ChannelPrice.objects.filter(variant=variant, channel=channel).values_list("price", flat=True).first()
    return override if override is not None else variant.price
