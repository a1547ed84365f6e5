"""Reads of kpis: the KPIs of a period, the store incentives and the journeys, all from the rollup tables.

Every function here costs a fixed number of queries, whatever the length of
the period and the size of the history: the rollups hold one row per day,
channel and location (or per buyer or visitor and day for distinct counts),
and periods (weeks, months) are grouped in SQL.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import connection
from django.db.models import Case, Count, DateField, Expression, F, IntegerField, Max, Q, Sum, Value, When
from django.db.models.functions import Coalesce, Least, TruncMonth, TruncWeek

from kpis.models import (
    BuyerDay,
    CreditReason,
    DailyFigures,
    JourneyPath,
    PeriodCount,
    SeenDayCount,
    SeenKind,
    SeenSpanCount,
    SocialMetric,
    StoreCreditDay,
    VisitorDay,
)
from kpis.rollups import ONLINE, PG_PERIODS, as_date, days_sql, period_end, period_start
from omni.catalog.models import Channel, ChannelCode, Location, LocationKind
from omni.catalog.reference import channel_label
from omni.money import to_cents

GRANULARITIES = ("day", "week", "month")
# The longest period one request may ask for, per granularity (days).
MAX_DAYS = {"day": 731, "week": 3653, "month": 3653}
SHARE = Decimal("0.0001")
ZERO = Decimal("0")

ADDITIVE = (
    "orders",
    "revenue",
    "units",
    "identified_orders",
    "click_and_collect_orders",
    "endless_aisle_orders",
    "endless_aisle_revenue",
    "sessions",
    "events",
    "product_views",
    "store_visits",
    "points_issued",
    "points_redeemed",
    "returns",
    "returned_units",
    "returned_amount",
)


@dataclass(frozen=True)
class Scope:
    """What a report covers: the days from `start` to `end` (inclusive), optionally one channel and one store."""

    start: date
    end: date
    channel: Channel | None = None
    location: Location | None = None

    def previous(self) -> Scope:
        """The period of the same length just before this one."""
        length = (self.end - self.start).days + 1
        return Scope(
            start=self.start - timedelta(days=length),
            end=self.start - timedelta(days=1),
            channel=self.channel,
            location=self.location,
        )


def periods(start: date, end: date, granularity: str) -> list[tuple[date, date]]:
    """The periods covering start..end, clipped to it: ISO weeks start on Monday, months on the 1st."""
    found = []
    cursor = start
    while cursor <= end:
        if granularity == "week":
            last = period_start(cursor, "week") + timedelta(days=6)
        elif granularity == "month":
            following = (cursor.replace(day=1) + timedelta(days=32)).replace(day=1)
            last = following - timedelta(days=1)
        elif granularity == "total":
            last = end
        else:
            last = cursor
        last = min(last, end)
        found.append((cursor, last))
        cursor = last + timedelta(days=1)
    return found


def _period(granularity: str, start: date, column: str = "day") -> Expression | F:
    if granularity == "week":
        return TruncWeek(column, output_field=DateField())
    if granularity == "month":
        return TruncMonth(column, output_field=DateField())
    if granularity == "total":
        return Value(start, output_field=DateField())
    return F(column)


def _key(value: Any, granularity: str, start: date) -> date:
    if granularity == "total":
        return start
    return max(as_date(value), start)


def _sliced(queryset, scope: Scope):
    queryset = queryset.filter(day__gte=scope.start, day__lte=scope.end)
    if scope.channel is not None:
        queryset = queryset.filter(channel=scope.channel)
    if scope.location is not None:
        queryset = queryset.filter(location=scope.location)
    return queryset


def _ratio(part: Decimal | int | None, whole: Decimal | int | None, places: Decimal) -> Decimal | None:
    if not whole:
        return None
    return (Decimal(part or 0) / Decimal(whole)).quantize(places, rounding=ROUND_HALF_UP)


def kpi_report(scope: Scope, granularity: str = "day") -> list[dict[str, Any]]:
    """The KPIs of each period of the scope (granularity day, week, month or total)."""
    return _report(scope, granularity, with_total=False)[1]


def kpi_summary(scope: Scope, granularity: str = "day") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The KPIs of the whole scope and of each of its periods, reading each rollup table once.

    The additive figures of the whole are the sums of the periods' (added up
    here); distinct counts (visitors, buyers) are not additive. On PostgreSQL
    those of whole finished periods (and of the scope, when it is one) are
    read from `PeriodCount`; what ends on or after the last day rolled up
    from `SeenDayCount`; everything else from `SeenSpanCount` (one statement
    each), on every database. None of them reads a buyer or visitor row.
    """
    total, rows = _report(scope, granularity, with_total=True)
    assert total is not None
    return total, rows


