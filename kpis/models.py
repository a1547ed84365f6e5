"""Touchpoint events and social figures that kpis ingests, and the daily rollups the KPIs read.

Raw rows (`TouchpointEvent`, `SocialMetric`) are written by the ingestion
services. Everything else here is a rollup: one Europe/Rome day per row,
replaced as a whole by `kpis.services.rebuild` (never edited row by row), so
recomputing any range gives the same figures as the nightly task did.

- `DailyFigures`: the additive figures per day, channel and location;
- `BuyerDay` and `VisitorDay`: who bought / who visited on a day, so that a
  period's distinct count is a COUNT(DISTINCT) over these compact tables;
- `PeriodCount`: those distinct counts for finished periods, so a long
  report recounts only the periods that are not finished or were changed;
- `LastSeen` and `SeenDayCount`: each visitor's and buyer's last day, and
  how many were last seen on each day, so a range ending on the last day
  rolled up counts its distinct visitors and buyers from a few summed rows;
- `SeenSpanCount`: how many people a range's days see for the first time
  since its first day, so any other range (a month begun in the middle, a
  range that ended before the last day) counts them from summed rows too;
- `StoreCreditDay`: online revenue credited to a store, and why;
- `JourneyPath`: the channels a buyer went through before a purchase.
"""

from __future__ import annotations

from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from omni.catalog.models import Channel, Location


class EventType(models.TextChoices):
    SESSION_START = "session_start", _("Session start")
    PAGE_VIEW = "page_view", _("Page view")
    PRODUCT_VIEW = "product_view", _("Product view")
    ADD_TO_CART = "add_to_cart", _("Add to cart")
    CHECKOUT_START = "checkout_start", _("Checkout start")
    STORE_VISIT = "store_visit", _("Store visit")
    EMAIL_OPEN = "email_open", _("E-mail open")
    EMAIL_CLICK = "email_click", _("E-mail click")
    SOCIAL_MENTION = "social_mention", _("Social mention")
    CALL = "call", _("Call")


