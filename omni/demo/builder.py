"""The generator: one builder, its phases told by the story modules it is made of."""

from __future__ import annotations

import random
import time
from datetime import date, datetime, timedelta

from django.db import models

from customers.models import Customer, Identifier
from inventory.models import StockLevel, StockMovement
from omni import versions
from omni.catalog.models import (
    Channel,
    ChannelPrice,
    Location,
    Product,
    Variant,
)
from omni.catalog.selectors import PLACES, VARIANTS
from omni.demo.catalogue import CatalogueStory
from omni.demo.customers import CustomersStory
from omni.demo.data import (
    CHANNELS,
    ROME,
    Progress,
    SeedResult,
    Volumes,
)
from omni.demo.gift_cards import GiftCardsStory
from omni.demo.jobs import JobsStory
from omni.demo.offers import OffersStory
from omni.demo.pickups import PickupsStory
from omni.demo.returns import ReturnsStory
from omni.demo.sales import SalesStory
from omni.demo.writing import (
    writer_for_connection,
)


class DemoBuilder(
    CatalogueStory, CustomersStory, OffersStory, SalesStory, GiftCardsStory, PickupsStory, ReturnsStory, JobsStory
):
    """Generates the whole retailer, phase by phase, into the current database."""

    def __init__(self, *, scale: float, seed: int, until: date, progress: Progress | None = None) -> None:
        self.volumes = Volumes.for_scale(scale)
        self.seed = seed
        self.until = until
        self.say: Progress = progress or (lambda message: None)
        self.writer = writer_for_connection(self.say)
        self.result = SeedResult()
        self.channel_ids = dict(Channel.objects.values_list("code", "id"))
        missing = [code for code in CHANNELS if code not in self.channel_ids]
        if missing:
            raise RuntimeError(f"channels missing (run the migrations): {', '.join(missing)}")
        # The year of orders: the 365 days before `until`; the stock count is taken on `until` morning.
        self.days = [until - timedelta(days=365 - offset) for offset in range(365)]
        self.until_epoch = int(datetime(until.year, until.month, until.day, tzinfo=ROME).timestamp())
        self.window_start = int(datetime.combine(self.days[0], datetime.min.time(), ROME).timestamp())

    def rng(self, phase: str) -> random.Random:
        # A string seed is hashed with SHA-512 by random.seed: stable across processes and PYTHONHASHSEED.
        return random.Random(f"omni-demo:{self.seed}:{phase}")

    def run(self) -> SeedResult:
        started = time.monotonic()
        # The network, the catalogue, the opening stock and the customers are the retailer as it stood a year
        # ago: written in bulk. Everything that happened since goes through the services, on the demo's clock.
        written: list[type[models.Model]] = [
            Location, Product, Product.channels.through, Variant, ChannelPrice, StockLevel, StockMovement,
            Customer, Identifier,
        ]  # fmt: skip
        try:
            self.writer.prepare(written)
            self.locations()
            self.catalog()
            self.stock()
            self.customers()
            self.writer.finish(written)
            # The catalogue and the network were written past the models' signals (COPY or executemany): what a
            # process keeps of them gets a new token, in this transaction, so the sales below read them anew.
            versions.changed(VARIANTS)
            versions.changed(PLACES)
        finally:
            self.writer.close()
        self.settings_of_the_year()
        self.loyalty_cards()
        self.consents()
        self.history()
        self.pickups_today()
        self.returns()
        self.nightly_jobs()
        self.result.tour = self.tour()
        self.result.seconds = time.monotonic() - started
        return self.result
