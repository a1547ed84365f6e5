"""Reads of the catalog: prices and who sells what, per channel."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import F, Field, Model, OuterRef, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce

from omni import versions
from omni.catalog.models import Channel, ChannelPrice, Location, Product, Variant

PLACES = "catalog.places"  # the token of the channels and locations each process keeps (omni.versions)
# The token of the variants each process keeps for pricing (`sellable`): renewed by every save and delete of a
# variant, a product, a channel price and every change of the products' channels (omni.catalog.apps).
VARIANTS = "catalog.variants"
# The most (channel, SKU) pairs a process keeps; past it the whole map is dropped and filled again as orders come.
KEPT_VARIANTS_MAX = 50_000


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
    """Products by code; `with_variants_and_channels` adds what the API shows of each, a page at a time."""
    return Product.objects.all()


def with_variants_and_channels(products: Iterable[Product]) -> list[Product]:
    """The products, each with `variant_rows` (its variants by SKU, as dicts of their columns) and
    `channel_codes` (the channels that sell it, in the channels' order): two queries for any number.

    Values, not model instances, and no queryset per product: Django's prefetch of the same two relations
    made a page of 100 products and 500 variants five times slower, most of it spent building objects
    that were only read once."""
    found = list(products)
    by_id = {product.pk: product for product in found}
    for product in found:
        product.variant_rows = []
        product.channel_codes = []
    if not by_id:
        return found
    variants = Variant.objects.filter(product_id__in=by_id).order_by("sku")
    for product_id, sku, color, size, price, is_active in variants.values_list(
        "product_id", "sku", "color", "size", "price", "is_active"
    ):
        by_id[product_id].variant_rows.append(
            {"sku": sku, "color": color, "size": size, "price": price, "is_active": is_active}
        )
    link = Product.channels.through.objects.filter(product_id__in=by_id).order_by("channel_id")
    for product_id, code in link.values_list("product_id", "channel__code"):
        by_id[product_id].channel_codes.append(code)
    return found


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


# --- Variants as pricing reads them, kept per process ---------------------------------------------------------


@dataclass(frozen=True)
class Sellable:
    """A variant as an order on one channel needs it: the variant and product columns (converted as the ORM
    converts them), whether the channel sells it (variant and product active, product sold on the channel) and
    the channel's price override.

    Kept per process and shared by its threads, so it holds values only: `variant()` builds new model
    instances at each call, which a caller may change or cache things on without touching what is kept.
    """

    sku: str
    variant_values: tuple[Any, ...]
    product_values: tuple[Any, ...]
    is_sold: bool
    channel_price: Decimal | None

    def variant(self) -> Variant:
        """A new Variant with its product loaded, as `Variant.objects.select_related("product")` gives it."""
        layout = _layout()
        variant = Variant.from_db(DEFAULT_DB_ALIAS, layout.variant_names, self.variant_values)
        product = Product.from_db(DEFAULT_DB_ALIAS, layout.product_names, self.product_values)
        Variant.product.field.set_cached_value(variant, product)
        return variant


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(field.column)


def _table(model: type[Model]) -> str:
    return connections[DEFAULT_DB_ALIAS].ops.quote_name(model._meta.db_table)


@lru_cache(maxsize=64)
def _sellable_sql(count: int) -> str:
    """The one query behind `sellable`: the variants of `count` SKUs with their product, whether the channel
    sells the product and the channel's price. Parameters: the channel twice, then the SKUs. The same text on
    PostgreSQL and SQLite; names from the models' _meta."""
    link = Product.channels.through
    columns = [f"v.{_column(Variant, field.name)}" for field in Variant._meta.concrete_fields]
    columns += [f"p.{_column(Product, field.name)}" for field in Product._meta.concrete_fields]
    return (
        f"SELECT {', '.join(columns)}, "
        f"EXISTS (SELECT 1 FROM {_table(link)} s "
        f"WHERE s.{_column(link, 'product')} = v.{_column(Variant, 'product')} AND s.{_column(link, 'channel')} = %s), "
        f"(SELECT c.{_column(ChannelPrice, 'price')} FROM {_table(ChannelPrice)} c "
        f"WHERE c.{_column(ChannelPrice, 'variant')} = v.{_column(Variant, 'id')} "
        f"AND c.{_column(ChannelPrice, 'channel')} = %s) "
        f"FROM {_table(Variant)} v "
        f"JOIN {_table(Product)} p ON p.{_column(Product, 'id')} = v.{_column(Variant, 'product')} "
        f"WHERE v.{_column(Variant, 'sku')} IN ({', '.join(['%s'] * count)})"
    )


@dataclass(frozen=True)
class _Layout:
    """Where things sit in a row of `_sellable_sql`, and the ORM's converters of the columns that need one
    (decimals, booleans and datetimes come back from SQLite as numbers and text)."""

    variant_names: tuple[str, ...]  # the attnames of the variant's columns, then of the product's
    product_names: tuple[str, ...]
    width: int  # where the product's columns start
    sku: int
    variant_active: int
    product_active: int
    converters: tuple[tuple[int, tuple[Callable[..., Any], ...], Any], ...]


@cache
def _layout() -> _Layout:
    connection = connections[DEFAULT_DB_ALIAS]
    variant_fields, product_fields = list(Variant._meta.concrete_fields), list(Product._meta.concrete_fields)
    columns: list[tuple[Any, str] | None] = [
        *((field, Variant._meta.db_table) for field in variant_fields),
        *((field, Product._meta.db_table) for field in product_fields),
        None,  # sold on the channel: a boolean on PostgreSQL, 0 or 1 on SQLite (bool() reads both)
        (ChannelPrice._meta.get_field("price"), ChannelPrice._meta.db_table),
    ]
    converters = []
    for index, column in enumerate(columns):
        if column is None:
            continue
        field, table = column
        col = field.get_col(table)
        found = connection.ops.get_db_converters(col) + field.get_db_converters(connection)
        if found:
            converters.append((index, tuple(found), col))
    width = len(variant_fields)
    return _Layout(
        variant_names=tuple(field.attname for field in variant_fields),
        product_names=tuple(field.attname for field in product_fields),
        width=width,
        sku=variant_fields.index(Variant._meta.get_field("sku")),
        variant_active=variant_fields.index(Variant._meta.get_field("is_active")),
        product_active=width + product_fields.index(Product._meta.get_field("is_active")),
        converters=tuple(converters),
    )


def _read_sellable(skus: list[str], channel_id: int) -> list[Sellable]:
    """One query on the primary for `skus` on the channel."""
    connection = connections[DEFAULT_DB_ALIAS]
    with connection.cursor() as cursor:
        cursor.execute(_sellable_sql(len(skus)), [channel_id, channel_id, *skus])
        rows = cursor.fetchall()
    layout = _layout()
    products: dict[Any, tuple[Any, ...]] = {}  # the variants of one product share its values
    read = []
    for row in rows:
        values = list(row)
        for index, converters, col in layout.converters:
            for converter in converters:
                values[index] = converter(values[index], col, connection)
        product_values = products.setdefault(values[layout.width], tuple(values[layout.width : -2]))
        read.append(
            Sellable(
                sku=values[layout.sku],
                variant_values=tuple(values[: layout.width]),
                product_values=product_values,
                is_sold=bool(values[layout.variant_active] and values[layout.product_active] and values[-2]),
                channel_price=values[-1],
            )
        )
    return read


def sellable(skus: Iterable[str], channel: Channel) -> dict[str, Sellable]:
    """The variants of `skus` as `channel` sells them, by SKU (an unknown SKU is left out).

    Each process keeps what it read, per channel and SKU, under the token
    VARIANTS (omni.versions): an order of SKUs already held costs no query
    beyond the tokens' (none inside a `versions.one_read()` block that read
    them), the others are read in one query. A change of a variant, a
    product, a channel price or a product's channels gives a new token and the
    whole map is dropped at the next use; a writer that bypasses the ORM's
    signals (bulk_create, QuerySet.update, raw SQL, COPY) calls
    `versions.changed(VARIANTS)` in its transaction. Unknown SKUs are not
    kept: they are asked again (an order naming one is refused anyway).
    """
    held: dict[tuple[int, str], Sellable] = versions.kept(VARIANTS, dict)
    wanted = list(dict.fromkeys(skus))
    found = {sku: entry for sku in wanted if (entry := held.get((channel.pk, sku))) is not None}
    missing = [sku for sku in wanted if sku not in found]
    if missing:
        # Read from the primary, as `versions.kept` reads, after the token: what is read is at least as new as
        # the token it is kept under. The map grows in place (a dict's item assignment is atomic under the GIL);
        # an entry, once in, is never changed.
        read = _read_sellable(missing, channel.pk)
        if len(held) + len(read) > KEPT_VARIANTS_MAX:
            held.clear()
        for entry in read:
            found[entry.sku] = entry
            if len(read) <= KEPT_VARIANTS_MAX:
                held[(channel.pk, entry.sku)] = entry
    return found
