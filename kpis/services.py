"""Writes of kpis: ingesting touchpoint events and social figures, and recomputing rollups.

Every function owns its transaction. Ingestion is set-based: a batch costs a
fixed number of queries whatever its size (lookups of the codes it names,
one bulk insert, one count).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from customers.models import Customer, Identifier, IdentifierKind
from kpis import rollups
from kpis.models import (
    BuyerDay,
    DailyFigures,
    EventKey,
    JourneyPath,
    PeriodCount,
    RollupDay,
    SeenKind,
    SocialMetric,
    StoreCreditDay,
    TouchpointEvent,
    VisitorDay,
)
from omni import outbox
from omni.catalog.models import Channel, Location, Product, Variant
from omni.errors import Invalid

REFRESH_TASK = "kpis.refresh_day"
COUNT_TASK = "kpis.count_periods"
ROLLUP_MODELS = (DailyFigures, BuyerDay, VisitorDay, StoreCreditDay, JourneyPath)
# A rebuild of a long range is cut into transactions of this many days.
REBUILD_CHUNK_DAYS = 31
# The advisory lock (PostgreSQL) under which `LastSeen` changes: any fixed number, taken by kpis alone.
LAST_SEEN_LOCK = 7_231_005


@dataclass(frozen=True)
class EventIn:
    """One touchpoint event as received (codes and ids not yet resolved)."""

    event_id: str
    type: str
    occurred_at: datetime
    channel: str
    session_id: str = ""
    device_id: str = ""
    customer: int | None = None
    location: str | None = None
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    duplicates: int
    days: list[date]


def ingest_events(*, events: Sequence[EventIn], refresh: bool = True) -> IngestResult:
    """Store a batch of events once each and schedule the refresh of the days they fall on.

    An event id seen before (in an earlier batch or earlier in this one) is
    not stored again and counts as a duplicate. Customers are resolved to the
    survivor of a merge; events with a device already linked to a customer
    get that customer. Raises Invalid (nothing written) for an unknown
    channel, location or customer, naming the item's field.
    """
    unique: dict[str, EventIn] = {}
    for event in events:
        unique.setdefault(event.event_id, event)
    channels = dict(Channel.objects.filter(code__in={e.channel for e in events}).values_list("code", "pk"))
    locations = dict(
        Location.objects.filter(code__in={e.location for e in events if e.location}).values_list("code", "pk")
    )
    customers = _live_customers({e.customer for e in events if e.customer})
    devices = dict(
        Identifier.objects.filter(
            kind=IdentifierKind.DEVICE, value__in={e.device_id for e in events if e.device_id}
        ).values_list("value", "customer_id")
    )
    products = _products(events)

    errors: dict[str, list[str]] = {}
    for index, event in enumerate(events):
        if event.channel not in channels:
            errors[f"{index}.channel"] = [f"Unknown channel {event.channel}."]
        if event.location and event.location not in locations:
            errors[f"{index}.location"] = [f"Unknown location {event.location}."]
        if event.customer and event.customer not in customers:
            errors[f"{index}.customer"] = [f"Unknown customer {event.customer}."]
    if errors:
        raise Invalid("Some events name things that do not exist; nothing was stored.", errors)

    batch = uuid.uuid4()
    rows = [
        TouchpointEvent(
            event_id=e.event_id,
            type=e.type,
            occurred_at=e.occurred_at,
            day=timezone.localdate(e.occurred_at),
            channel_id=channels[e.channel],
            session_id=e.session_id,
            device_id=e.device_id,
            customer_id=customers[e.customer] if e.customer else devices.get(e.device_id) if e.device_id else None,
            location_id=locations[e.location] if e.location else None,
            product_id=products.get(_product_key(e.properties)),
            properties=e.properties,
            batch=batch,
        )
        for e in unique.values()
    ]
    with transaction.atomic():
        fresh = _claim_event_ids(rows)
        rows = [row for row in rows if row.event_id in fresh]
        TouchpointEvent.objects.bulk_create(rows, batch_size=1000)
        accepted = len(rows)
        days = sorted({row.day for row in rows})
        if refresh:
            for day in days:
                outbox.enqueue(REFRESH_TASK, day=day.isoformat())
    return IngestResult(accepted=accepted, duplicates=len(events) - accepted, days=days)


def _claim_event_ids(rows: Sequence[TouchpointEvent]) -> set[str]:
    """Record the ids of `rows` as seen and return those that were not seen before.

    One `INSERT ... ON CONFLICT DO NOTHING RETURNING` per batch into
    `EventKey`, whose primary key is the id: a concurrent batch with the same
    id waits for this one's commit and then finds it taken, so an id is
    stored once, in whichever month its event falls.
    """
    if not rows:
        return set()
    table = EventKey._meta.db_table
    size = connection.ops.bulk_batch_size(["event_id", "occurred_at"], rows) or len(rows)
    fresh: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            chunk = rows[start : start + size]
            params: list[Any] = []
            for row in chunk:
                params += [row.event_id, connection.ops.adapt_datetimefield_value(row.occurred_at)]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            cursor.execute(
                f"INSERT INTO {table} (event_id, occurred_at) VALUES {values} "
                "ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                params,
            )
            fresh.update(event_id for (event_id,) in cursor.fetchall())
    return fresh


def _live_customers(ids: set[int]) -> dict[int, int]:
    """Each given customer id mapped to the customer it is now (the survivor of its merges)."""
    found: dict[int, int | None] = {}
    pending = set(ids)
    for _ in range(5):  # merges chain rarely; a few hops are plenty
        if not pending:
            break
        rows = dict(Customer.objects.filter(pk__in=pending).values_list("pk", "merged_into_id"))
        found.update(rows)
        pending = {target for target in rows.values() if target is not None and target not in found}

    def resolve(pk: int) -> int:
        seen = set()
        while found.get(pk) is not None and pk not in seen:
            seen.add(pk)
            pk = found[pk]  # type: ignore[assignment]
        return pk

    return {pk: resolve(pk) for pk in ids if pk in found}


def _product_key(properties: dict[str, Any]) -> tuple[str, str] | None:
    if isinstance(properties.get("sku"), str):
        return ("sku", properties["sku"])
    if isinstance(properties.get("product"), str):
        return ("product", properties["product"])
    return None


def _products(events: Iterable[EventIn]) -> dict[tuple[str, str] | None, int]:
    keys = {_product_key(e.properties) for e in events} - {None}
    skus = {value for kind, value in keys if kind == "sku"}  # type: ignore[misc]
    codes = {value for kind, value in keys if kind == "product"}  # type: ignore[misc]
    found: dict[tuple[str, str] | None, int] = {}
    if skus:
        found.update(
            (("sku", sku), pk) for sku, pk in Variant.objects.filter(sku__in=skus).values_list("sku", "product_id")
        )
    if codes:
        found.update(
            (("product", code), pk) for code, pk in Product.objects.filter(code__in=codes).values_list("code", "pk")
        )
    return found


@dataclass(frozen=True)
class SocialFiguresIn:
    date: date
    network: str
    likes: int = 0
    shares: int = 0
    comments: int = 0
    mentions: int = 0
    followers: int = 0


SOCIAL_FIGURES = ("likes", "shares", "comments", "mentions", "followers")
DEFAULT_SOCIAL_NETWORKS = ("instagram", "facebook", "tiktok", "youtube", "linkedin", "pinterest", "x", "threads")


def social_networks() -> tuple[str, ...]:
    """The networks whose figures Omni accepts (setting `KPIS_SOCIAL_NETWORKS`, lower case)."""
    names = getattr(settings, "KPIS_SOCIAL_NETWORKS", DEFAULT_SOCIAL_NETWORKS)
    return tuple(str(name).strip().lower() for name in names)


def network_problem(network: str) -> str | None:
    """What is wrong with a network name (None when it is a known network): a typo would split a network's figures."""
    name = network.strip().lower()
    if not name:
        return "Required."
    if name not in social_networks():
        return f"Unknown network {network.strip()!r}: one of {', '.join(social_networks())}."
    return None


