"""A range that ends on the last day rolled up counts its distinct visitors and buyers from `LastSeen`, and any
other range (a month begun in the middle, one that ended before the last day) from `SeenSpanCount`: exactly the
figures of a live count, kept by the day's rollup and a merge as a rebuild and a full recount would make them."""

from __future__ import annotations

import random
import re
from collections import defaultdict
from datetime import date, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.services import merge_customers
from kpis import selectors, services
from kpis.models import BuyerDay, LastSeen, SeenDayCount, SeenSpanCount, TouchpointEvent, VisitorDay
from omni.catalog.models import Channel
from tests.factories import CustomerFactory, LocationFactory
from tests.kpis.conftest import at

pytestmark = pytest.mark.django_db

FIRST = date(2025, 1, 27)
DAYS = 70


def seen_table() -> tuple[list[tuple], list[tuple], list[tuple]]:
    """Every `LastSeen` row, every `SeenDayCount` row that counts anyone, and every `SeenSpanCount` row."""
    seen = LastSeen.objects.values_list("kind", "who", "channel_id", "location_id", "last_day", "second_day")
    counts = SeenDayCount.objects.exclude(people=0, omnichannel=0).values_list(
        "kind", "channel_id", "location_id", "day", "people", "omnichannel"
    )
    spans = SeenSpanCount.objects.values_list(
        "kind", "channel_id", "location_id", "day", "after_day", "upto_day", "people", "omnichannel"
    )
    return sorted(seen, key=repr), sorted(counts, key=repr), sorted(spans, key=repr)


def reads_rollup_rows(sql: str) -> bool:
    """Whether a statement reads buyer- or visitor-day rows (beyond their last day, MAX(day): one index probe)."""
    return bool(re.search(r'kpis_(visitor|buyer)day"? WHERE', sql))


def write_history(history, rng: random.Random, *, customers: list, stores: list, rows: int, days: int = DAYS) -> None:
    """Orders and page views on random days, channels, stores and people (some anonymous devices)."""
    for _ in range(rows):
        day = FIRST + timedelta(days=rng.randrange(days))
        who = rng.choice([*customers, None])
        code = rng.choice(["store", "web", "app", "call_center"])
        where = rng.choice(stores) if code == "store" else None
        if rng.random() < 0.5:
            history.order(code, "10.00", location=where, customer=who, when=at(day, rng.randrange(8, 20)))
        else:
            device = "" if who else f"device-{rng.randrange(8)}"
            history.event(code, "page_view", customer=who, device=device, location=where, when=at(day, 7))


def plain_counts(scope: selectors.Scope) -> tuple[int, int, int]:
    """Visitors, buyers and omnichannel buyers of the scope, in plain Python over the rollup rows."""

    def in_scope(row) -> bool:
        return (scope.channel is None or row.channel_id == scope.channel.pk) and (
            scope.location is None or row.location_id == scope.location.pk
        )

    days = {"day__gte": scope.start, "day__lte": scope.end}
    visitors = {row.customer_id or row.visitor_key for row in VisitorDay.objects.filter(**days) if in_scope(row)}
    channels: dict[int, set[int]] = defaultdict(set)
    hit = set()
    for row in BuyerDay.objects.filter(**days):
        channels[row.customer_id].add(row.channel_id)
        if in_scope(row):
            hit.add(row.customer_id)
    return len(visitors), len(hit), sum(1 for who in hit if len(channels[who]) >= 2)


def live_counts(scope: selectors.Scope) -> tuple[int, int, int]:
    """The same, from the live GROUP BY the reads make when `LastSeen` cannot answer."""
    spans = selectors.periods(scope.start, scope.end, "month")
    visitors = selectors._visitors(scope, "month", True, spans, True).get(None, 0)
    buyers, omnichannel = selectors._buyers(scope, "month", True, spans, True).get(None, (0, 0))
    return visitors, buyers, omnichannel


def test_day_by_day_rollups_keep_the_table_a_rebuild_and_a_full_recount_make(history):
    rng = random.Random(23)
    stores = [LocationFactory(code=f"S{n}") for n in range(3)]
    write_history(history, rng, customers=[CustomerFactory() for _ in range(10)], stores=stores, rows=220)
    days = [FIRST + timedelta(days=n) for n in range(DAYS)]
    # The nightly refreshes and the refreshes after sales, in any order, some days twice.
    for day in rng.sample(days, len(days)) + rng.sample(days, 10):
        services.refresh_day(day=day)
    day_by_day = seen_table()
    assert len({row[0] for row in day_by_day[0]}) == 2  # visitors and buyers both
    assert not SeenDayCount.objects.filter(people__lt=0).exists()
    assert not SeenSpanCount.objects.filter(people__lt=0).exists()
    assert SeenSpanCount.objects.filter(kind="b", omnichannel__gt=0).exists()

    services.rebuild(start=days[0], end=days[-1])
    assert seen_table() == day_by_day
    services.recount_last_seen()
    assert seen_table() == day_by_day

    # The last day with anyone in it loses its events and orders: its people fall back to an earlier day.
    last = max(VisitorDay.objects.order_by("-day").values_list("day", flat=True)[:1])
    TouchpointEvent.objects.filter(day=last).delete()
    for order in history_orders_on(last):
        order.delete()
    services.refresh_day(day=last)
    after = seen_table()
    services.recount_last_seen()
    assert seen_table() == after != day_by_day
    assert not LastSeen.objects.filter(last_day=last).exists()