def _report(scope: Scope, granularity: str, with_total: bool) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    expression = _period(granularity, scope.start)
    spans = periods(scope.start, scope.end, granularity)
    figures: dict[date, dict[str, Any]] = {start: {} for start, _ in spans}
    whole: dict[str, Any] = {}
    online = Q(channel__code__in=ONLINE)

    rows = (
        _sliced(DailyFigures.objects.all(), scope)
        .annotate(p=expression)
        .values("p")
        .annotate(
            **{f"sum_{name}": Sum(name) for name in ADDITIVE},
            converted_sessions=Sum(Least("orders", "sessions"), filter=online),
            online_sessions=Sum("sessions", filter=online),
        )
        .order_by()
    )
    for row in rows:
        period = figures[_key(row["p"], granularity, scope.start)]
        for name in (*ADDITIVE, "converted_sessions", "online_sessions"):
            value = row[f"sum_{name}"] if name in ADDITIVE else row[name]
            period[name] = _add(period.get(name), value)
            whole[name] = _add(whole.get(name), value)

    with_social = scope.location is None and (scope.channel is None or scope.channel.code == ChannelCode.SOCIAL)
    if with_social:
        social = (
            SocialMetric.objects.filter(date__gte=scope.start, date__lte=scope.end)
            .annotate(p=_period(granularity, scope.start, "date"))
            .values("p")
            .annotate(total_engagement=Sum(F("likes") + F("shares") + F("comments") + F("mentions")))
            .order_by()
        )
        for row in social:
            period = figures[_key(row["p"], granularity, scope.start)]
            period["social_engagement"] = _add(period.get("social_engagement"), row["total_engagement"])
            whole["social_engagement"] = _add(whole.get("social_engagement"), row["total_engagement"])

    counted = _counted(scope, granularity, spans, with_total)
    for key, (visitors, buyers, omnichannel) in counted.items():
        (whole if key is None else figures[key]).update(
            visitors=visitors, buyers=buyers, omnichannel_buyers=omnichannel
        )
    # What ends on or after the last day rolled up is read from `SeenDayCount`, when not counted ahead: the whole
    # scope, and its last period (this month, this week), which may end later than the scope but not earlier.
    ending: dict[date | None, date] = {}
    if with_total and None not in counted:
        ending[None] = scope.start
    if spans[-1][0] not in counted:
        ending[spans[-1][0]] = spans[-1][0]
    seen = _last_seen(scope, sorted(set(ending.values())))
    answered: dict[str, set[date | None]] = {"visitors": set(), "buyers": set()}
    for key, first in ending.items():
        found = seen.get(first, {})
        (whole if key is None else figures[key]).update(found)
        for name in answered:
            if name in found:
                answered[name].add(key)
    # Everything else (a month begun in the middle, a range that ended before the last day) from
    # `SeenSpanCount`: each person counted on their first day in the range.
    rest: dict[date | None, tuple[date, date]] = {
        start: (start, end)
        for start, end in spans
        if start not in counted and not (start in answered["visitors"] and start in answered["buyers"])
    }
    if with_total and None not in counted and not (None in answered["visitors"] and None in answered["buyers"]):
        rest[None] = (scope.start, scope.end)
    first_seen = _first_seen(scope, sorted(set(rest.values())))
    for key, span in rest.items():
        found = first_seen[span]
        if key in answered["visitors"]:
            found = {name: value for name, value in found.items() if name != "visitors"}
        if key in answered["buyers"]:
            found = {name: value for name, value in found.items() if name == "visitors"}
        (whole if key is None else figures[key]).update(found)

    total = _shape(scope.start, scope.end, whole, with_social) if with_total else None
    return total, [_shape(start, end, figures[start], with_social) for start, end in spans]


def _add(a: Any, b: Any) -> Any:
    if b is None:
        return a
    return b if a is None else a + b


def _whole_period(start: date, end: date, granularity: str) -> str | None:
    """The granularity of which start..end is one whole period (a day, an ISO week, a calendar month), if any."""
    for candidate in (granularity,) if granularity in GRANULARITIES else GRANULARITIES:
        if start == period_start(start, candidate) and end == period_end(start, candidate):
            return candidate
    return None