def save_social_figures(*, rows: Sequence[SocialFiguresIn]) -> int:
    """Insert or replace the figures of each (date, network) in one statement. Returns how many were saved.

    A (date, network) given twice keeps the last. Raises Invalid for a
    figure below zero or a network Omni does not know (nothing written).
    """
    errors = {
        f"{index}.{name}": ["Must be zero or more."]
        for index, row in enumerate(rows)
        for name in SOCIAL_FIGURES
        if getattr(row, name) < 0
    }
    for index, row in enumerate(rows):
        if problem := network_problem(row.network):
            errors[f"{index}.network"] = [problem]
    if errors:
        raise Invalid("Some social figures cannot be stored; nothing was stored.", errors)
    latest = {(row.date, row.network.strip().lower()): row for row in rows}
    objects = [
        SocialMetric(date=day, network=network, **{name: getattr(row, name) for name in SOCIAL_FIGURES})
        for (day, network), row in latest.items()
    ]
    with transaction.atomic():
        SocialMetric.objects.bulk_create(
            objects,
            batch_size=1000,
            update_conflicts=True,
            unique_fields=["date", "network"],
            update_fields=[*SOCIAL_FIGURES, "updated_at"],
        )
    return len(objects)


@dataclass(frozen=True)
class RebuildResult:
    days: int
    rows: dict[str, int]