def history_orders_on(day: date):
    from omni.orders.models import Order

    low, high = at(day, 0), at(day + timedelta(days=1), 0)
    return list(Order.objects.filter(created_at__gte=low, created_at__lt=high))


def test_a_merge_leaves_the_table_a_full_recount_makes(history, store):
    at_the_till, on_the_web = CustomerFactory(), CustomerFactory()
    history.order("store", "10.00", location=store, customer=at_the_till, when=at(date(2025, 3, 3)))
    history.order("web", "10.00", customer=on_the_web, when=at(date(2025, 3, 20)))
    history.event("web", "page_view", customer=on_the_web, when=at(date(2025, 3, 20), 9))
    history.roll(date(2025, 3, 1), date(2025, 3, 20))
    scope = selectors.Scope(start=date(2025, 2, 15), end=date(2025, 3, 20))
    before = selectors.kpi_summary(scope, "month")[0]
    assert (before["buyers"], before["omnichannel_buyers"], before["visitors"]) == (2, 0, 1)

    merge_customers(survivor=at_the_till, merged=on_the_web)

    merged = seen_table()
    services.recount_last_seen()
    assert seen_table() == merged
    after = selectors.kpi_summary(scope, "month")[0]
    assert (after["buyers"], after["omnichannel_buyers"], after["visitors"]) == (1, 1, 1)
    assert after["omnichannel_customer_share"] == 1


def test_ranges_ending_on_or_after_the_last_day_and_before_it_count_exactly_what_a_live_count_does(history):
    rng = random.Random(7)
    stores = [LocationFactory(code=f"S{n}") for n in range(3)]
    write_history(history, rng, customers=[CustomerFactory() for _ in range(12)], stores=stores, rows=200)
    history.roll(FIRST, FIRST + timedelta(days=DAYS - 1))
    last = max(
        VisitorDay.objects.order_by("-day").values_list("day", flat=True)[0],
        BuyerDay.objects.order_by("-day").values_list("day", flat=True)[0],
    )
    channels = list(Channel.objects.filter(code__in=["store", "web", "app"]))
    answered = 0
    for _ in range(40):
        ending_today = rng.random() < 0.6
        end = (
            last + timedelta(days=rng.randrange(0, 30)) if ending_today else last - timedelta(days=rng.randrange(1, 40))
        )
        start = end - timedelta(days=rng.randrange(0, 120))
        scope = selectors.Scope(
            start=start,
            end=end,
            channel=rng.choice([None, None, *channels]),
            location=rng.choice([None, None, *stores]),
        )
        seen = selectors._last_seen(scope, [scope.start])[scope.start]
        assert bool(seen) == ending_today  # a range ending before the last day is counted live
        answered += bool(seen)
        expected = plain_counts(scope)
        assert live_counts(scope) == expected
        if seen:
            assert (seen["visitors"], seen["buyers"], seen["omnichannel_buyers"]) == expected
            # Read from the counts by day: no buyer or visitor row of the range is read.
            with CaptureQueriesContext(connection) as queries:
                selectors.kpi_summary(scope, "total")
            assert not [q for q in queries.captured_queries if reads_rollup_rows(q["sql"])]
        for granularity in ("month", "total"):
            total, rows = selectors.kpi_summary(scope, granularity)
            assert (total["visitors"], total["buyers"], total["omnichannel_buyers"]) == expected, (scope, granularity)
            # Each period too: the last one ends with the scope, so it is read from the counts by day as well.
            for row in rows:
                period = selectors.Scope(row["start"], row["end"], channel=scope.channel, location=scope.location)
                assert (row["visitors"], row["buyers"], row["omnichannel_buyers"]) == plain_counts(period)
            for name in ("omnichannel_customer_share", "conversion_rate", "identified_sales_share"):
                assert total[name] is None or 0 <= total[name] <= 1
    assert answered >= 15


