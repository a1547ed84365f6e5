"""For random histories, the KPIs read from the rollups equal a direct computation over the raw rows."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer
from kpis import selectors, services
from kpis.models import TouchpointEvent
from omni.catalog.models import Location, Variant
from omni.orders.models import Order, OrderLine
from tests.factories import CustomerFactory, LocationFactory, VariantFactory, channel

ROME = ZoneInfo("Europe/Rome")
# Around the switch to summer time (30 March 2025), where UTC and Rome days differ by two hours.
START = date(2025, 3, 28)
END = date(2025, 4, 1)
FIRST = datetime(2025, 3, 27, 20, 0, tzinfo=ROME)
SPAN_MINUTES = 6 * 24 * 60

orders_st = st.lists(
    st.fixed_dictionaries(
        {
            "minute": st.integers(0, SPAN_MINUTES),
            "channel": st.sampled_from(["store", "web", "app", "call_center"]),
            "store": st.integers(0, 1),
            "customer": st.one_of(st.none(), st.integers(0, 3)),
            "cents": st.integers(0, 50_000),
            "units": st.integers(1, 4),
            "cancelled": st.booleans(),
            "fulfilment": st.sampled_from(["carry_out", "click_and_collect", "ship_to_home"]),
            "endless": st.booleans(),
        }
    ),
    max_size=25,
)
events_st = st.lists(
    st.fixed_dictionaries(
        {
            "minute": st.integers(0, SPAN_MINUTES),
            "channel": st.sampled_from(["web", "app", "store"]),
            "session": st.sampled_from(["", "s1", "s2", "s3"]),
            "device": st.sampled_from(["", "d1", "d2"]),
            "customer": st.one_of(st.none(), st.integers(0, 3)),
        }
    ),
    max_size=25,
)


def share(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP) if whole else None


def direct(start: date, end: date) -> dict:
    """The KPIs computed straight from orders and events, in Python, the slow and obvious way."""
    live = [
        o
        for o in Order.objects.select_related("channel").prefetch_related("lines")
        if o.status != "cancelled" and start <= o.created_at.astimezone(ROME).date() <= end
    ]
    units = sum(line.quantity for o in live for line in o.lines.all())
    channels_of: dict[int, set[str]] = defaultdict(set)
    for o in live:
        if o.customer_id:
            channels_of[o.customer_id].add(o.channel.code)
    events = [e for e in TouchpointEvent.objects.select_related("channel") if start <= e.day <= end]
    visitors = {("c", e.customer_id) if e.customer_id else ("v", e.device_id or e.session_id) for e in events}
    visitors.discard(("v", ""))
    sessions: dict[tuple, set[str]] = defaultdict(set)
    for e in events:
        if e.session_id:
            sessions[(e.day, e.channel.code, e.location_id)].add(e.session_id)
    online_sessions = sum(len(ids) for (_, code, _), ids in sessions.items() if code in ("web", "app"))
    # A session ends in at most one order: each day's online orders count up to that day's sessions.
    online_orders: dict[tuple, int] = defaultdict(int)
    for o in live:
        if o.channel.code in ("web", "app"):
            online_orders[(o.created_at.astimezone(ROME).date(), o.channel.code, o.location_id)] += 1
    converted = sum(min(n, len(sessions.get(key, ()))) for key, n in online_orders.items())
    return {
        "revenue": sum((o.total for o in live), Decimal("0.00")),
        "orders": len(live),
        "units": units,
        "visitors": len(visitors),
        "sessions": sum(len(ids) for ids in sessions.values()),
        "conversion_rate": share(converted, online_sessions),
        "identified_sales_share": share(sum(1 for o in live if o.customer_id), len(live)),
        "omnichannel_customer_share": share(sum(1 for c in channels_of.values() if len(c) > 1), len(channels_of)),
        "click_and_collect_share": share(sum(1 for o in live if o.fulfilment_type == "click_and_collect"), len(live)),
        "endless_aisle_revenue": sum((o.total for o in live if o.is_endless_aisle), Decimal("0.00")),
    }


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=orders_st, events=events_st, cut=st.integers(0, 4))
def test_the_rollup_figures_equal_a_direct_computation_over_raw_rows(orders, events, cut):
    # Hypothesis runs many examples in one test: the fixed rows are made once, each example is rolled back.
    stores = [Location.objects.filter(code=code).first() or LocationFactory(code=code) for code in ("H1", "H2")]
    customers = list(Customer.objects.order_by("pk")[:4])
    customers += [CustomerFactory() for _ in range(4 - len(customers))]
    variant = Variant.objects.first() or VariantFactory()
    with transaction.atomic():
        for n, o in enumerate(orders):
            order = Order.objects.create(
                number=f"H{n}",
                channel=channel(o["channel"]),
                location=stores[o["store"]] if o["channel"] == "store" else None,
                customer=customers[o["customer"]] if o["customer"] is not None else None,
                status="cancelled" if o["cancelled"] else "completed",
                fulfilment_type=o["fulfilment"],
                is_endless_aisle=o["endless"] and o["channel"] == "store",
                total=Decimal(o["cents"]) / 100,
                created_at=FIRST + timedelta(minutes=o["minute"]),
            )
            OrderLine.objects.create(
                order=order, variant=variant, quantity=o["units"], unit_price=Decimal("1.00"), line_total=order.total
            )
        for n, e in enumerate(events):
            when = FIRST + timedelta(minutes=e["minute"])
            TouchpointEvent.objects.create(
                event_id=f"h{n}",
                type="page_view",
                occurred_at=when,
                day=when.astimezone(ROME).date(),
                channel=channel(e["channel"]),
                session_id=e["session"],
                device_id=e["device"],
                customer=customers[e["customer"]] if e["customer"] is not None else None,
                batch="00000000-0000-0000-0000-000000000000",
            )
        services.rebuild(start=START - timedelta(days=1), end=END + timedelta(days=1))
        start = START + timedelta(days=cut % 2)
        end = END - timedelta(days=cut // 2)
        got = selectors.kpi_total(selectors.Scope(start=start, end=end))
        expected = direct(start, end)
        assert {key: got[key] for key in expected} == expected
        per_day = selectors.kpi_report(selectors.Scope(start=start, end=end), "day")
        assert sum(p["orders"] for p in per_day) == expected["orders"]
        assert sum((p["revenue"] for p in per_day), Decimal("0")) == expected["revenue"]
        transaction.set_rollback(True)