def rebuild(*, start: date, end: date) -> RebuildResult:
    """Recompute the rollups of every day from `start` to `end` (inclusive) from the raw rows.

    The days are computed a chunk at a time (memory stays flat) but replaced
    in one transaction, under a lock on their `RollupDay` rows taken in day
    order, so two refreshes of the same day queue instead of doubling its
    rows, and a run that dies half way (a killed worker) leaves the old
    figures of every day. Idempotent: the same raw rows give the same rollups.
    The distinct counts of the periods those days belong to are dropped with
    the old rows and counted again after the commit (`count_periods`).
    """
    if end < start:
        raise Invalid("The end is before the start.", {"to": ["Must be on or after from."]})
    totals: dict[str, int] = {model._meta.model_name or "": 0 for model in ROLLUP_MODELS}
    chunk_start = start
    with transaction.atomic():
        lock_last_seen()
        while chunk_start <= end:
            chunk_end = min(end, chunk_start + timedelta(days=REBUILD_CHUNK_DAYS - 1))
            for name, count in _rebuild_chunk(chunk_start, chunk_end).items():
                totals[name] += count
            chunk_start = chunk_end + timedelta(days=1)
    count_periods(start=start, end=end)
    return RebuildResult(days=(end - start).days + 1, rows=totals)


def _rebuild_chunk(start: date, end: date) -> dict[str, int]:
    days = [start + timedelta(days=n) for n in range((end - start).days + 1)]
    with transaction.atomic():
        RollupDay.objects.bulk_create([RollupDay(day=d) for d in days], ignore_conflicts=True)
        list(RollupDay.objects.select_for_update().filter(day__gte=start, day__lte=end).order_by("day"))
        # Who is seen on these days keeps, for now, the last day of their other days (see recount_last_seen).
        for kind in SeenKind.values:
            rollups.recount_seen(kind, rollups.seen_in_days(kind, start, end), leaving_out=(start, end))
        for model in ROLLUP_MODELS:
            model.objects.filter(day__gte=start, day__lte=end).delete()
        drop_period_counts(start=start, end=end)
        computed = rollups.compute(start, end)
        written = {
            "dailyfigures": len(DailyFigures.objects.bulk_create(computed.figures, batch_size=2000)),
            "buyerday": len(BuyerDay.objects.bulk_create(computed.buyers, batch_size=2000)),
            "visitorday": len(VisitorDay.objects.bulk_create(computed.visitors, batch_size=2000)),
            "storecreditday": len(StoreCreditDay.objects.bulk_create(computed.credits, batch_size=2000)),
            "journeypath": len(JourneyPath.objects.bulk_create(computed.paths, batch_size=2000)),
        }
        for kind in SeenKind.values:
            rollups.recount_seen(kind, rollups.seen_in_days(kind, start, end), counted_leaving_out=(start, end))
        RollupDay.objects.filter(day__gte=start, day__lte=end).update(refreshed_at=timezone.now())
    return written


