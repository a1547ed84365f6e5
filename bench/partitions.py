"""Events ingested per second into the monthly-partitioned events table, against the plain table of before.

Three ways, each over the same batches of 1,000 events spread over the last
twelve months, on a table of the same size (each run's rows are deleted
before the next):

- now: the partitioned table, ids claimed in `kpis_eventkey` (`services.ingest_events`);
- the plain table with the same code: what partitioning itself costs;
- before: the plain table with its unique index on `event_id`, one
  `INSERT ... ON CONFLICT DO NOTHING` and a count of the batch's rows, as
  ingestion was written before the partitions.

The table is turned plain and partitioned again with the migration's own
functions, and the time of that conversion is reported as rows per second.
PostgreSQL only (on SQLite the tables are always plain: nothing to compare).
"""

from __future__ import annotations

import time
import uuid
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from bench.harness import Result
from kpis import services
from kpis.models import EventKey, TouchpointEvent
from omni import partitioning
from omni.catalog.models import Channel

TABLE = "kpis_touchpointevent"
PREFIX = "bench-part-"
# The table the batches go into: a year of events, enough for a per-batch scan of it to show.
BASE_ROWS = 1_000_000


def batches(count: int, size: int, run: str) -> list[list[services.EventIn]]:
    now = timezone.now()
    return [
        [
            services.EventIn(
                event_id=f"{PREFIX}{run}-{b}-{n}",
                type="page_view",
                occurred_at=now - timedelta(minutes=(b * size + n) * 37 % (365 * 24 * 60)),
                channel="web",
                session_id=f"s-{b}-{n // 10}",
                device_id=f"d-{b}-{n // 10}",
                properties={"path": f"/p/{n}"},
            )
            for n in range(size)
        ]
        for b in range(count)
    ]


def ingest_as_before(events: list[services.EventIn]) -> int:
    """Ingestion as written before the partitions: the unique index on event_id refuses repeats."""
    batch = uuid.uuid4()
    channel_id = Channel.objects.get(code="web").pk
    rows = [
        TouchpointEvent(
            event_id=e.event_id,
            type=e.type,
            occurred_at=e.occurred_at,
            day=timezone.localdate(e.occurred_at),
            channel_id=channel_id,
            session_id=e.session_id,
            device_id=e.device_id,
            properties=e.properties,
            batch=batch,
        )
        for e in events
    ]
    with transaction.atomic():
        TouchpointEvent.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        stored = TouchpointEvent.objects.filter(batch=batch)
        accepted = stored.count()
        sorted(set(stored.values_list("day", flat=True).distinct().order_by()))
    return accepted


def ingest_now(events: list[services.EventIn]) -> int:
    return services.ingest_events(events=events, refresh=False).accepted


def events_per_second(ingest, work: list[list[services.EventIn]]) -> float:
    began = time.perf_counter()
    stored = sum(ingest(events) for events in work)
    elapsed = time.perf_counter() - began
    assert stored == sum(len(events) for events in work), "every bench event is new"
    return stored / elapsed


def forget_bench_rows() -> None:
    with transaction.atomic():
        TouchpointEvent.objects.filter(event_id__startswith=PREFIX).delete()
        EventKey.objects.filter(event_id__startswith=PREFIX).delete()
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {TABLE}")


def ensure_base_rows(target: int) -> None:
    """At least `target` events over the last year in the table (and their ids), written in SQL, kept between runs."""
    have = TouchpointEvent.objects.filter(event_id__startswith="bench-base-").count()
    if have >= target:
        return
    channel_id = Channel.objects.get(code="web").pk
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {TABLE} (event_id, type, occurred_at, day, channel_id, session_id, device_id,
                                 properties, batch, received_at)
            SELECT 'bench-base-' || n, 'page_view', at, (at AT TIME ZONE 'Europe/Rome')::date, %s,
                   's-' || (n / 10), 'd-' || (n / 10), '{{}}'::jsonb, gen_random_uuid(), now()
            FROM (SELECT n, now() - (n %% 525600) * interval '1 minute' AS at
                  FROM generate_series(%s, %s) AS n) AS g
            """,
            [channel_id, have, target - 1],
        )
        cursor.execute(
            "INSERT INTO kpis_eventkey (event_id, occurred_at) SELECT event_id, occurred_at FROM "
            f"{TABLE} WHERE event_id LIKE 'bench-base-%%' ON CONFLICT DO NOTHING"
        )
        cursor.execute(f"ANALYZE {TABLE}")


def convert(to_partitioned: bool) -> float:
    """Seconds the migration's conversion takes on the table as it is."""
    began = time.perf_counter()
    with transaction.atomic(), connection.schema_editor() as editor:
        if to_partitioned:
            with connection.cursor() as cursor:
                cursor.execute(f"DROP INDEX IF EXISTS {TABLE}_event_id_unique")
            partitioning.partition_table(editor, TABLE)
        else:
            partitioning.unpartition_table(editor, TABLE)
    return time.perf_counter() - began


def run(*, repeat: int, smoke: bool) -> list[Result]:
    if connection.vendor != "postgresql":
        return []
    count, size = (2, 50) if smoke else (max(repeat // 2, 10), 1000)
    ensure_base_rows(2_000 if smoke else BASE_ROWS)
    forget_bench_rows()
    rows = TouchpointEvent.objects.count()
    figures: dict[str, list[float]] = {"now": [], "plain": [], "before": []}
    rounds = 1 if smoke else 3
    for r in range(rounds):
        figures["now"].append(events_per_second(ingest_now, batches(count, size, f"n{r}")))
        forget_bench_rows()
        convert(to_partitioned=False)
        figures["plain"].append(events_per_second(ingest_now, batches(count, size, f"p{r}")))
        forget_bench_rows()
        with connection.cursor() as cursor:
            # The table as it was: a unique index on event_id in place of the plain one.
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s "
                "AND indexdef LIKE %s AND indexdef NOT LIKE %s",
                [TABLE, "%(event_id)", "%UNIQUE%"],
            )
            plain_index = cursor.fetchone()
            cursor.execute(f"DROP INDEX {plain_index[0]}")
            cursor.execute(f"CREATE UNIQUE INDEX {TABLE}_event_id_unique ON {TABLE} (event_id)")
        figures["before"].append(events_per_second(ingest_as_before, batches(count, size, f"b{r}")))
        forget_bench_rows()
        with connection.cursor() as cursor:
            cursor.execute(plain_index[1])
        seconds = convert(to_partitioned=True)
    assert partitioning.is_partitioned(TABLE)
    best = {name: max(values) for name, values in figures.items()}
    note = f"{count} batches of {size} events over 12 months, into a table of {rows} rows; best of {rounds} rounds"
    return [
        Result(
            name="events ingested, monthly partitions",
            figure=best["now"],
            unit="events/s",
            baseline=best["before"],
            baseline_name="plain table, unique event_id (before)",
            target=">= 0.8 x before",
            notes=note,
        ),
        Result(
            name="events ingested, same code on a plain table",
            figure=best["plain"],
            unit="events/s",
            baseline=best["now"],
            baseline_name="monthly partitions",
            notes="what partitioning itself costs or saves; " + note,
        ),
        Result(
            name="events table converted to monthly partitions",
            figure=rows / seconds if seconds else 0.0,
            unit="rows/s",
            baseline=seconds,
            baseline_name=f"seconds for {rows} rows",
            notes="the migration's partition_table, in one transaction",
        ),
    ]