def _counted(
    scope: Scope, granularity: str, spans: list[tuple[date, date]], with_total: bool
) -> dict[date | None, tuple[int, int, int]]:
    """Visitors, buyers and omnichannel buyers of the spans (and, with_total, of the scope as key None) that are
    whole periods already counted in `PeriodCount` (PostgreSQL; one query)."""
    if connection.vendor != "postgresql":
        return {}
    wanted: dict[tuple[str, date], list[date | None]] = {}
    for start, end in spans:
        if grain := _whole_period(start, end, granularity):
            wanted.setdefault((grain, start), []).append(start)
    if with_total and (grain := _whole_period(scope.start, scope.end, "total")):
        wanted.setdefault((grain, scope.start), []).append(None)
    if not wanted:
        return {}
    which = Q()
    for grain in GRANULARITIES:
        starts = [start for g, start in wanted if g == grain]
        if starts:
            which |= Q(granularity=grain, start__in=starts)
    channel_id = scope.channel.pk if scope.channel else None
    location_id = scope.location.pk if scope.location else None
    marked: set[tuple[str, date]] = set()
    own: dict[tuple[str, date], tuple[int, int, int]] = {}
    rows = (
        PeriodCount.objects.filter(which)
        .filter(Q(channel=None, location=None) | Q(channel_id=channel_id, location_id=location_id))
        .values_list("granularity", "start", "channel_id", "location_id", "visitors", "buyers", "omnichannel_buyers")
    )
    for grain, start, row_channel, row_location, visitors, buyers, omnichannel in rows:
        if row_channel is None and row_location is None:
            marked.add((grain, start))
        if row_channel == channel_id and row_location == location_id:
            own[(grain, start)] = (visitors, buyers, omnichannel)
    # A counted period without a row for this scope had no visitor and no buyer in it.
    return {key: own.get(period, (0, 0, 0)) for period, keys in wanted.items() if period in marked for key in keys}


def _last_seen(scope: Scope, starts: list[date]) -> dict[date, dict[str, int]]:
    """The distinct visitors, buyers and omnichannel buyers in the scope from each of `starts` to its end, read
    from `SeenDayCount` (one query).

    Exact for a kind when no rollup row of it lies after the scope's last day
    (the range ends on or after the last day rolled up with anyone in it,
    e.g. "the last 12 months"): those of a range are then those last seen on
    or after its first day, summed over at most the range's days. A kind
    with rows after the scope is left out of the answer, to be read from `SeenSpanCount` (`_first_seen`).
    """
    if not starts:
        return {}
    counts = SeenDayCount._meta.db_table
    channel_id = scope.channel.pk if scope.channel else 0
    location_id = scope.location.pk if scope.location else 0
    summed = f"FROM {counts} WHERE kind = %s AND channel_id = %s AND location_id = %s AND day >= %s"
    columns = [
        f"(SELECT MAX(day) FROM {VisitorDay._meta.db_table})",
        f"(SELECT MAX(day) FROM {BuyerDay._meta.db_table})",
    ]
    params: list[Any] = []
    for first in starts:
        columns += [
            f"(SELECT SUM(people) {summed})",
            f"(SELECT SUM(people) {summed})",
            f"(SELECT SUM(omnichannel) {summed})",
        ]
        params += [SeenKind.VISITOR, channel_id, location_id, first]
        params += [SeenKind.BUYER, channel_id, location_id, first] * 2
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(columns)}", params)
        last_visit, last_purchase, *sums = cursor.fetchone()
    visits_end = last_visit is None or as_date(last_visit) <= scope.end
    purchases_end = last_purchase is None or as_date(last_purchase) <= scope.end
    found: dict[date, dict[str, int]] = {}
    for index, first in enumerate(starts):
        visitors, buyers, omnichannel_buyers = sums[3 * index : 3 * index + 3]
        found[first] = {}
        if visits_end:
            found[first]["visitors"] = int(visitors or 0)
        if purchases_end:
            found[first].update(buyers=int(buyers or 0), omnichannel_buyers=int(omnichannel_buyers or 0))
    return found


