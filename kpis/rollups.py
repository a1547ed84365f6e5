"""How the rollup rows of a range of days are computed from the raw rows of every app.

Each function runs a handful of grouped queries (GROUP BY day, channel,
location) over the range and returns unsaved rollup rows; none loops over
orders in Python except `journey_paths`, which walks the identified
purchases of the range once (a path is a sequence, which SQL cannot group
portably). `kpis.services.rebuild` deletes the range and inserts these rows
in one transaction.

Decisions written down once:
- revenue is the order `total` (merchandise after discounts, including the
  part paid with points); cancelled orders count nowhere;
- a day is the Europe/Rome day of `created_at` (orders, ledger entries) or
  of `occurred_at` (events);
- returns come from `returns.selectors.daily_return_figures` (returns sits
  on the floor below kpis, which reads every app below it).
"""

from __future__ import annotations

import bisect
import hashlib
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Coalesce, NullIf, TruncDate

from customers.selectors import is_identified
from kpis.models import (
    BuyerDay,
    CreditReason,
    DailyFigures,
    EventType,
    JourneyPath,
    LastSeen,
    PeriodCount,
    SeenDayCount,
    SeenKind,
    SeenSpanCount,
    StoreCreditDay,
    TouchpointEvent,
    VisitorDay,
)
from loyalty.models import EntryKind, LedgerEntry
from omni.catalog.models import Channel, ChannelCode
from omni.orders.models import FulfilmentType, Order, OrderLine, OrderStatus
from returns.selectors import daily_return_figures

ROME = ZoneInfo("Europe/Rome")
ONLINE = (ChannelCode.WEB, ChannelCode.APP)
PICKUP_FULFILMENTS = (FulfilmentType.CLICK_AND_COLLECT, FulfilmentType.SHIP_TO_STORE)
# The states of an order for pick-up that has not reached its customer yet.
AWAITING_PICKUP = (OrderStatus.PLACED, OrderStatus.SHIPPED, OrderStatus.READY_FOR_PICKUP)
# The longest path of channels kept before a purchase (the most recent steps).
PATH_STEPS = 4

GRANULARITIES = ("day", "week", "month")
# Each granularity's period start as PostgreSQL computes it from a `day` column.
PG_PERIODS = {
    "day": "day",
    "week": "date_trunc('week', day)::date",
    "month": "date_trunc('month', day)::date",
    "total": "NULL::date",
}


def influence_days() -> int:
    """An online order is credited to the store of the customer's previous purchase within this many days."""
    return int(getattr(settings, "KPIS_INFLUENCE_DAYS", 30))


def journey_days() -> int:
    """Touchpoints this many days before a purchase count as its journey (research online, visit a store)."""
    return int(getattr(settings, "KPIS_JOURNEY_DAYS", 14))


def day_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The aware instants at which Europe/Rome day `start` begins and the day after `end` begins."""
    return datetime.combine(start, time.min, tzinfo=ROME), datetime.combine(end + timedelta(days=1), time.min, ROME)


def events_of_days(start: date, end: date) -> QuerySet[TouchpointEvent]:
    """The events of Europe/Rome days `start` to `end`, bounded on `occurred_at` too.

    `day` is the Rome day of `occurred_at`, so the second bound selects
    nothing more; it is there because the events are partitioned by month of
    `occurred_at` (PostgreSQL): with it a day's rollup reads one month's
    partition instead of every month's index on `day`.
    """
    low, high = day_bounds(start, end)
    return TouchpointEvent.objects.filter(day__gte=start, day__lte=end, occurred_at__gte=low, occurred_at__lt=high)


def rome_day(field_name: str) -> TruncDate:
    return TruncDate(field_name, tzinfo=ROME)


def as_date(value: Any) -> date:
    """Dates read back from raw SQL or SQLite may be strings."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value)[:10])


def channel_ids() -> dict[str, int]:
    return dict(Channel.objects.values_list("code", "pk"))


def live_orders(start: date, end: date) -> QuerySet[Order]:
    low, high = day_bounds(start, end)
    return (
        Order.objects.filter(created_at__gte=low, created_at__lt=high).exclude(status=OrderStatus.CANCELLED).order_by()
    )


@dataclass
class Rollup:
    """The rows of every rollup table for a range of days, unsaved."""

    figures: list[DailyFigures] = field(default_factory=list)
    buyers: list[BuyerDay] = field(default_factory=list)
    visitors: list[VisitorDay] = field(default_factory=list)
    credits: list[StoreCreditDay] = field(default_factory=list)
    paths: list[JourneyPath] = field(default_factory=list)


