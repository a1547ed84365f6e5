"""Touchpoint events and stock movements are partitioned by month on PostgreSQL, kept ahead and retired.

Partitions are DDL, and DDL is transactional on PostgreSQL: each test's
changes to them are rolled back with the test's transaction.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from inventory.models import MovementKind, StockMovement
from kpis import services
from kpis.models import EventKey, TouchpointEvent
from omni import partitioning
from omni.partitioning import add_months, month_of, partition_name
from omni.tasks import ensure_partitions
from tests.factories import LocationFactory, VariantFactory

ROME = ZoneInfo("Europe/Rome")
EVENTS = "kpis_touchpointevent"
MOVEMENTS = "inventory_stockmovement"


@pytest.fixture
def pg(db):
    if connection.vendor != "postgresql":
        pytest.skip("declarative partitioning is PostgreSQL's; on SQLite the tables stay plain")


def event(n: int, when: datetime) -> services.EventIn:
    return services.EventIn(event_id=f"part-{n}", type="page_view", occurred_at=when, channel="web", session_id="s")


def partition_of(table: str, pk: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT tableoid::regclass::text FROM {table} WHERE id = %s", [pk])
        return cursor.fetchone()[0]


def this_month() -> date:
    return month_of(timezone.now())


def test_the_migrations_make_a_year_of_months_the_next_ones_and_a_default(pg):
    for table in (EVENTS, MOVEMENTS):
        assert partitioning.is_partitioned(table)
        made = {p.month for p in partitioning.partitions(table)}
        expected = {add_months(this_month(), n) for n in range(-partitioning.MONTHS_BEHIND, 4)}
        assert expected <= made
        assert None in made  # the DEFAULT partition


def test_the_primary_key_in_sql_holds_the_partition_key_and_ids_stay_one_sequence(pg):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = %s::regclass AND contype = 'p'",
            [EVENTS],
        )
        assert cursor.fetchone()[0] == "PRIMARY KEY (id, occurred_at)"
    now = timezone.now()
    services.ingest_events(events=[event(1, now), event(2, now - timedelta(days=200))], refresh=False)
    first, second = TouchpointEvent.objects.order_by("event_id")
    assert first.pk != second.pk
    assert TouchpointEvent.objects.get(pk=second.pk).event_id == "part-2"


def test_an_event_lands_in_the_partition_of_its_rome_month(pg):
    # 23:30 UTC on the last day of a month is already the next month in Rome.
    month = add_months(this_month(), -2)
    last_evening = datetime(month.year, month.month, 1, tzinfo=ROME) - timedelta(minutes=30)
    services.ingest_events(
        events=[event(1, timezone.now()), event(2, last_evening), event(3, datetime(1999, 5, 1, tzinfo=ROME))],
        refresh=False,
    )
    rows = {e.event_id: e for e in TouchpointEvent.objects.all()}
    assert partition_of(EVENTS, rows["part-1"].pk) == partition_name(EVENTS, this_month())
    assert partition_of(EVENTS, rows["part-2"].pk) == partition_name(EVENTS, add_months(month, -1))
    assert partition_of(EVENTS, rows["part-3"].pk) == f"{EVENTS}_default"


def test_a_stock_movement_lands_in_its_month_and_moves_when_its_date_changes(pg):
    movement = StockMovement.objects.create(
        location=LocationFactory(), variant=VariantFactory(), kind=MovementKind.RECEIPT, on_hand_delta=5
    )
    assert partition_of(MOVEMENTS, movement.pk) == partition_name(MOVEMENTS, this_month())
    earlier = add_months(this_month(), -5)
    StockMovement.objects.filter(pk=movement.pk).update(
        created_at=datetime(earlier.year, earlier.month, 9, tzinfo=ROME)
    )
    assert partition_of(MOVEMENTS, movement.pk) == partition_name(MOVEMENTS, earlier)


def test_a_repeated_event_id_counts_once_even_in_another_month(db):
    now = timezone.now()
    first = services.ingest_events(events=[event(1, now)], refresh=False)
    again = services.ingest_events(events=[event(1, now - timedelta(days=90)), event(2, now)], refresh=False)
    assert (first.accepted, again.accepted, again.duplicates) == (1, 1, 1)
    assert TouchpointEvent.objects.filter(event_id="part-1").count() == 1
    assert set(EventKey.objects.values_list("event_id", flat=True)) == {"part-1", "part-2"}


def test_the_scheduled_task_creates_the_next_months_that_are_missing(pg):
    farthest = add_months(this_month(), partitioning.months_ahead())
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE {partition_name(EVENTS, farthest)}")
        cursor.execute(f"DROP TABLE {partition_name(MOVEMENTS, farthest)}")
    created = ensure_partitions()
    assert created == {EVENTS: [partition_name(EVENTS, farthest)], MOVEMENTS: [partition_name(MOVEMENTS, farthest)]}
    assert ensure_partitions() == {EVENTS: [], MOVEMENTS: []}


def test_a_new_month_takes_its_rows_out_of_the_default_partition(pg):
    beyond = add_months(this_month(), 8)
    when = datetime(beyond.year, beyond.month, 3, 12, tzinfo=ROME)
    services.ingest_events(events=[event(1, when)], refresh=False)
    pk = TouchpointEvent.objects.get().pk
    assert partition_of(EVENTS, pk) == f"{EVENTS}_default"
    created = partitioning.ensure_partitions(EVENTS, through=beyond)
    assert created[-1] == partition_name(EVENTS, beyond)
    assert partition_of(EVENTS, pk) == partition_name(EVENTS, beyond)
    assert TouchpointEvent.objects.count() == 1


def test_a_month_is_created_on_a_server_binding_connection_with_rome_midnights_as_bounds(pg):
    # DDL takes no parameters: with server-side binding a bound passed as %s reached PostgreSQL as $1.
    assert connection.settings_dict["OPTIONS"]["server_side_binding"] is True
    with connection.cursor() as cursor:
        assert not isinstance(cursor.cursor, psycopg.ClientCursor)
    july = date(this_month().year + 2, 7, 1)  # summer time: midnight in Rome is 22:00 UTC
    assert partitioning.ensure_partitions(MOVEMENTS, since=july, through=july) == [partition_name(MOVEMENTS, july)]
    start, end = datetime(july.year, 7, 1, tzinfo=ROME), datetime(july.year, 8, 1, tzinfo=ROME)
    movement = StockMovement.objects.create(
        location=LocationFactory(), variant=VariantFactory(), kind=MovementKind.RECEIPT, on_hand_delta=1
    )
    placed = {}
    for label, when in {
        "before": start - timedelta(microseconds=1),
        "first": start,
        "last": end - timedelta(microseconds=1),
        "after": end,
    }.items():
        StockMovement.objects.filter(pk=movement.pk).update(created_at=when)
        placed[label] = partition_of(MOVEMENTS, movement.pk)
    assert placed == {
        "before": f"{MOVEMENTS}_default",
        "first": partition_name(MOVEMENTS, july),
        "last": partition_name(MOVEMENTS, july),
        "after": f"{MOVEMENTS}_default",
    }


def test_partition_bounds_are_written_as_iso_literals_of_rome_midnights():
    assert partitioning._bounds_sql(date(2027, 7, 1)) == (
        "FROM ('2027-07-01T00:00:00+02:00') TO ('2027-08-01T00:00:00+02:00')"
    )
    # Before 1893 Rome kept local mean time: an offset with seconds, still a plain moment.
    assert partitioning._bounds_sql(date(1850, 1, 1)).startswith("FROM ('1850-01-01T00:00:00+00:49:56')")


def test_a_partition_bound_that_is_not_a_plain_moment_never_becomes_sql(monkeypatch):
    odd = datetime(2027, 7, 1, tzinfo=ROME)
    monkeypatch.setattr(partitioning, "month_bounds", lambda month: (odd, odd.replace(microsecond=5)))
    with pytest.raises(ValueError, match="not a partition bound"):
        partitioning._bounds_sql(date(2027, 7, 1))


def test_a_date_range_query_reads_only_the_partitions_of_its_months(pg):
    month = add_months(this_month(), -3)
    start = datetime(month.year, month.month, 5, tzinfo=ROME)
    plan = TouchpointEvent.objects.filter(occurred_at__gte=start, occurred_at__lt=start + timedelta(days=40)).explain()
    scanned = {name for name in partitioning_names(EVENTS) if name in plan}
    assert scanned == {partition_name(EVENTS, month), partition_name(EVENTS, add_months(month, 1))}


def test_a_day_rollup_reads_only_its_month(pg):
    from kpis.rollups import events_of_days

    day = add_months(this_month(), -2) + timedelta(days=10)
    plan = events_of_days(day, day).explain()
    assert {name for name in partitioning_names(EVENTS) if name in plan} == {partition_name(EVENTS, month_of(day))}


def partitioning_names(table: str) -> list[str]:
    return [p.name for p in partitioning.partitions(table)]


def test_retention_archives_detaches_and_drops_the_months_before_the_cutoff(pg, tmp_path):
    now = timezone.now()
    old_month = add_months(this_month(), -6)
    old_when = datetime(old_month.year, old_month.month, 2, 10, tzinfo=ROME)
    ancient = datetime(1999, 5, 1, tzinfo=ROME)  # in the DEFAULT partition, which is never detached
    services.ingest_events(
        events=[event(1, old_when), event(2, old_when), event(3, now), event(4, ancient)], refresh=False
    )
    cutoff = add_months(this_month(), -4)
    old_names = [p.name for p in partitioning.partitions(EVENTS) if p.month and p.month < cutoff]

    call_command("detach_old_partitions", "--before", f"{cutoff:%Y-%m}", "--archive", str(tmp_path), "--dry-run")
    assert set(partitioning_names(EVENTS)) >= set(old_names)
    assert list(tmp_path.iterdir()) == []
    assert TouchpointEvent.objects.count() == 4

    call_command("detach_old_partitions", "--before", f"{cutoff:%Y-%m}", "--archive", str(tmp_path))
    left = partitioning.partitions(EVENTS)
    assert all(p.month is None or p.month >= cutoff for p in left)
    assert sorted(e.event_id for e in TouchpointEvent.objects.all()) == ["part-3", "part-4"]
    assert sorted(EventKey.objects.values_list("event_id", flat=True)) == ["part-3", "part-4"]
    with (tmp_path / f"{partition_name(EVENTS, old_month)}.csv").open() as archived:
        rows = list(csv.DictReader(archived))
    assert sorted(r["event_id"] for r in rows) == ["part-1", "part-2"]
    assert {f"{name}.csv" for name in old_names} <= {f.name for f in tmp_path.iterdir()}
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [partition_name(EVENTS, old_month)])
        assert cursor.fetchone()[0] is None  # archived, then dropped


def test_retention_without_an_archive_keeps_the_detached_month_as_a_plain_table(pg):
    old_month = add_months(this_month(), -6)
    services.ingest_events(events=[event(1, datetime(old_month.year, old_month.month, 2, tzinfo=ROME))], refresh=False)
    call_command("detach_old_partitions", "--before", f"{add_months(old_month, 1):%Y-%m}", "--table", EVENTS)
    assert TouchpointEvent.objects.count() == 0
    assert partition_name(EVENTS, old_month) not in partitioning_names(EVENTS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT event_id FROM {partition_name(EVENTS, old_month)}")
        assert cursor.fetchall() == [("part-1",)]
    assert partition_name(MOVEMENTS, old_month) in partitioning_names(MOVEMENTS)


def index_count(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_index WHERE indrelid = %s::regclass", [table])
        return cursor.fetchone()[0]


def test_the_migration_can_be_undone_and_redone_keeping_rows_ids_and_indexes(pg):
    services.ingest_events(
        events=[event(1, timezone.now()), event(2, datetime(1999, 5, 1, tzinfo=ROME))], refresh=False
    )
    rows = sorted(TouchpointEvent.objects.values_list("pk", "event_id", "occurred_at"))
    indexes = index_count(EVENTS)
    with connection.schema_editor() as editor:
        partitioning.unpartition_table(editor, EVENTS)
    assert not partitioning.is_partitioned(EVENTS)
    assert sorted(TouchpointEvent.objects.values_list("pk", "event_id", "occurred_at")) == rows
    assert index_count(EVENTS) == indexes
    with connection.schema_editor() as editor:
        partitioning.partition_table(editor, EVENTS)
    assert partitioning.is_partitioned(EVENTS)
    assert sorted(TouchpointEvent.objects.values_list("pk", "event_id", "occurred_at")) == rows
    assert index_count(EVENTS) == indexes
    assert partition_of(EVENTS, rows[0][0]) == partition_name(EVENTS, this_month())
    services.ingest_events(events=[event(3, timezone.now())], refresh=False)
    assert TouchpointEvent.objects.get(event_id="part-3").pk > max(pk for pk, *_ in rows)