def _first_seen(scope: Scope, ranges: list[tuple[date, date]]) -> dict[tuple[date, date], dict[str, int]]:
    """The distinct visitors, buyers and omnichannel buyers in the scope of each range (first and last day),
    read from `SeenSpanCount` (one query, none when no range).

    Exact for any range: its people are those counted on their first day in
    it, the rows of its days whose previous day in the scope (for the
    omnichannel buyers: whose span of first days) lies before its first day.
    It reads at most the range's days times the distinct earlier days, never
    the buyer or visitor rows.
    """
    if not ranges:
        return {}
    channel_id = scope.channel.pk if scope.channel else 0
    location_id = scope.location.pk if scope.location else 0
    table = SeenSpanCount._meta.db_table
    # The ranges as a VALUES list (SQLite caps a compound SELECT at 500 terms; a year by day is 731 ranges), each
    # summed by subqueries of its own: both engines then walk the unique index once per range (joined, SQLite
    # built an automatic index over the whole scope past about a hundred ranges: 3.7 s for a year by day).
    values = ", ".join(f"({index}, %s, %s)" for index in range(len(ranges)))
    within = (
        f"FROM {table} s WHERE s.kind = %s AND s.channel_id = %s AND s.location_id = %s "
        "AND s.day >= r.a AND s.day <= r.e AND s.after_day < r.a AND s.upto_day >= r.a"
    )
    sql = (
        f"WITH r (i, a, e) AS (VALUES {values}) SELECT r.i, (SELECT SUM(s.people) {within}), "
        f"(SELECT SUM(s.people) {within}), (SELECT SUM(s.omnichannel) {within}) FROM r"
    )
    params: list[Any] = [day for span in ranges for day in span]
    for kind in (SeenKind.VISITOR, SeenKind.BUYER, SeenKind.BUYER):
        params += [kind, channel_id, location_id]
    found = {span: {"visitors": 0, "buyers": 0, "omnichannel_buyers": 0} for span in ranges}
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        for index, visitors, buyers, omnichannel in cursor.fetchall():
            found[ranges[index]].update(
                visitors=int(visitors or 0), buyers=int(buyers or 0), omnichannel_buyers=int(omnichannel or 0)
            )
    return found


def _keys(p: Any, granularity: str, scope: Scope, with_total: bool) -> list[date | None]:
    """Where a row of a PostgreSQL grouped read goes: a period start, or None for the whole scope."""
    if granularity == "total":
        return [scope.start, None] if with_total else [scope.start]
    return [None] if p is None else [_key(p, granularity, scope.start)]


def _in_scope_sql(scope: Scope) -> tuple[str, list[Any]]:
    sql, params = [], []
    if scope.channel is not None:
        sql.append("channel_id = %s")
        params.append(scope.channel.pk)
    if scope.location is not None:
        sql.append("location_id = %s")
        params.append(scope.location.pk)
    return " AND ".join(sql), params


def _grains(granularity: str, live: list[tuple[date, date]], count_whole: bool) -> list[tuple[str, bool]]:
    """The grouped reads other databases make: (granularity, whether it is the extra whole-scope read)."""
    grains = [(granularity, False)] if live else []
    if count_whole and granularity != "total":
        grains.append(("total", True))
    return grains


def _visitors(
    scope: Scope, granularity: str, with_total: bool, live: list[tuple[date, date]], count_whole: bool
) -> dict[date | None, int]:
    """Distinct visitors per period (keys: period starts) and, with_total, of the whole scope (key None), counted
    live over the visitor rows: what the kept counts are checked against (the reports no longer need it).

    Customers count by id and anonymous visitors by their key (below zero), so
    one distinct count over integers counts both. On PostgreSQL only the `live`
    spans are counted, and the whole scope if `count_whole`; the rest was
    counted before (`PeriodCount`).
    """
    found: dict[date | None, int] = {}
    if connection.vendor == "postgresql":
        inside, params = _in_scope_sql(scope)
        where = f" AND {inside}" if inside else ""
        who = "COALESCE(customer_id, visitor_key)"
        parts, args = [], []
        if live:
            days, day_params = days_sql(live)
            # GROUP BY rather than COUNT(DISTINCT): PostgreSQL hashes the former and sorts the latter.
            parts.append(
                f"SELECT p, COUNT(*) FROM (SELECT {PG_PERIODS[granularity]} AS p, {who} AS v FROM kpis_visitorday "
                f"WHERE ({days}){where} GROUP BY 1, 2) s GROUP BY p"
            )
            args += [*day_params, *params]
        if count_whole and granularity != "total":
            parts.append(
                f"SELECT NULL::date, COUNT(*) FROM (SELECT {who} FROM kpis_visitorday "
                f"WHERE day >= %s AND day <= %s{where} GROUP BY 1) w"
            )
            args += [scope.start, scope.end, *params]
        if not parts:
            return found
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), args)
            for p, n in cursor.fetchall():
                for key in _keys(p, granularity, scope, with_total):
                    found[key] = int(n or 0)
        return found
    # Elsewhere: the periods and the whole in one statement (two grouped reads joined), like PostgreSQL.
    parts, args = [], []
    for grain, whole in _grains(granularity, live, count_whole):
        rows = (
            _sliced(VisitorDay.objects.all(), scope)
            .annotate(p=_period(grain, scope.start))
            .values("p")
            .annotate(n=Count(Coalesce("customer_id", "visitor_key"), distinct=True))
            .order_by()
        )
        sql, sql_params = rows.query.sql_with_params()
        parts.append(f"SELECT {int(whole)} AS whole, g.* FROM ({sql}) g")
        args += list(sql_params)
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), args)
            for whole, p, n in cursor.fetchall():
                for key in [None] if whole else _keys(p, granularity, scope, with_total):
                    found[key] = int(n or 0)
    return found