def compute(start: date, end: date) -> Rollup:
    channels = channel_ids()
    return Rollup(
        figures=daily_figures(start, end, channels),
        buyers=buyer_days(start, end, channels),
        visitors=visitor_days(start, end),
        credits=store_credits(start, end, channels),
        paths=journey_paths(start, end, channels),
    )


def daily_figures(start: date, end: date, channels: dict[str, int]) -> list[DailyFigures]:
    rows: dict[tuple[date, int | None, int | None], DailyFigures] = {}

    def row(day: Any, channel_id: int | None, location_id: int | None) -> DailyFigures:
        key = (as_date(day), channel_id, location_id)
        if key not in rows:
            rows[key] = DailyFigures(day=key[0], channel_id=channel_id, location_id=location_id)
        return rows[key]

    orders = live_orders(start, end)
    sales = (
        orders.annotate(d=rome_day("created_at"))
        .values("d", "channel_id", "location_id")
        .annotate(
            n=Count("pk"),
            amount=Sum("total"),
            identified=Count("pk", filter=is_identified()),
            collect=Count("pk", filter=Q(fulfilment_type=FulfilmentType.CLICK_AND_COLLECT)),
            aisle=Count("pk", filter=Q(is_endless_aisle=True)),
            aisle_amount=Sum("total", filter=Q(is_endless_aisle=True)),
        )
    )
    for s in sales:
        r = row(s["d"], s["channel_id"], s["location_id"])
        r.orders, r.revenue, r.identified_orders = s["n"], s["amount"] or Decimal("0"), s["identified"]
        r.click_and_collect_orders, r.endless_aisle_orders = s["collect"], s["aisle"]
        r.endless_aisle_revenue = s["aisle_amount"] or Decimal("0")

    units = (
        OrderLine.objects.filter(order__in=orders.values("pk"))
        .annotate(d=rome_day("order__created_at"))
        .values("d", ch=F("order__channel_id"), loc=F("order__location_id"))
        .annotate(n=Sum("quantity"))
        .order_by()
    )
    for u in units:
        row(u["d"], u["ch"], u["loc"]).units = u["n"] or 0

    low, high = day_bounds(start, end)
    points = (
        LedgerEntry.objects.filter(
            created_at__gte=low, created_at__lt=high, kind__in=[EntryKind.EARN, EntryKind.REDEEM]
        )
        .annotate(d=rome_day("created_at"))
        .values("d", "channel", order_channel=F("order__channel_id"), loc=F("order__location_id"))
        .annotate(
            issued=Sum("points", filter=Q(kind=EntryKind.EARN)),
            taken=Sum("points", filter=Q(kind=EntryKind.REDEEM)),
        )
        .order_by()
    )
    for p in points:
        r = row(p["d"], channels.get(p["channel"]) or p["order_channel"], p["loc"])
        r.points_issued += p["issued"] or 0
        r.points_redeemed += -(p["taken"] or 0)

    traffic = (
        events_of_days(start, end)
        .values("day", "channel_id", "location_id")
        .annotate(
            n=Count("pk"),
            distinct_sessions=Count("session_id", distinct=True, filter=~Q(session_id="")),
            views=Count("pk", filter=Q(type=EventType.PRODUCT_VIEW)),
            visits=Count("pk", filter=Q(type=EventType.STORE_VISIT)),
        )
        .order_by()
    )
    for t in traffic:
        r = row(t["day"], t["channel_id"], t["location_id"])
        r.events, r.sessions, r.product_views, r.store_visits = t["n"], t["distinct_sessions"], t["views"], t["visits"]

    for x in daily_return_figures(start, end):
        r = row(x["day"], x["channel_id"], x["location_id"])
        r.returns += int(x["returns"])
        r.returned_units += int(x["units"])
        r.returned_amount += Decimal(x["amount"])
    return list(rows.values())


def visitor_days(start: date, end: date) -> list[VisitorDay]:
    """One row per day, channel, location and visitor: the customer when known, else the device, else the session."""
    key = Case(
        When(customer__isnull=False, then=Value("")),
        default=Coalesce(NullIf("device_id", Value("")), NullIf("session_id", Value("")), Value("")),
    )
    seen = (
        events_of_days(start, end)
        .annotate(who=key)
        .exclude(customer__isnull=True, who="")
        .values_list("day", "channel_id", "location_id", "customer_id", "who")
        .distinct()
        .order_by()
    )
    return [
        VisitorDay(
            day=as_date(d),
            channel_id=ch,
            location_id=loc,
            customer_id=cust,
            visitor_key=None if cust is not None else visitor_key(who),
        )
        for d, ch, loc, cust, who in seen
    ]