def test_months_of_a_range_ending_today_cost_the_same_queries_whatever_the_rows(history):
    """Ten times the people: the same statements, and (PostgreSQL) none reads the range's buyer or visitor rows."""
    rng = random.Random(3)
    stores = [LocationFactory(code=f"S{n}") for n in range(2)]
    # Three whole months, not one period: each month is counted ahead, the whole is not.
    scope = selectors.Scope(start=date(2025, 2, 1), end=date(2025, 4, 30))

    def year_read() -> list[str]:
        history.roll(FIRST, scope.end)
        services.count_periods(start=scope.start, end=scope.end)
        with CaptureQueriesContext(connection) as queries:
            total, rows = selectors.kpi_summary(scope, "month")
        assert total["visitors"] == plain_counts(scope)[0] > 0
        return [query["sql"] for query in queries.captured_queries]

    write_history(history, rng, customers=[CustomerFactory() for _ in range(3)], stores=stores, rows=30)
    small = year_read()
    write_history(history, rng, customers=[CustomerFactory() for _ in range(30)], stores=stores, rows=300)
    large = year_read()
    assert len(large) == len(small)
    if connection.vendor == "postgresql":
        # Every month is counted ahead and the whole year comes from LastSeen: the rollup rows are touched only
        # for their last day (MAX(day), one index probe each).
        for sql in large:
            assert "kpis_visitorday WHERE" not in sql and "kpis_buyerday WHERE" not in sql, sql


def test_any_range_and_any_period_counts_from_first_days_exactly_what_a_live_count_does(history):
    """Ranges from a mid-month day, ranges ending before the last day, single days: the counts read from
    `SeenSpanCount` match the live count and plain Python, and no statement reads a buyer or visitor row."""
    rng = random.Random(11)
    stores = [LocationFactory(code=f"S{n}") for n in range(3)]
    write_history(history, rng, customers=[CustomerFactory() for _ in range(12)], stores=stores, rows=240)
    history.roll(FIRST, FIRST + timedelta(days=DAYS - 1))
    channels = list(Channel.objects.filter(code__in=["store", "web", "app", "call_center"]))
    last = FIRST + timedelta(days=DAYS - 1)
    omnichannel_seen = 0
    for _ in range(60):
        start = FIRST + timedelta(days=rng.randrange(-5, DAYS))
        end = min(last + timedelta(days=5), start + timedelta(days=rng.randrange(0, 45)))
        scope = selectors.Scope(
            start=start,
            end=end,
            channel=rng.choice([None, None, *channels]),
            location=rng.choice([None, None, *stores]),
        )
        expected = plain_counts(scope)
        assert live_counts(scope) == expected
        found = selectors._first_seen(scope, [(start, end)])[(start, end)]
        assert (found["visitors"], found["buyers"], found["omnichannel_buyers"]) == expected, scope
        omnichannel_seen += expected[2]
        for granularity in ("day", "week", "month", "total"):
            with CaptureQueriesContext(connection) as queries:
                total, rows = selectors.kpi_summary(scope, granularity)
            assert not [q["sql"] for q in queries.captured_queries if reads_rollup_rows(q["sql"])]
            assert (total["visitors"], total["buyers"], total["omnichannel_buyers"]) == expected, (scope, granularity)
            for row in rows:
                period = selectors.Scope(row["start"], row["end"], channel=scope.channel, location=scope.location)
                assert (row["visitors"], row["buyers"], row["omnichannel_buyers"]) == plain_counts(period)
    assert omnichannel_seen > 0


def test_a_year_from_a_mid_month_day_reads_no_buyer_or_visitor_row(history):
    """The first month, begun in the middle, and a range that ended before the last day: summed counts, the
    same statements whatever the number of people."""
    rng = random.Random(5)
    stores = [LocationFactory(code=f"S{n}") for n in range(2)]
    last = FIRST + timedelta(days=DAYS - 1)
    ranges = [
        selectors.Scope(start=FIRST + timedelta(days=9), end=last),  # from 5 February: a first month begun in it
        selectors.Scope(start=FIRST + timedelta(days=9), end=last - timedelta(days=20)),  # ended before the last day
    ]

    def reads() -> list[list[str]]:
        history.roll(FIRST, last)
        services.count_periods(start=FIRST, end=last)
        statements = []
        for scope in ranges:
            with CaptureQueriesContext(connection) as queries:
                total, rows = selectors.kpi_summary(scope, "month")
            assert (total["visitors"], total["buyers"], total["omnichannel_buyers"]) == plain_counts(scope)
            first = selectors.Scope(rows[0]["start"], rows[0]["end"])
            assert (rows[0]["visitors"], rows[0]["buyers"]) == plain_counts(first)[:2]
            statements.append([query["sql"] for query in queries.captured_queries])
        return statements

    write_history(history, rng, customers=[CustomerFactory() for _ in range(3)], stores=stores, rows=30)
    small = reads()
    write_history(history, rng, customers=[CustomerFactory() for _ in range(30)], stores=stores, rows=300)
    large = reads()
    assert [len(statements) for statements in large] == [len(statements) for statements in small]
    for sql in (sql for statements in large for sql in statements):
        assert not reads_rollup_rows(sql), sql