def _buyers(
    scope: Scope, granularity: str, with_total: bool, live: list[tuple[date, date]], count_whole: bool
) -> dict[date | None, tuple[int, int]]:
    """Per period (and, with_total, the whole scope as key None): identified buyers in the scope, and how many
    of them bought on two channels or more, counted live over the buyer rows (as `_visitors`, the reference).

    A buyer's channels are counted over the whole network (a store's buyer who
    also bought on the web is omnichannel), so the inner query groups every
    buyer-day of the period by customer and marks those inside the scope. On
    PostgreSQL only the `live` spans (and the whole if `count_whole`) are counted.
    """
    outer = "SELECT b.p, SUM(b.hit), SUM(CASE WHEN b.hit = 1 AND b.n >= 2 THEN 1 ELSE 0 END) FROM ({}) b GROUP BY b.p"
    found: dict[date | None, tuple[int, int]] = {}
    if connection.vendor == "postgresql":
        inside, params = _in_scope_sql(scope)
        hit = f"MAX(CASE WHEN {inside} THEN 1 ELSE 0 END)" if inside else "1"
        # Two channels or more is MIN(channel) <> MAX(channel): hashed, where COUNT(DISTINCT) sorts.
        counted = "COUNT(*) FILTER (WHERE hit = 1), COUNT(*) FILTER (WHERE hit = 1 AND lo <> hi)"
        buyer_columns = "customer_id, MIN(channel_id) AS lo, MAX(channel_id) AS hi"
        parts, args = [], []
        if live:
            days, day_params = days_sql(live)
            parts.append(
                f"SELECT p, {counted} FROM (SELECT {PG_PERIODS[granularity]} AS p, {buyer_columns}, {hit} AS hit "
                f"FROM kpis_buyerday WHERE ({days}) GROUP BY 1, 2) s GROUP BY p"
            )
            args += [*params, *day_params]
        if count_whole and granularity != "total":
            parts.append(
                f"SELECT NULL::date, {counted} FROM (SELECT {buyer_columns}, {hit} AS hit FROM kpis_buyerday "
                "WHERE day >= %s AND day <= %s GROUP BY 1) w"
            )
            args += [*params, scope.start, scope.end]
        if not parts:
            return found
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), args)
            for p, buyers, omnichannel in cursor.fetchall():
                for key in _keys(p, granularity, scope, with_total):
                    found[key] = (int(buyers or 0), int(omnichannel or 0))
        return found
    mark = Q()
    if scope.channel is not None:
        mark &= Q(channel=scope.channel)
    if scope.location is not None:
        mark &= Q(location=scope.location)
    hit_expression = (
        Max(Case(When(mark, then=Value(1)), default=Value(0), output_field=IntegerField())) if mark else Max(Value(1))
    )
    parts, args = [], []
    for grain, whole in _grains(granularity, live, count_whole):
        per_buyer = (
            BuyerDay.objects.filter(day__gte=scope.start, day__lte=scope.end)
            .annotate(p=_period(grain, scope.start))
            .values("p", who=F("customer_id"))
            .annotate(n=Count("channel", distinct=True), hit=hit_expression)
            .order_by()
        )
        sql, sql_params = per_buyer.query.sql_with_params()
        parts.append(f"SELECT {int(whole)} AS whole, o.* FROM ({outer.format(sql)}) o")
        args += list(sql_params)
    if parts:
        with connection.cursor() as cursor:
            cursor.execute(" UNION ALL ".join(parts), args)
            for whole, p, buyers, omnichannel in cursor.fetchall():
                for key in [None] if whole else _keys(p, granularity, scope, with_total):
                    found[key] = (int(buyers or 0), int(omnichannel or 0))
    return found