def visitor_key(text: str) -> int:
    """An anonymous visitor's device or session as a 64-bit integer below zero (the same on every database).

    Customer ids are above zero, so the two never meet in one COUNT(DISTINCT).
    Two different keys share a number with odds of about 1 in 10^19 per pair.
    """
    digest = hashlib.blake2b(text.encode(), digest_size=8).digest()
    return -(int.from_bytes(digest, "big") >> 1) - 1


def buyer_days(start: date, end: date, channels: dict[str, int]) -> list[BuyerDay]:
    """Identified buyers per day, channel and store, with whether they researched online or visited a store first."""
    window = timedelta(days=journey_days())
    online_ids = [channels[c] for c in ONLINE if c in channels]
    store_id = channels.get(ChannelCode.STORE, 0)
    before = {
        "customer": OuterRef("customer"),
        "occurred_at__lt": OuterRef("created_at"),
        "occurred_at__gte": OuterRef("window_start"),
    }
    viewed_bought_product = Exists(
        TouchpointEvent.objects.filter(
            type=EventType.PRODUCT_VIEW,
            channel_id__in=online_ids,
            product_id__in=OrderLine.objects.filter(order=OuterRef(OuterRef("pk"))).values("variant__product_id"),
            **before,
        )
    )
    visited = Exists(TouchpointEvent.objects.filter(type=EventType.STORE_VISIT, **before))
    flagged = (
        live_orders(start, end)
        .filter(customer__isnull=False)
        .annotate(
            d=rome_day("created_at"),
            window_start=ExpressionWrapper(F("created_at") - window, output_field=DateTimeField()),
        )
        .annotate(
            researched=Case(
                When(Q(channel_id=store_id) & viewed_bought_product, then=Value(1)),
                default=Value(0),
                output_field=IntegerField(),
            ),
            went_to_store=Case(
                When(~Q(channel_id=store_id) & visited, then=Value(1)), default=Value(0), output_field=IntegerField()
            ),
        )
        .values("d", "channel_id", "location_id", "customer_id")
        .annotate(r=Max("researched"), v=Max("went_to_store"))
        .order_by()
    )
    return [
        BuyerDay(
            day=as_date(b["d"]),
            channel_id=b["channel_id"],
            location_id=b["location_id"],
            customer_id=b["customer_id"],
            researched_online=bool(b["r"]),
            visited_store=bool(b["v"]),
        )
        for b in flagged
    ]


def store_credits(start: date, end: date, channels: dict[str, int]) -> list[StoreCreditDay]:
    """Online sales credited to the store that started them; each order is credited once, for one reason.

    In order of precedence: an endless-aisle order to the store that took it;
    an order collected in a store (click & collect, ship to store) to that
    store, once it has been collected (one still awaiting its customer is
    credited to no one yet: a refresh of its day follows the collection);
    an online order whose customer's previous purchase, within the
    influence window, was in a store, to that store.
    """
    store_id = channels.get(ChannelCode.STORE, 0)
    orders = live_orders(start, end).annotate(d=rome_day("created_at"))
    totals = {"n": Count("pk"), "amount": Sum("total")}
    collected = Q(pickup_location__isnull=False, fulfilment_type__in=PICKUP_FULFILMENTS)
    awaiting_pickup = Q(status__in=AWAITING_PICKUP)
    previous = (
        Order.objects.filter(customer=OuterRef("customer"), created_at__lt=OuterRef("created_at"))
        .exclude(status=OrderStatus.CANCELLED)
        .order_by("-created_at", "-pk")
    )
    window = timedelta(days=influence_days())
    groups = [
        (
            CreditReason.ENDLESS_AISLE,
            orders.filter(is_endless_aisle=True, location__isnull=False).values(
                "d", "channel_id", store=F("location_id")
            ),
        ),
        (
            CreditReason.PICKUP,
            orders.filter(collected, is_endless_aisle=False)
            .exclude(channel_id=store_id)
            .exclude(awaiting_pickup)
            .values("d", "channel_id", store=F("pickup_location_id")),
        ),
        (
            CreditReason.INFLUENCED,
            orders.filter(is_endless_aisle=False, customer__isnull=False)
            .exclude(channel_id=store_id)
            .exclude(collected)
            .annotate(
                prev_channel=Subquery(previous.values("channel_id")[:1]),
                prev_store=Subquery(previous.values("location_id")[:1]),
                prev_at=Subquery(previous.values("created_at")[:1]),
            )
            .filter(
                prev_channel=store_id,
                prev_store__isnull=False,
                prev_at__gte=ExpressionWrapper(F("created_at") - window, output_field=DateTimeField()),
            )
            .values("d", "channel_id", store=F("prev_store")),
        ),
    ]
    credits = []
    for reason, grouped in groups:
        for g in grouped.annotate(**totals).order_by():
            credits.append(
                StoreCreditDay(
                    day=as_date(g["d"]),
                    location_id=g["store"],
                    channel_id=g["channel_id"],
                    reason=reason,
                    orders=g["n"],
                    revenue=g["amount"] or Decimal("0"),
                )
            )
    return credits