def lock_last_seen() -> None:
    """Take, until the commit, the lock that lets one transaction at a time change `LastSeen` (PostgreSQL).

    Two refreshes of different days may touch the same visitor's rows; each
    replaces them from what it reads, so they must not interleave. Taken
    before any `RollupDay` lock (a rebuild, a merge), so the order of locks
    is the same everywhere. SQLite lets one writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LAST_SEEN_LOCK])


def recount_last_seen() -> None:
    """Recount every `LastSeen`, `SeenDayCount` and `SeenSpanCount` row from the rollup rows (after rows were
    written some other way, e.g. SQL)."""
    with transaction.atomic():
        lock_last_seen()
        for kind in SeenKind.values:
            rollups.recount_seen(kind)


def drop_period_counts(*, start: date, end: date) -> int:
    """Forget the distinct counts of every period with a day in start..end; call it where those days change."""
    touching = Q()
    for granularity in rollups.GRANULARITIES:
        touching |= Q(granularity=granularity, start__gte=rollups.period_start(start, granularity), start__lte=end)
    return PeriodCount.objects.filter(touching).delete()[0]


def follow_merge(*, survivor: Customer, merged: Customer) -> int:
    """A merge: `merged`'s buyer- and visitor-days become `survivor`'s; two people counted apart become one.

    Registered for both tables: the first call moves both, the second finds
    nothing. Locks the `RollupDay` rows of the days moved (in day order, as
    rebuilds and counts do), forgets the counts of their periods and asks
    for them to be counted again after the commit.
    """
    moved = [model.objects.filter(customer=merged) for model in (BuyerDay, VisitorDay)]
    days = sorted({day for rows in moved for day in rows.values_list("day", flat=True).distinct().order_by()})
    if not days:
        return 0
    lock_last_seen()
    list(RollupDay.objects.select_for_update().filter(day__in=days).order_by("day"))
    touching = Q()
    for granularity in rollups.GRANULARITIES:
        touching |= Q(granularity=granularity, start__in={rollups.period_start(day, granularity) for day in days})
    PeriodCount.objects.filter(touching).delete()
    both = ("SELECT %s UNION ALL SELECT %s", [merged.pk, survivor.pk])
    # Two people counted apart until now: their share is taken off as it stands, then they are counted as one.
    for kind in SeenKind.values:
        rollups.recount_seen(kind, both, leaving_out=rollups.ALL_DAYS)
    count = sum(rows.update(customer=survivor) for rows in moved)
    for kind in SeenKind.values:
        rollups.recount_seen(kind, both, counted_leaving_out=rollups.ALL_DAYS)
    outbox.enqueue(COUNT_TASK, start=days[0].isoformat(), end=days[-1].isoformat())
    return count


def count_periods(*, start: date, end: date) -> int:
    """Count the visitors and buyers of every finished day, week and month with a day in start..end that is
    not counted yet and whose days are all rolled up. Returns how many periods were counted.

    Locks the `RollupDay` rows of those periods in day order, as a rebuild
    does, so no day of them changes while they are counted. Run it outside a
    rebuild's transaction: one that already holds some days would wait on
    the other days' refreshes, which wait on it. Only on PostgreSQL (the
    reads count everything live elsewhere).
    """
    if connection.vendor != "postgresql":
        return 0
    yesterday = timezone.localdate() - timedelta(days=1)
    end = min(end, yesterday)
    wanted = {g: rollups.whole_periods(start, end, g) for g in rollups.GRANULARITIES} if start <= end else {}
    wanted = {g: [span for span in spans if span[1] <= yesterday] for g, spans in wanted.items()}
    spans = [span for found in wanted.values() for span in found]
    if not spans:
        return 0
    counted = 0
    with transaction.atomic():
        low, high = min(first for first, _ in spans), max(last for _, last in spans)
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT day FROM kpis_rollupday WHERE day >= %s AND day <= %s ORDER BY day FOR UPDATE", [low, high]
            )
            rolled_up = {rollups.as_date(day) for (day,) in cursor.fetchall()}
        for granularity, found in wanted.items():
            done = set(
                PeriodCount.objects.filter(
                    granularity=granularity, start__in=[first for first, _ in found], channel=None, location=None
                ).values_list("start", flat=True)
            )
            missing = [
                first
                for first, last in found
                if first not in done
                and all(first + timedelta(days=n) in rolled_up for n in range((last - first).days + 1))
            ]
            if missing:
                PeriodCount.objects.bulk_create(rollups.period_counts(granularity, missing), batch_size=2000)
                counted += len(missing)
    return counted


def refresh_day(*, day: date) -> RebuildResult:
    """Recompute one day (after a sale, a return or a batch of events on it)."""
    return rebuild(start=day, end=day)


def link_device(*, customer: Customer, value: str) -> int:
    """A device identifier was attached to `customer`: its anonymous events become theirs.

    One UPDATE; the days those events fall on are refreshed after the commit
    (visitors counted by device become the customer). Returns the events moved.
    """
    events = TouchpointEvent.objects.filter(device_id=value, customer__isnull=True)
    days = sorted(set(events.values_list("day", flat=True).distinct().order_by()))
    moved = events.update(customer=customer)
    for day in days:
        outbox.enqueue(REFRESH_TASK, day=day.isoformat())
    return moved


def erase_events(*, customer: Customer) -> dict[str, int]:
    """Erasure: the customer's events stay (the figures keep adding up) but lose their device and properties.

    They stay linked to the customer's anonymous shell, as orders do.
    """
    count = TouchpointEvent.objects.filter(customer=customer).update(device_id="", properties={})
    return {"events_anonymised": count}