def _shape(start: date, end: date, f: dict[str, Any], with_social: bool) -> dict[str, Any]:
    orders = f.get("orders") or 0
    revenue = f.get("revenue") or ZERO
    units = f.get("units") or 0
    return {
        "period": start,
        "start": start,
        "end": end,
        "revenue": to_cents(revenue),
        "orders": orders,
        "average_receipt": to_cents(revenue / orders) if orders else None,
        "units_per_receipt": to_cents(Decimal(units) / orders) if orders else None,
        "visitors": f.get("visitors") or 0,
        "sessions": f.get("sessions") or 0,
        "conversion_rate": _ratio(f.get("converted_sessions"), f.get("online_sessions"), SHARE),
        "identified_sales_share": _ratio(f.get("identified_orders"), orders, SHARE),
        "omnichannel_customer_share": _ratio(f.get("omnichannel_buyers"), f.get("buyers"), SHARE),
        "click_and_collect_share": _ratio(f.get("click_and_collect_orders"), orders, SHARE),
        "endless_aisle_revenue": to_cents(f.get("endless_aisle_revenue") or ZERO),
        "return_rate": _ratio(f.get("returned_units"), units, SHARE),
        "points_issued": f.get("points_issued") or 0,
        "points_redeemed": f.get("points_redeemed") or 0,
        "social_engagement": (f.get("social_engagement") or 0) if with_social else None,
        "units": units,
        "identified_orders": f.get("identified_orders") or 0,
        "buyers": f.get("buyers") or 0,
        "omnichannel_buyers": f.get("omnichannel_buyers") or 0,
        "returned_units": f.get("returned_units") or 0,
        "returned_amount": to_cents(f.get("returned_amount") or ZERO),
    }


def kpi_total(scope: Scope) -> dict[str, Any]:
    """The KPIs of the whole scope as one period."""
    return kpi_report(scope, "total")[0]


def by_channel(scope: Scope) -> list[dict[str, Any]]:
    """The additive KPIs and visitors of each channel over the scope (three queries)."""
    online = Q(channel__code__in=ONLINE)
    rows = {
        row["channel_id"]: row
        for row in _sliced(DailyFigures.objects.filter(channel__isnull=False), scope)
        .values("channel_id")
        .annotate(
            **{f"sum_{name}": Sum(name) for name in ADDITIVE},
            converted_sessions=Sum(Least("orders", "sessions"), filter=online),
            online_sessions=Sum("sessions", filter=online),
        )
        .order_by()
    }
    visitors = {
        row["channel_id"]: row["n"]
        for row in _sliced(VisitorDay.objects.all(), scope)
        .values("channel_id")
        .annotate(n=Count(Coalesce("customer_id", "visitor_key"), distinct=True))
        .order_by()
    }
    channels = Channel.objects.all() if scope.channel is None else [scope.channel]
    result = []
    for channel in channels:
        row = rows.get(channel.pk, {})
        f = {name: row.get(f"sum_{name}") for name in ADDITIVE}
        f.update(converted_sessions=row.get("converted_sessions"), online_sessions=row.get("online_sessions"))
        f["visitors"] = visitors.get(channel.pk, 0)
        shaped = _shape(scope.start, scope.end, f, with_social=False)
        shaped["channel"] = channel.code
        shaped["channel_name"] = str(channel)
        result.append(shaped)
    return result


@dataclass(frozen=True)
class StoreIncentive:
    code: str
    name: str
    own_orders: int
    own_sales: Decimal
    credited_orders: int
    credited_endless_aisle: Decimal
    credited_pickup: Decimal
    credited_influenced: Decimal
    returns_accepted: int
    returned_amount: Decimal

    @property
    def credited_sales(self) -> Decimal:
        return self.credited_endless_aisle + self.credited_pickup + self.credited_influenced