def journey_paths(start: date, end: date, channels: dict[str, int]) -> list[JourneyPath]:
    """Count identified purchases by the channels their buyer touched in the days before (last steps first)."""
    codes = {pk: code for code, pk in channels.items()}
    window = timedelta(days=journey_days())
    purchases = list(
        live_orders(start, end)
        .filter(customer__isnull=False)
        .annotate(d=rome_day("created_at"))
        .values_list("customer_id", "created_at", "channel_id", "location_id", "d")
    )
    if not purchases:
        return []
    low, high = day_bounds(start, end)
    touched: dict[int, tuple[list[datetime], list[int]]] = defaultdict(lambda: ([], []))
    events = (
        TouchpointEvent.objects.filter(
            customer_id__in=live_orders(start, end).filter(customer__isnull=False).values("customer_id"),
            occurred_at__gte=low - window,
            occurred_at__lt=high,
        )
        .order_by("customer_id", "occurred_at", "pk")
        .values_list("customer_id", "occurred_at", "channel_id")
    )
    for customer_id, occurred_at, channel_id in events.iterator(chunk_size=5000):
        moments, steps = touched[customer_id]
        moments.append(occurred_at)
        steps.append(channel_id)
    counts: Counter[tuple[date, int, int | None, str]] = Counter()
    for customer_id, created_at, channel_id, location_id, d in purchases:
        path: list[str] = []
        if customer_id in touched:
            moments, steps = touched[customer_id]
            first = bisect.bisect_left(moments, created_at - window)
            last = bisect.bisect_left(moments, created_at)
            for step in steps[first:last]:
                code = codes.get(step, "?")
                if not path or path[-1] != code:
                    path.append(code)
        path = path[-PATH_STEPS:] + [codes.get(channel_id, "?")]
        counts[(as_date(d), channel_id, location_id, " > ".join(path))] += 1
    return [
        JourneyPath(day=d, channel_id=ch, location_id=loc, path=path, purchases=n)
        for (d, ch, loc, path), n in counts.items()
    ]


def period_start(day: date, granularity: str) -> date:
    if granularity == "week":
        return day - timedelta(days=day.weekday())
    if granularity == "month":
        return day.replace(day=1)
    return day


