"""Reads of the catalog: prices and who sells what, per channel."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, OuterRef, Prefetch, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from omni import versions
from omni.catalog.models import Channel, ChannelPrice, Location, Product, Variant

PLACES = "catalog.places"  # the token of the channels and locations each process keeps (omni.versions)


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


@dataclass(frozen=True)
class Places:
    """Every channel and every location by code, as one process keeps them between requests: read, never
    changed (`channel_by_code` and `location_by_code` hand out copies)."""

    channels: dict[str, Channel]
    locations: dict[str, Location]


def _read_places() -> Places:
    return Places(
        channels={channel.code: channel for channel in Channel.objects.all()},
        locations={location.code: location for location in Location.objects.all()},
    )


def places() -> Places:
    """The channels and locations, read again only after one was saved or deleted (the admin included): one
    query for the tokens, none inside a `versions.one_read()` block that already read them. A writer that
    bypasses the ORM's signals calls `versions.changed(PLACES)`."""
    return versions.kept(PLACES, _read_places)


def channel_by_code(code: str) -> Channel | None:
    found = places().channels.get(code)
    return copy.copy(found) if found is not None else None


def location_by_code(code: str, *, active: bool = True) -> Location | None:
    """The location of that code; with `active`, None for a closed one."""
    found = places().locations.get(code)
    if found is None or (active and not found.is_active):
        return None
    return copy.copy(found)


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