def store_incentives(scope: Scope) -> list[StoreIncentive]:
    """Per store: its own sales, the online sales credited to it (by reason), the returns it accepted.

    Own sales are the store's till sales without its endless-aisle orders,
    which are credited sales. Three queries.
    """
    stores = Location.objects.filter(kind=LocationKind.STORE).order_by("code")
    if scope.location is not None:
        stores = stores.filter(pk=scope.location.pk)
    store_code = ChannelCode.STORE
    figures = {
        row["location_id"]: row
        for row in DailyFigures.objects.filter(
            day__gte=scope.start, day__lte=scope.end, location__isnull=False, location__kind=LocationKind.STORE
        )
        .values("location_id")
        .annotate(
            till_orders=Sum("orders", filter=Q(channel__code=store_code)),
            aisle_orders=Sum("endless_aisle_orders", filter=Q(channel__code=store_code)),
            till_revenue=Sum("revenue", filter=Q(channel__code=store_code)),
            aisle=Sum("endless_aisle_revenue", filter=Q(channel__code=store_code)),
            accepted=Sum("returns"),
            returned=Sum("returned_amount"),
        )
        .order_by()
    }
    credits: dict[tuple[int, str], tuple[int, Decimal]] = {}
    credit_rows = StoreCreditDay.objects.filter(day__gte=scope.start, day__lte=scope.end)
    if scope.channel is not None:
        credit_rows = credit_rows.filter(channel=scope.channel)
    for row in credit_rows.values("location_id", "reason").annotate(n=Sum("orders"), amount=Sum("revenue")).order_by():
        credits[(row["location_id"], row["reason"])] = (row["n"] or 0, row["amount"] or ZERO)

    result = []
    for store in stores:
        f = figures.get(store.pk, {})
        by_reason = {reason: credits.get((store.pk, reason), (0, ZERO)) for reason in CreditReason.values}
        result.append(
            StoreIncentive(
                code=store.code,
                name=store.name,
                own_orders=(f.get("till_orders") or 0) - (f.get("aisle_orders") or 0),
                own_sales=to_cents((f.get("till_revenue") or ZERO) - (f.get("aisle") or ZERO)),
                credited_orders=sum(n for n, _ in by_reason.values()),
                credited_endless_aisle=to_cents(by_reason[CreditReason.ENDLESS_AISLE][1]),
                credited_pickup=to_cents(by_reason[CreditReason.PICKUP][1]),
                credited_influenced=to_cents(by_reason[CreditReason.INFLUENCED][1]),
                returns_accepted=f.get("accepted") or 0,
                returned_amount=to_cents(f.get("returned") or ZERO),
            )
        )
    return result


@dataclass(frozen=True)
class Journeys:
    store_buyers: int
    researched_online: int
    online_buyers: int
    visited_store: int
    paths: list[tuple[str, int]]


def journeys(scope: Scope, top: int = 10) -> Journeys:
    """Buyers who looked online before buying in a store, and the reverse; the commonest paths. Two queries."""
    store = Q(channel__code=ChannelCode.STORE)
    online = ~store
    counts = _sliced(BuyerDay.objects.all(), scope).aggregate(
        store_buyers=Count("customer", distinct=True, filter=store),
        researched=Count("customer", distinct=True, filter=store & Q(researched_online=True)),
        online_buyers=Count("customer", distinct=True, filter=online),
        visited=Count("customer", distinct=True, filter=online & Q(visited_store=True)),
    )
    paths = (
        _sliced(JourneyPath.objects.all(), scope)
        .values("path")
        .annotate(n=Sum("purchases"))
        .order_by("-n", "path")[:top]
    )
    return Journeys(
        store_buyers=counts["store_buyers"],
        researched_online=counts["researched"],
        online_buyers=counts["online_buyers"],
        visited_store=counts["visited"],
        paths=[(row["path"], row["n"]) for row in paths],
    )


def path_label(path: str) -> str:
    """A stored journey path ("web > app > store") in the staff's language ("Negozio online → App → Negozio")."""
    return " → ".join(channel_label(code.strip()) for code in path.split(">"))


def channel_choices() -> Iterable[tuple[str, str]]:
    """(code, name in the staff's language) of every channel."""
    return [(channel.code, str(channel)) for channel in Channel.objects.order_by("pk")]


def share(part: int, whole: int) -> Decimal | None:
    """part ÷ whole from 0 to 1 with four places, or None when whole is zero."""
    return _ratio(part, whole, SHARE)


def as_json(value: Any) -> Any:
    """Dates as ISO strings and Decimals as strings with their places, recursively (the API's shape)."""
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