def period_end(day: date, granularity: str) -> date:
    """The last day of the (whole) period `day` falls in."""
    if granularity == "week":
        return period_start(day, "week") + timedelta(days=6)
    if granularity == "month":
        return (day.replace(day=1) + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return day


def whole_periods(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    """Every whole period (first and last day) that has a day in start..end."""
    found = []
    cursor = period_start(start, granularity)
    while cursor <= end:
        last = period_end(cursor, granularity)
        found.append((cursor, last))
        cursor = last + timedelta(days=1)
    return found


def days_sql(spans: list[tuple[date, date]]) -> tuple[str, list[Any]]:
    """A condition on `day` selecting the (ordered) spans, adjacent ones joined, and its parameters."""
    runs: list[list[date]] = []
    for start, end in spans:
        if runs and runs[-1][1] + timedelta(days=1) == start:
            runs[-1][1] = end
        else:
            runs.append([start, end])
    return "(" + " OR ".join(["(day >= %s AND day <= %s)"] * len(runs)) + ")", [day for run in runs for day in run]


def period_counts(granularity: str, starts: Iterable[date]) -> list[PeriodCount]:
    """The distinct visitors and buyers of the given whole periods for every scope that has any (PostgreSQL).

    Scopes: the whole network (always a row, the period's mark), each channel,
    each store, each channel in each store. A buyer is omnichannel when they
    bought on two channels or more anywhere in the network during the period,
    as `kpis.selectors` counts them live.
    """
    spans = [(first, period_end(first, granularity)) for first in sorted(set(starts))]
    if not spans:
        return []
    wanted = {first for first, _ in spans}
    days, params = days_sql(spans)
    period = PG_PERIODS[granularity]
    sets = "GROUPING SETS ((p), (p, channel_id), (p, location_id), (p, channel_id, location_id))"
    rows: dict[tuple[date, int | None, int | None], PeriodCount] = {
        (first, None, None): PeriodCount(granularity=granularity, start=first) for first in wanted
    }

    def row(p: Any, grouped: int, channel_id: int | None, location_id: int | None) -> PeriodCount | None:
        # GROUPING() has bit 2 set when the channel is summed over, bit 1 when the store is.
        channel_key = None if grouped & 2 else channel_id
        location_key = None if grouped & 1 else location_id
        if as_date(p) not in wanted or (not grouped & 1 and location_id is None):
            return None  # outside the periods asked for, or online rows by "no store", which no scope selects
        key = (as_date(p), channel_key, location_key)
        if key not in rows:
            rows[key] = PeriodCount(
                granularity=granularity, start=key[0], channel_id=channel_key, location_id=location_key
            )
        return rows[key]

    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT p, GROUPING(channel_id, location_id), channel_id, location_id, COUNT(DISTINCT v) "
            f"FROM (SELECT {period} AS p, channel_id, location_id, COALESCE(customer_id, visitor_key) AS v "
            f"FROM kpis_visitorday WHERE {days}) x GROUP BY {sets}",
            params,
        )
        for p, grouped, channel_id, location_id, n in cursor.fetchall():
            if (found := row(p, grouped, channel_id, location_id)) is not None:
                found.visitors = n
        cursor.execute(
            f"WITH per AS (SELECT {period} AS p, customer_id, MIN(channel_id) <> MAX(channel_id) AS omni "
            f"FROM kpis_buyerday WHERE {days} GROUP BY 1, 2) "
            "SELECT p, GROUPING(channel_id, location_id), channel_id, location_id, COUNT(DISTINCT customer_id), "
            "COUNT(DISTINCT customer_id) FILTER (WHERE omni) "
            f"FROM (SELECT {period} AS p, channel_id, location_id, customer_id FROM kpis_buyerday "
            f"WHERE {days}) b JOIN per USING (p, customer_id) GROUP BY {sets}",
            [*params, *params],
        )
        for p, grouped, channel_id, location_id, buyers, omnichannel in cursor.fetchall():
            if (found := row(p, grouped, channel_id, location_id)) is not None:
                found.buyers, found.omnichannel_buyers = buyers, omnichannel
    return list(rows.values())


# Where each kind of `LastSeen` row comes from: the rollup table, who a row of it is, and the condition that
# finds someone's rows through the table's indexes ({0}: "IN (...)" or "= ANY(ARRAY(...))").
SEEN_SOURCES = {
    SeenKind.VISITOR: (
        "kpis_visitorday",
        "COALESCE(customer_id, visitor_key)",
        "(customer_id {0} OR (customer_id IS NULL AND visitor_key {0}))",
    ),
    SeenKind.BUYER: ("kpis_buyerday", "customer_id", "customer_id {0}"),
}


def seen_in_days(kind: str, start: date, end: date) -> tuple[str, list[Any]]:
    """A subquery of who has a row of `kind` on a day of start..end, and its parameters."""
    table, who, _ = SEEN_SOURCES[kind]
    return f"SELECT {who} FROM {table} WHERE day >= %s AND day <= %s", [start, end]


def recount_last_seen(
    kind: str, whos: tuple[str, list[Any]] | None = None, leaving_out: tuple[date, date] | None = None
):
    """Replace the `LastSeen` rows of `kind` of the people `whos` selects (a subquery and its parameters;
    everyone when None) with those their rollup rows give now, the rows of the days `leaving_out` left out,
    and move `SeenDayCount` by the difference: `recount_seen`'s part for those two tables (and what migration
    0005 ran).

    A day's rollup calls it twice for the
    people of its days: before their rows are replaced, from their other
    days (so someone no longer seen on those days keeps an earlier last
    day), then after, from all their days. A merge calls it for the two
    customers, and a full recount (`services.recount_last_seen`) for
    everyone. Plain SQL that runs on PostgreSQL and SQLite alike (window
    functions: SQLite 3.25+; upserts: 3.24+).
    """
    table, who, find = SEEN_SOURCES[kind]
    seen, counts = LastSeen._meta.db_table, SeenDayCount._meta.db_table
    pick = mine = ""
    pick_params: list[Any] = []
    mine_params: list[Any] = []
    if whos is not None:
        # = ANY(ARRAY(...)): PostgreSQL then probes the indexes for each of them instead of hashing the table.
        among = f"= ANY(ARRAY({whos[0]}))" if connection.vendor == "postgresql" else f"IN ({whos[0]})"
        pick, mine = f" AND {find.format(among)}", f" AND who {among}"
        pick_params, mine_params = list(whos[1]) * find.count("{0}"), list(whos[1])
    skip, skip_params = ("", []) if leaving_out is None else (" AND (day < %s OR day > %s)", list(leaving_out))
    # What the rows of these people add to the count of each scope and day (their last days, their second days).
    moved = (
        f"INSERT INTO {counts} (kind, channel_id, location_id, day, people, omnichannel) "
        "SELECT kind, COALESCE(channel_id, 0), COALESCE(location_id, 0), d, {sign} SUM(p), {sign} SUM(o) FROM ("
        f"SELECT kind, channel_id, location_id, last_day AS d, 1 AS p, 0 AS o FROM {seen} WHERE kind = %s{mine} "
        f"UNION ALL SELECT kind, channel_id, location_id, second_day, 0, 1 FROM {seen} "
        f"WHERE kind = %s AND second_day IS NOT NULL{mine}) x WHERE 1 = 1 "
        "GROUP BY kind, COALESCE(channel_id, 0), COALESCE(location_id, 0), d "
        "ON CONFLICT (kind, channel_id, location_id, day) DO UPDATE SET "
        f"people = {counts}.people + excluded.people, omnichannel = {counts}.omnichannel + excluded.omnichannel"
    )
    both = "CASE WHEN n.second_m IS NULL THEN NULL WHEN n.second_m < {day} THEN n.second_m ELSE {day} END"
    with connection.cursor() as cursor:
        if whos is None:
            cursor.execute(f"DELETE FROM {counts} WHERE kind = %s", [kind])
        else:
            cursor.execute(moved.format(sign="-"), [kind, *mine_params, kind, *mine_params])
        cursor.execute(f"DELETE FROM {seen} WHERE kind = %s{mine}", [kind, *mine_params])
        # Per channel: the last day on it. The network's last day is the latest of those, its second the next
        # one (another channel's); every other scope's second day is the earlier of its own last and that one.
        cursor.execute(
            f"WITH src AS (SELECT {who} AS w, day, channel_id, location_id FROM {table} WHERE 1 = 1{pick}{skip}), "
            "per_channel AS (SELECT w, channel_id, MAX(day) AS m FROM src GROUP BY w, channel_id), "
            "ranked AS (SELECT w, m, ROW_NUMBER() OVER (PARTITION BY w ORDER BY m DESC) AS r FROM per_channel), "
            "net AS (SELECT w, MAX(m) AS last_m, MAX(CASE WHEN r = 2 THEN m END) AS second_m FROM ranked GROUP BY w), "
            "per_store AS (SELECT w, channel_id, location_id, MAX(day) AS m FROM src WHERE location_id IS NOT NULL "
            "GROUP BY w, channel_id, location_id) "
            f"INSERT INTO {seen} (kind, who, channel_id, location_id, last_day, second_day) "
            "SELECT %s, w, CAST(NULL AS bigint), CAST(NULL AS bigint), last_m, second_m FROM net "
            f"UNION ALL SELECT %s, p.w, p.channel_id, CAST(NULL AS bigint), p.m, {both.format(day='p.m')} "
            "FROM per_channel p JOIN net n ON n.w = p.w "
            f"UNION ALL SELECT %s, p.w, CAST(NULL AS bigint), p.location_id, MAX(p.m), {both.format(day='MAX(p.m)')} "
            "FROM per_store p JOIN net n ON n.w = p.w GROUP BY p.w, p.location_id, n.second_m "
            f"UNION ALL SELECT %s, p.w, p.channel_id, p.location_id, p.m, {both.format(day='p.m')} "
            "FROM per_store p JOIN net n ON n.w = p.w",
            [*pick_params, *skip_params, kind, kind, kind, kind],
        )
        cursor.execute(moved.format(sign=""), [kind, *mine_params, kind, *mine_params])


# Before any day a rollup holds: `after_day` of someone's first day in a scope.
NEVER = date(1, 1, 1)
# Every day: the rows "left out" of someone who is not counted (before a merge moves their rows, after it).
ALL_DAYS = (NEVER, date(9999, 12, 31))


def recount_seen(
    kind: str,
    whos: tuple[str, list[Any]] | None = None,
    leaving_out: tuple[date, date] | None = None,
    counted_leaving_out: tuple[date, date] | None = None,
) -> None:
    """The one rule that writes `LastSeen`, `SeenDayCount` and `SeenSpanCount`: the people `whos` selects
    (everyone when None) are counted from their rollup rows now, the days `leaving_out` left out.

    `counted_leaving_out` says what the tables count them from until now:
    their rows now, those days left out (a day's rollup after it replaced the
    day's rows; a merge after it moved them). `LastSeen` keeps each person's
    rows, so it needs no such hint; `SeenSpanCount` is summed over people,
    so their old share is taken off first, computed from the rows as they
    were counted. A day's rollup calls it before replacing the day's rows
    (leaving them out) and after (counted leaving them out); a merge before
    moving the rows (leaving out every day) and after (counted leaving out
    every day); a full recount (`services.recount_last_seen`) for everyone.
    """
    with joined_by_hash():
        recount_last_seen(kind, whos, leaving_out)
        recount_spans(kind, whos, leaving_out, counted_leaving_out)


@contextmanager
def joined_by_hash() -> Iterator[None]:
    """No nested-loop joins for the statements inside (PostgreSQL, in a transaction; elsewhere nothing changes).

    The recounts pick their people with `= ANY(ARRAY(subquery))`, an array
    whose length the planner cannot know: it guesses a few dozen rows and
    then joins the CTEs built from them by nested loops, each row of one
    against every row of the other. Right for a merge's two customers;
    quadratic for the thousands of buyers a month of a 10^7-line year
    brings (one recount of one month's buyers was still running after 4
    minutes). Hash joins cost next to nothing at the small end, so the
    choice is taken away for these statements alone: the setting is put back
    as it was when the block ends.
    """
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('enable_nestloop'), set_config('enable_nestloop', 'off', true)")
        (before, _) = cursor.fetchone()
    # On an error the enclosing atomic block rolls back, and the setting with it (settings follow savepoints).
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config('enable_nestloop', %s, true)", [before])


def recount_spans(
    kind: str,
    whos: tuple[str, list[Any]] | None = None,
    leaving_out: tuple[date, date] | None = None,
    counted_leaving_out: tuple[date, date] | None = None,
) -> None:
    """`SeenSpanCount`'s part of `recount_seen`: take off what `whos` add to it counted from their rows with
    `counted_leaving_out` left out, add what they add with `leaving_out` left out. Plain SQL (PostgreSQL and
    SQLite alike), one or two statements each way; only the buyers' second pass counts omnichannel."""
    table = SeenSpanCount._meta.db_table
    with connection.cursor() as cursor:
        if whos is None:
            cursor.execute(f"DELETE FROM {table} WHERE kind = %s", [kind])
        else:
            for sql, params in _span_statements(kind, whos, counted_leaving_out, "-"):
                cursor.execute(sql, params)
        for sql, params in _span_statements(kind, whos, leaving_out, ""):
            cursor.execute(sql, params)
        if whos is not None:
            # Rows nobody is counted in any more (a day's people moved to other days): not kept.
            cursor.execute(f"DELETE FROM {table} WHERE kind = %s AND people = 0 AND omnichannel = 0", [kind])


def _span_statements(
    kind: str, whos: tuple[str, list[Any]] | None, leaving_out: tuple[date, date] | None, sign: str
) -> list[tuple[str, list[Any]]]:
    """The upserts that add (sign "") or take off (sign "-") what `whos`' rows add to `SeenSpanCount`."""
    table, who, find = SEEN_SOURCES[kind]
    spans = SeenSpanCount._meta.db_table
    pick, pick_params = "", []
    if whos is not None:
        among = f"= ANY(ARRAY({whos[0]}))" if connection.vendor == "postgresql" else f"IN ({whos[0]})"
        pick, pick_params = f" AND {find.format(among)}", list(whos[1]) * find.count("{0}")
    skip, skip_params = ("", []) if leaving_out is None else (" AND (day < %s OR day > %s)", list(leaving_out))
    # Each person's days in each scope (0: every channel, every store).
    common = (
        f"WITH src AS (SELECT {who} AS w, day, channel_id, location_id FROM {table} WHERE 1 = 1{pick}{skip}), "
        "scoped AS (SELECT w, 0 AS ch, 0 AS loc, day FROM src "
        "UNION SELECT w, channel_id, 0, day FROM src "
        "UNION SELECT w, 0, location_id, day FROM src WHERE location_id IS NOT NULL "
        "UNION SELECT w, channel_id, location_id, day FROM src WHERE location_id IS NOT NULL)"
    )
    params = [*pick_params, *skip_params]
    upsert = (
        f"ON CONFLICT (kind, channel_id, location_id, day, after_day, upto_day) DO UPDATE SET "
        f"people = {spans}.people + excluded.people, omnichannel = {spans}.omnichannel + excluded.omnichannel"
    )
    insert = f"INSERT INTO {spans} (kind, channel_id, location_id, day, after_day, upto_day, people, omnichannel) "
    # Everyone, on each day they are seen in a scope: counted from any first day after their previous one.
    statements = [
        (
            f"{common}, plain AS (SELECT ch, loc, day, "
            "COALESCE(LAG(day) OVER (PARTITION BY w, ch, loc ORDER BY day), %s) AS after_day FROM scoped) "
            f"{insert}SELECT %s, ch, loc, day, after_day, day, {sign}COUNT(*), 0 FROM plain "
            f"WHERE 1 = 1 GROUP BY ch, loc, day, after_day {upsert}",
            [*params, NEVER, kind],
        )
    ]
    if kind != SeenKind.BUYER:
        return statements
    # Omnichannel buyers. `o`: on each day, the latest day (up to it) the buyer bought on a channel other than
    # one of that day's; it never decreases. From a first day a, the buyer has two channels from the first day
    # whose `o` reaches a: a "jump" row (prev_o < a <= o). In a scope they count from the later of that day and
    # their first day in the scope from a; both change only at a scope day or a jump's `o`, the candidates h.
    statements.append(
        (
            f"{common}, dch AS (SELECT DISTINCT w, day, channel_id FROM src), "
            "net AS (SELECT r.w, r.day, MAX(x.day) AS o FROM dch r JOIN dch x "
            "ON x.w = r.w AND x.day <= r.day AND x.channel_id <> r.channel_id GROUP BY r.w, r.day), "
            "jumps AS (SELECT w, day, o, prev_o FROM (SELECT w, day, o, "
            "LAG(o) OVER (PARTITION BY w ORDER BY day) AS prev_o FROM net) j WHERE prev_o IS NULL OR o > prev_o), "
            "cand AS (SELECT w, ch, loc, day AS h FROM scoped "
            "UNION SELECT s.w, s.ch, s.loc, j.o FROM scoped s JOIN jumps j ON j.w = s.w), "
            "firsts AS (SELECT c.w, c.ch, c.loc, c.h, MIN(x.day) AS f FROM cand c JOIN scoped x "
            "ON x.w = c.w AND x.ch = c.ch AND x.loc = c.loc AND x.day >= c.h GROUP BY c.w, c.ch, c.loc, c.h), "
            "pieces AS (SELECT p.w, p.ch, p.loc, p.h, "
            "LAG(p.h) OVER (PARTITION BY p.w, p.ch, p.loc ORDER BY p.h) AS lo, "
            "CASE WHEN p.f > j.day THEN p.f ELSE j.day END AS d FROM firsts p JOIN jumps j "
            "ON j.w = p.w AND j.o >= p.h AND (j.prev_o IS NULL OR j.prev_o < p.h)), "
            "merged AS (SELECT ch, loc, d, MIN(COALESCE(lo, %s)) AS lo, MAX(h) AS hi FROM pieces "
            "GROUP BY w, ch, loc, d) "
            f"{insert}SELECT %s, ch, loc, d, lo, hi, 0, {sign}COUNT(*) FROM merged "
            f"WHERE 1 = 1 GROUP BY ch, loc, d, lo, hi {upsert}",
            [*params, NEVER, kind],
        )
    )
    return statements