class TouchpointEvent(models.Model):
    """One contact of a customer or an anonymous visitor with a channel. Insert-only.

    `customer` is set at ingestion (given, or found through a known `device`
    identifier) and later, when the device is attached to a customer.
    `day` is the Europe/Rome day of `occurred_at`, kept so rollups group by
    a plain column. `product` is resolved from `properties.sku` (or
    `properties.product`) for product views, so journeys can match purchases.
    """

    # Unique through EventKey: on PostgreSQL this table is partitioned by month
    # of `occurred_at`, and a partitioned table can only enforce uniqueness
    # on keys that contain `occurred_at` (see omni.partitioning).
    event_id = models.CharField(_("event id"), max_length=64, db_index=True)
    type = models.CharField(_("type"), max_length=20, choices=EventType.choices)
    occurred_at = models.DateTimeField(_("occurred at"))
    day = models.DateField(_("day"), db_index=True)
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", verbose_name=_("channel"))
    session_id = models.CharField(_("session"), max_length=64, blank=True)
    device_id = models.CharField(_("device"), max_length=128, blank=True, db_index=True)
    customer = models.ForeignKey(
        "customers.Customer",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="touchpoint_events",
        verbose_name=_("customer"),
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("location")
    )
    product = models.ForeignKey(
        "catalog.Product", on_delete=models.SET_NULL, null=True, blank=True, related_name="+", verbose_name=_("product")
    )
    properties = models.JSONField(_("properties"), default=dict, blank=True)
    batch = models.UUIDField(_("ingestion batch"), editable=False)
    received_at = models.DateTimeField(_("received at"), auto_now_add=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("touchpoint event")
        verbose_name_plural = _("touchpoint events")
        indexes = [
            models.Index(fields=["customer", "occurred_at"], name="kpis_event_customer_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.event_id}"


class EventKey(models.Model):
    """An event id already stored, and when its event occurred: what makes an id count once across all months.

    Ingestion inserts the batch's ids here first (`ON CONFLICT DO NOTHING`)
    and stores only the events whose id was new, so a repeated id is refused
    whatever its `occurred_at`, although the events table (partitioned by
    month on PostgreSQL) cannot hold a unique index on `event_id` alone. The
    retention command deletes the ids of the months it detaches.
    """

    event_id = models.CharField(_("event id"), max_length=64, primary_key=True)
    occurred_at = models.DateTimeField(_("occurred at"), db_index=True)

    class Meta:
        verbose_name = _("event id seen")
        verbose_name_plural = _("event ids seen")

    def __str__(self) -> str:
        return self.event_id


class SocialMetric(models.Model):
    """One network's figures for one day; sending the same day and network again replaces them."""

    date = models.DateField(_("date"))
    network = models.CharField(_("network"), max_length=40, help_text=_("e.g. instagram, facebook, tiktok."))
    likes = models.PositiveIntegerField(_("likes"), default=0, validators=[MinValueValidator(0)])
    shares = models.PositiveIntegerField(_("shares"), default=0, validators=[MinValueValidator(0)])
    comments = models.PositiveIntegerField(_("comments"), default=0, validators=[MinValueValidator(0)])
    mentions = models.PositiveIntegerField(_("mentions"), default=0, validators=[MinValueValidator(0)])
    followers = models.PositiveIntegerField(_("followers"), default=0, validators=[MinValueValidator(0)])
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-date", "network"]
        verbose_name = _("social figures")
        verbose_name_plural = _("social figures")
        constraints = [models.UniqueConstraint(fields=["date", "network"], name="kpis_social_day_network_unique")]

    def __str__(self) -> str:
        return f"{self.network} {self.date}"

    @property
    def engagement(self) -> int:
        return self.likes + self.shares + self.comments + self.mentions


class RollupDay(models.Model):
    """A day whose rollups were computed, and when. Its row is locked while the day is recomputed."""

    day = models.DateField(_("day"), unique=True)
    refreshed_at = models.DateTimeField(_("refreshed at"), null=True, blank=True)

    class Meta:
        ordering = ["-day"]
        verbose_name = _("rolled-up day")
        verbose_name_plural = _("rolled-up days")
        permissions = [("view_dashboards", _("Can view the KPI dashboards"))]

    def __str__(self) -> str:
        return str(self.day)


class DailyFigures(models.Model):
    """The additive figures of one day, channel and location (the selling or receiving store; empty online).

    Points are placed on the ledger entry's channel and its order's store;
    returns on the order's channel and the store that received them.
    """

    day = models.DateField(_("day"))
    channel = models.ForeignKey(
        Channel, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("channel")
    )
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("location")
    )
    orders = models.IntegerField(_("orders"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)
    units = models.IntegerField(_("units"), default=0)
    identified_orders = models.IntegerField(_("orders with a known customer"), default=0)
    click_and_collect_orders = models.IntegerField(_("click & collect orders"), default=0)
    endless_aisle_orders = models.IntegerField(_("endless-aisle orders"), default=0)
    endless_aisle_revenue = models.DecimalField(_("endless-aisle revenue"), max_digits=14, decimal_places=2, default=0)
    sessions = models.IntegerField(_("sessions"), default=0)
    events = models.IntegerField(_("events"), default=0)
    product_views = models.IntegerField(_("product views"), default=0)
    store_visits = models.IntegerField(_("store visits"), default=0)
    points_issued = models.IntegerField(_("points issued"), default=0)
    points_redeemed = models.IntegerField(_("points redeemed"), default=0)
    returns = models.IntegerField(_("returns"), default=0)
    returned_units = models.IntegerField(_("returned units"), default=0)
    returned_amount = models.DecimalField(_("returned amount"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["-day", "channel", "location"]
        verbose_name = _("daily figures")
        verbose_name_plural = _("daily figures")
        indexes = [models.Index(fields=["day", "channel", "location"], name="kpis_figures_day_idx")]

    def __str__(self) -> str:
        return f"{self.day} {self.channel_id}/{self.location_id}"


class BuyerDay(models.Model):
    """A customer who bought on a day, channel and store, and what they did online or in store before."""

    day = models.DateField(_("day"))
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", verbose_name=_("channel"))
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("location")
    )
    # A named reverse relation (not "+"), so a merge of customers finds these rows (`services.follow_merge`).
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="kpis_buyer_days", verbose_name=_("customer")
    )
    researched_online = models.BooleanField(
        _("viewed the product online before"), default=False, help_text=_("A store purchase after a web/app view.")
    )
    visited_store = models.BooleanField(
        _("visited a store before"), default=False, help_text=_("An online purchase after a store visit.")
    )

    class Meta:
        verbose_name = _("buyer-day")
        verbose_name_plural = _("buyer-days")
        indexes = [
            models.Index(fields=["day", "channel", "location"], name="kpis_buyerday_day_idx"),
            # A range's distinct buyers read in customer order from the index alone: no hash, no sort.
            models.Index(fields=["customer", "day", "channel", "location"], name="kpis_buyerday_buyer_idx"),
        ]


class VisitorDay(models.Model):
    """A visitor seen on a day, channel and location: a customer, or else a device or session key.

    An anonymous visitor's device or session is kept as a 64-bit key
    (`visitor_key`, see `kpis.rollups.visitor_key`), always below zero: a
    period's visitors are then one COUNT(DISTINCT) over integers,
    COALESCE(customer, visitor_key), which sorts far faster than text and
    never mistakes a device for a customer id. The customer stays a plain
    foreign key, so a merge re-points it to the survivor (`services.follow_merge`).
    """

    day = models.DateField(_("day"))
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", verbose_name=_("channel"))
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("location")
    )
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, null=True, blank=True, related_name="kpis_visitor_days"
    )
    visitor_key = models.BigIntegerField(_("device or session key"), null=True, blank=True)

    class Meta:
        verbose_name = _("visitor-day")
        verbose_name_plural = _("visitor-days")
        indexes = [
            models.Index(fields=["day", "channel", "location"], name="kpis_visitorday_day_idx"),
            # An anonymous visitor's days (a customer's are found through the customer's index): what keeps
            # `LastSeen` up to date after a day's rollup. Not on COALESCE(customer, key), which PostgreSQL
            # would then walk in order to group a long range's visitors, slower than hashing them.
            models.Index(fields=["visitor_key"], name="kpis_visitorday_key_idx"),
        ]


class PeriodCount(models.Model):
    """The distinct visitors and buyers of one finished day, ISO week or calendar month, for one scope.

    Distinct counts do not add up, so without this a year by month would count
    them again over millions of buyer- and visitor-days on every read. The row
    with no channel and no store is the whole network's and marks the period as
    counted: a scope of a counted period without a row of its own counted zero.
    A transaction that changes any day of a period (a rebuild, a merge of two
    customers) deletes the period's rows, and `kpis.services.count_periods`
    counts it again once no day of it is being changed (PostgreSQL only).
    """

    granularity = models.CharField(_("granularity"), max_length=5)
    start = models.DateField(_("first day"))
    channel = models.ForeignKey(
        Channel, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("channel")
    )
    location = models.ForeignKey(
        Location, on_delete=models.CASCADE, null=True, blank=True, related_name="+", verbose_name=_("location")
    )
    visitors = models.IntegerField(_("visitors"), default=0)
    buyers = models.IntegerField(_("buyers"), default=0)
    omnichannel_buyers = models.IntegerField(_("omnichannel buyers"), default=0)

    class Meta:
        verbose_name = _("period count")
        verbose_name_plural = _("period counts")
        indexes = [models.Index(fields=["granularity", "start"], name="kpis_periodcount_idx")]


class SeenKind(models.TextChoices):
    VISITOR = "v", _("Visitor")
    BUYER = "b", _("Buyer")


class LastSeen(models.Model):
    """The last day each visitor and each buyer was seen, for the network, each channel, each store and each
    channel in each store: what `SeenDayCount` is counted from.

    `second_day` is the last day on which they were seen in this scope while
    seen on two channels or more (anywhere in the network) from that day on:
    the earlier of `last_day` and the day they were last seen on a channel
    other than their latest one. So the people of a range that ends on or
    after the last day rolled up are those whose `last_day` falls in it, and
    those of them who used two channels in it (omnichannel buyers) those
    whose `second_day` does. The network's row has no channel and no store.
    `who` is the customer id, or an anonymous visitor's key (below zero), as
    in `VisitorDay`. A day's rollup keeps these rows up to date for the
    people it touches (`kpis.rollups.recount_last_seen`, the one rule).
    """

    kind = models.CharField(_("kind"), max_length=1, choices=SeenKind.choices)
    who = models.BigIntegerField(_("customer or visitor key"))
    channel = models.ForeignKey(
        Channel,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("channel"),
        db_index=False,
    )
    location = models.ForeignKey(
        Location,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("location"),
        db_index=False,
    )
    last_day = models.DateField(_("last seen"))
    second_day = models.DateField(_("last seen on two channels"), null=True, blank=True)

    class Meta:
        verbose_name = _("last seen")
        verbose_name_plural = _("last seen")
        indexes = [models.Index(fields=["kind", "who"], name="kpis_lastseen_who_idx")]


class SeenDayCount(models.Model):
    """How many visitors (or buyers) of a scope were last seen on a day, and how many of them on two channels.

    `LastSeen` summed by day: the distinct visitors of a range ending on or
    after the last day rolled up are the sum of `people` from its first day
    on, a few hundred rows whatever the history. The scope is a channel and
    a store, 0 standing for every channel or every store (plain integers, so
    that a day's change is one upsert on the unique key).
    """

    kind = models.CharField(_("kind"), max_length=1, choices=SeenKind.choices)
    channel_id = models.BigIntegerField(_("channel (0: every channel)"))
    location_id = models.BigIntegerField(_("store (0: every store)"))
    day = models.DateField(_("day"))
    people = models.IntegerField(_("last seen that day"), default=0)
    omnichannel = models.IntegerField(_("of whom on two channels"), default=0)

    class Meta:
        verbose_name = _("people last seen on a day")
        verbose_name_plural = _("people last seen on a day")
        constraints = [
            models.UniqueConstraint(fields=["kind", "channel_id", "location_id", "day"], name="kpis_seendaycount_key")
        ]


class SeenSpanCount(models.Model):
    """How many visitors (or buyers) of a scope a range counts on `day`: the distinct people of a range of days
    a..e are the sum of `people` over the rows with a <= `day` <= e and `after_day` < a <= `upto_day`.

    A person's row in the scope on day d has `after_day` the previous day
    they were seen in it (NEVER when none) and `upto_day` d: in a range from
    a, each person is counted once, on their first day in it. Omnichannel
    buyers (`omnichannel`) the same way, on the first day from a on which
    the buyer was in the scope and had bought on two channels anywhere in the
    network: for every a from `after_day` + 1 to `upto_day` that day is
    `day`. Summed per scope, day and pair of days (not per person), so a
    range reads at most its days times the distinct earlier days, whatever
    the number of people. The scope is as in `SeenDayCount`. Kept by
    `kpis.rollups.recount_seen`, the one rule, with `LastSeen`.
    """

    kind = models.CharField(_("kind"), max_length=1, choices=SeenKind.choices)
    channel_id = models.BigIntegerField(_("channel (0: every channel)"))
    location_id = models.BigIntegerField(_("store (0: every store)"))
    day = models.DateField(_("day"))
    after_day = models.DateField(_("counted in ranges starting after"))
    upto_day = models.DateField(_("counted in ranges starting up to"))
    people = models.IntegerField(_("first seen in the range that day"), default=0)
    omnichannel = models.IntegerField(_("first on two channels in the range that day"), default=0)

    class Meta:
        verbose_name = _("people first seen in a range on a day")
        verbose_name_plural = _("people first seen in a range on a day")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "channel_id", "location_id", "day", "after_day", "upto_day"],
                name="kpis_seenspancount_key",
            )
        ]


