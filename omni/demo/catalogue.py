"""The network and the catalogue as they stood a year ago: stores, warehouses, products, prices, the opening stock."""

from __future__ import annotations

import random
from typing import Any

from inventory.models import MovementKind, StockLevel, StockMovement
from omni.catalog.models import (
    ChannelPrice,
    Location,
    LocationKind,
    Product,
    Variant,
)
from omni.demo.data import (
    CATEGORIES,
    CHANNEL_SHARES,
    CHANNELS,
    COLOURS,
    DAY_SECONDS,
    LINE_NAMES,
    NORTH_LATITUDE,
    PRODUCT_NOTES,
    STORES,
    UNITS_PER_STORE_SALE,
    WAREHOUSES,
    Category,
    Site,
)
from omni.demo.pieces import (
    _Assortment,
    _cumulative,
    _shelf_price,
    _Store,
)
from omni.demo.writing import (
    _euros,
)


class CatalogueStory:
    """A part of DemoBuilder: see the module."""

    def locations(self) -> None:
        created = self.writer.timestamp(self.until_epoch - 3 * 365 * DAY_SECONDS)
        next_id = self.writer.next_id(Location)
        rows = []
        self.warehouse_ids: list[int] = []
        for offset, site in enumerate(WAREHOUSES):
            rows.append(self._location_row(next_id + offset, site, LocationKind.WAREHOUSE.value, created))
            self.warehouse_ids.append(next_id + offset)
        next_id += len(WAREHOUSES)
        self.stores: list[_Store] = []
        for offset, site in enumerate(STORES):
            rows.append(self._location_row(next_id + offset, site, LocationKind.STORE.value, created))
            north = float(site.latitude) >= NORTH_LATITUDE
            self.stores.append(_Store(next_id + offset, site, self.warehouse_ids[0 if north else 1]))
        self.writer.insert(
            Location,
            ["id", "code", "name", "kind", "address", "city", "postcode", "country", "latitude", "longitude",
             "is_pickup_point", "ships_to_customers", "is_active", "created_at"],
            rows,
        )  # fmt: skip
        self.store_cumulative = _cumulative([store.site.weight for store in self.stores])
        self.shipping_stores = [store for store in self.stores if store.site.ships]
        self.pickup_stores = [store for store in self.stores if store.site.pickup]
        self.pickup_cumulative = _cumulative([store.site.weight for store in self.pickup_stores])
        self.result.locations = len(rows)
        self.say(f"locations: {len(self.stores)} stores, {len(self.warehouse_ids)} warehouses")

    @staticmethod
    def _location_row(pk: int, site: Site, kind: str, created: str) -> tuple[Any, ...]:
        return (pk, site.code, site.name, kind, site.address, site.city, site.postcode, "IT", site.latitude,
                site.longitude, site.pickup, site.ships, True, created)  # fmt: skip

    def catalog(self) -> None:
        rng = self.rng("catalog")
        total = self.volumes.products
        counts = [max(1, round(total * category.share)) for category in CATEGORIES]
        product_id, variant_id, link_id = (
            self.writer.next_id(Product),
            self.writer.next_id(Variant),
            self.writer.next_id(Product.channels.through),
        )
        products, links, variants = [], [], []
        # Per variant, for the later phases: id, list price (cents), popularity, sold in stores.
        self.variant_ids: list[int] = []
        self.variant_prices: list[int] = []
        self.variant_weights: list[float] = []
        self.variant_in_store: list[bool] = []
        channel_variants: dict[str, list[int]] = {code: [] for code in CHANNELS}  # indexes into the lists above
        names: set[str] = set()
        # Popularity follows a long tail over a shuffled ranking: a few bestsellers, many slow movers.
        ranks = list(range(1, sum(counts) + 1))
        rng.shuffle(ranks)
        product_index = 0
        for category, count in zip(CATEGORIES, counts, strict=True):
            for number in range(1, count + 1):
                name = self._product_name(rng, category, names)
                code = f"{category.prefix}{number:05d}"
                launched = self.until_epoch - int(rng.uniform(30, 730) * DAY_SECONDS)
                notes = " ".join(rng.sample(PRODUCT_NOTES, 2))
                products.append(
                    (product_id, code, name, category.name, f"{name}. {notes}", True, self.writer.timestamp(launched))
                )
                channels = self._product_channels(rng)
                for channel in channels:
                    links.append((link_id, product_id, self.channel_ids[channel]))
                    link_id += 1
                price = _shelf_price(rng, rng.randint(*category.price_euros))
                popularity = 1.0 / ranks[product_index] ** 0.8
                product_index += 1
                low, high = category.sizes_per_product
                span = rng.randint(low, min(high, len(category.sizes)))
                first = rng.randint(0, len(category.sizes) - span)
                sizes = category.sizes[first : first + span]
                colours = rng.sample(category.palette, rng.choices((1, 2, 3), (60, 30, 10))[0])
                for colour_rank, colour in enumerate(colours):
                    for size_rank, size in enumerate(sizes):
                        sku = f"{code}-{COLOURS[colour]}-{size}"
                        variants.append((variant_id, product_id, sku, colour, size, _euros(price), True))
                        # Middle sizes sell more; so does the first colour of a product.
                        middle = abs(size_rank - (len(sizes) - 1) / 2)
                        weight = popularity / (1 + colour_rank) / (1 + 0.35 * middle)
                        index = len(self.variant_ids)
                        self.variant_ids.append(variant_id)
                        self.variant_prices.append(price)
                        self.variant_weights.append(weight)
                        self.variant_in_store.append("store" in channels)
                        for channel in channels:
                            channel_variants[channel].append(index)
                        variant_id += 1
                product_id += 1
        self.writer.insert(
            Product, ["id", "code", "name", "category", "description", "is_active", "created_at"], products
        )
        self.writer.insert(Product.channels.through, ["id", "product", "channel"], links)
        self.writer.insert(Variant, ["id", "product", "sku", "color", "size", "price", "is_active"], variants)
        overrides = self._channel_prices(rng, channel_variants)
        self.result.products, self.result.variants, self.result.channel_prices = (
            len(products),
            len(variants),
            len(overrides),
        )
        self.say(f"catalogue: {len(products)} products, {len(variants)} variants, {len(overrides)} channel prices")

    @staticmethod
    def _product_name(rng: random.Random, category: Category, taken: set[str]) -> str:
        for _attempt in range(20):
            name = f"{rng.choice(category.nouns)} {rng.choice(category.styles)} {rng.choice(LINE_NAMES)}"
            if name not in taken:
                break
        else:  # a very large catalogue: number the line
            name = f"{name} {len(taken)}"
        taken.add(name)
        return name

    @staticmethod
    def _product_channels(rng: random.Random) -> list[str]:
        """Most products are everywhere; a few are store-only or online exclusives."""
        roll = rng.random()
        if roll < 0.05:
            return ["store"]
        channels = ["web", "app"] if roll < 0.12 else ["store", "web", "app", "call_center"]
        if rng.random() < 0.55:
            channels.append("marketplace")
        if rng.random() < 0.3:
            channels.append("social")
        return channels

    def _channel_prices(self, rng: random.Random, channel_variants: dict[str, list[int]]) -> list[tuple[Any, ...]]:
        """A few explicit exceptions to "same price everywhere": online promotions, a marketplace mark-up."""
        rules = {"web": (0.02, 0.90), "app": (0.03, 0.90), "marketplace": (0.05, 1.08)}
        price_id = self.writer.next_id(ChannelPrice)
        rows = []
        self.assortments: dict[str, _Assortment] = {}
        for channel in CHANNELS:
            share, factor = rules.get(channel, (0.0, 1.0))
            assortment = _Assortment()
            running = 0.0
            for index in channel_variants[channel]:
                price = self.variant_prices[index]
                if share and rng.random() < share:
                    price = max(90, int(round(price * factor, -2)) - 10)  # still ending in ,90
                    rows.append((price_id, self.variant_ids[index], self.channel_ids[channel], _euros(price)))
                    price_id += 1
                running += self.variant_weights[index]
                assortment.variant_ids.append(self.variant_ids[index])
                assortment.prices.append(price)
                assortment.price_texts.append(_euros(price))
                assortment.cumulative.append(running)
            self.assortments[channel] = assortment
        # A tiny catalogue could leave a channel with nothing to sell: it then sells the web assortment.
        for channel in CHANNELS:
            if not self.assortments[channel].variant_ids:
                self.assortments[channel] = self.assortments["web"] if channel != "web" else self.assortments["store"]
        self.writer.insert(ChannelPrice, ["id", "variant", "channel", "price"], rows)
        return rows

    def stock(self) -> None:
        """The opening count, a year ago: enough for the year's sales, each level with the movement that explains it.

        The year of sales then takes the stock down through inventory (sale movements), so the levels on
        `until` are what the count left minus what was sold, and the fastest sellers run short: what
        replenishment proposes transfers for.
        """
        rng = self.rng("stock")
        counted_epoch = self.window_start - 2 * 3600  # the night before the first day of sales
        counted = self.writer.timestamp(counted_epoch)
        level_id, movement_id = self.writer.next_id(StockLevel), self.writer.next_id(StockMovement)
        top = max(self.variant_weights)
        in_store = sum(w for w, sold in zip(self.variant_weights, self.variant_in_store, strict=True) if sold) or 1.0
        units_a_year = self.volumes.orders * CHANNEL_SHARES["store"] * UNITS_PER_STORE_SALE
        store_weights = sum(store.site.weight for store in self.stores)
        levels, movements = [], []
        locations = [(pk, None) for pk in self.warehouse_ids] + [(store.id, store) for store in self.stores]
        for location_id, store in locations:
            for index, variant_id in enumerate(self.variant_ids):
                if store is None:
                    on_hand = rng.randint(20, 60) + int(400 * self.variant_weights[index] / top)
                    safety = 5
                elif self.variant_in_store[index] and rng.random() < 0.85:
                    expected = units_a_year * store.site.weight / store_weights * self.variant_weights[index] / in_store
                    on_hand = int(expected * rng.uniform(0.8, 1.4)) + rng.choice((1, 2, 2, 3, 3, 4, 5, 6))
                    safety = 1
                else:
                    continue
                levels.append((level_id, location_id, variant_id, on_hand, 0, safety, counted))
                movements.append(
                    (movement_id, location_id, variant_id, MovementKind.COUNT.value, on_hand, 0, "Inventario iniziale",
                     counted)
                )  # fmt: skip
                level_id += 1
                movement_id += 1
        self.writer.insert(
            StockLevel, ["id", "location", "variant", "on_hand", "reserved", "safety_stock", "updated_at"], levels
        )
        self.writer.insert(
            StockMovement,
            ["id", "location", "variant", "kind", "on_hand_delta", "reserved_delta", "reason", "created_at"],
            movements,
        )
        self.result.stock_levels = len(levels)
        self.say(f"stock: {len(levels)} levels at {len(locations)} locations, counted the night before the year")