class CreditReason(models.TextChoices):
    ENDLESS_AISLE = "endless_aisle", _("Endless aisle taken in the store")
    PICKUP = "pickup", _("Collected in the store")
    INFLUENCED = "influenced", _("Customer's previous purchase was in the store")


class StoreCreditDay(models.Model):
    """Online revenue credited to a store on a day, by reason (store incentives)."""

    day = models.DateField(_("day"))
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", verbose_name=_("channel"))
    reason = models.CharField(_("reason"), max_length=20, choices=CreditReason.choices)
    orders = models.IntegerField(_("orders"), default=0)
    revenue = models.DecimalField(_("revenue"), max_digits=14, decimal_places=2, default=0)

    class Meta:
        ordering = ["-day", "location"]
        verbose_name = _("store credit day")
        verbose_name_plural = _("store credit days")
        indexes = [models.Index(fields=["day", "location"], name="kpis_credit_day_idx")]


class JourneyPath(models.Model):
    """How many purchases on a day followed a sequence of channels (e.g. "web > app > store")."""

    day = models.DateField(_("day"))
    channel = models.ForeignKey(Channel, on_delete=models.PROTECT, related_name="+", verbose_name=_("channel"))
    location = models.ForeignKey(
        Location, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("location")
    )
    path = models.CharField(_("channels before the purchase"), max_length=200)
    purchases = models.IntegerField(_("purchases"), default=0)

    class Meta:
        verbose_name = _("journey path")
        verbose_name_plural = _("journey paths")
        indexes = [models.Index(fields=["day", "channel"], name="kpis_journey_day_idx")]
