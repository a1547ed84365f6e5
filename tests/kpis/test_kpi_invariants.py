"""KPI invariants over random histories (hypothesis): shares within 0..1, revenue equal to the orders' totals,
rollups equal to a live recount for any range and scope, the stores' figures adding up to the network's.

Histories mix every channel, two stores, buyers known by an e-mail or by a device only, click & collect
orders in every state, endless-aisle orders and web and app sessions (fewer or more than the orders).
Returns are not generated: the return rate is units returned in a period ÷ units sold in it, two flows that
need not fit inside each other, so it is left out of the 0..1 check.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers.models import Customer, Identifier
from kpis import selectors, services
from kpis.models import TouchpointEvent
from omni.catalog.models import Channel, Location, Variant
from omni.orders.models import Order, OrderLine
from tests.factories import LocationFactory, VariantFactory, channel

ROME = ZoneInfo("Europe/Rome")
FIRST_DAY = date(2025, 3, 27)
DAYS = 10
FIRST = datetime(2025, 3, 27, 0, 30, tzinfo=ROME)
SHARES = ("conversion_rate", "identified_sales_share", "omnichannel_customer_share", "click_and_collect_share")

orders_st = st.lists(
    st.fixed_dictionaries(
        {
            "minute": st.integers(0, DAYS * 24 * 60 - 60),
            "channel": st.sampled_from(["store", "web", "app", "call_center", "marketplace"]),
            "store": st.integers(0, 1),
            "customer": st.one_of(st.none(), st.integers(0, 3)),
            "cents": st.integers(0, 30_000),
            "units": st.integers(1, 3),
            "status": st.sampled_from(["completed", "placed", "ready_for_pickup", "collected", "cancelled"]),
            "fulfilment": st.sampled_from(["carry_out", "click_and_collect", "ship_to_store", "ship_to_home"]),
            "endless": st.booleans(),
        }
    ),
    max_size=20,
)
events_st = st.lists(
    st.fixed_dictionaries(
        {
            "minute": st.integers(0, DAYS * 24 * 60 - 60),
            "channel": st.sampled_from(["web", "app", "store"]),
            "session": st.sampled_from(["", "s1", "s2", "s3", "s4"]),
            "customer": st.one_of(st.none(), st.integers(0, 3)),
        }
    ),
    max_size=20,
)
scope_st = st.fixed_dictionaries(
    {
        "first": st.integers(0, DAYS - 1),
        "length": st.integers(1, DAYS),
        "channel": st.sampled_from([None, "store", "web", "app"]),
        "store": st.sampled_from([None, 0, 1]),
        "granularity": st.sampled_from(["day", "week", "month"]),
    }
)


def share(part: int, whole: int) -> Decimal | None:
    return (Decimal(part) / Decimal(whole)).quantize(Decimal("0.0001"), ROUND_HALF_UP) if whole else None


def fixed_rows():
    """Two stores, a variant and four customers: 0 and 1 known by e-mail, 2 by a card, 3 by a device only."""
    stores = [Location.objects.filter(code=code).first() or LocationFactory(code=code) for code in ("P1", "P2")]
    variant = Variant.objects.first() or VariantFactory()
    customers = list(Customer.objects.order_by("pk")[:4])
    for n in range(len(customers), 4):
        customer = Customer.objects.create(email=f"p{n}@example.it" if n < 2 else "")
        kind, value = ("card", f"04200000{n:05d}") if n == 2 else ("device", f"dev-{n}")
        if n >= 2:
            Identifier.objects.create(customer=customer, kind=kind, value=value)
        customers.append(customer)
    return stores, variant, customers


def write(orders, events, stores, variant, customers) -> None:
    for n, o in enumerate(orders):
        in_store = o["channel"] == "store"
        pickup = o["fulfilment"] in ("click_and_collect", "ship_to_store")
        order = Order.objects.create(
            number=f"P{n}",
            channel=channel(o["channel"]),
            location=stores[o["store"]] if in_store else None,
            customer=customers[o["customer"]] if o["customer"] is not None else None,
            status=o["status"],
            fulfilment_type=o["fulfilment"],
            pickup_location=stores[o["store"]] if pickup else None,
            is_endless_aisle=o["endless"] and in_store and o["fulfilment"] != "carry_out",
            total=Decimal(o["cents"]) / 100,
            created_at=FIRST + timedelta(minutes=o["minute"]),
        )
        OrderLine.objects.create(
            order=order, variant=variant, quantity=o["units"], unit_price=Decimal("1.00"), line_total=order.total
        )
    for n, e in enumerate(events):
        when = FIRST + timedelta(minutes=e["minute"])
        TouchpointEvent.objects.create(
            event_id=f"p{n}",
            type="page_view",
            occurred_at=when,
            day=when.astimezone(ROME).date(),
            channel=channel(e["channel"]),
            session_id=e["session"],
            device_id=e["session"] and f"d-{e['session']}",
            customer=customers[e["customer"]] if e["customer"] is not None else None,
            location=stores[0] if e["channel"] == "store" else None,
            batch="00000000-0000-0000-0000-000000000000",
        )


def live_in(start: date, end: date, channel_code: str | None, store: Location | None) -> list[Order]:
    """The live orders of the scope, counted straight from the orders table."""
    return [
        o
        for o in Order.objects.select_related("channel").prefetch_related("lines")
        if o.status != "cancelled"
        and start <= o.created_at.astimezone(ROME).date() <= end
        and (channel_code is None or o.channel.code == channel_code)
        and (store is None or o.location_id == store.pk)
    ]


@pytest.mark.django_db
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=orders_st, events=events_st, scope=scope_st)
def test_kpis_hold_their_invariants_for_any_history_range_and_scope(orders, events, scope):
    stores, variant, customers = fixed_rows()
    with transaction.atomic():
        write(orders, events, stores, variant, customers)
        services.rebuild(start=FIRST_DAY - timedelta(days=1), end=FIRST_DAY + timedelta(days=DAYS))
        start = FIRST_DAY + timedelta(days=scope["first"])
        end = min(start + timedelta(days=scope["length"] - 1), FIRST_DAY + timedelta(days=DAYS - 1))
        store = stores[scope["store"]] if scope["store"] is not None else None
        chosen = Channel.objects.get(code=scope["channel"]) if scope["channel"] else None
        asked = selectors.Scope(start=start, end=end, channel=chosen, location=store)
        total, periods = selectors.kpi_summary(asked, scope["granularity"])

        # Every share and rate lies within 0..1, for the whole and for each period.
        for figures in (total, *periods):
            for key in SHARES:
                assert figures[key] is None or 0 <= figures[key] <= 1, (key, figures[key])

        # Revenue equals the orders' totals; the rollups equal a live recount of the same range and scope.
        live = live_in(start, end, scope["channel"], store)
        assert total["revenue"] == sum((o.total for o in live), Decimal("0.00"))
        assert total["orders"] == len(live)
        assert total["units"] == sum(line.quantity for o in live for line in o.lines.all())
        assert total["click_and_collect_share"] == share(
            sum(1 for o in live if o.fulfilment_type == "click_and_collect"), len(live)
        )
        known = {c.pk for c in customers[:3]}  # e-mail or card; the fourth has a device only
        assert total["identified_sales_share"] == share(sum(1 for o in live if o.customer_id in known), len(live))
        assert total["endless_aisle_revenue"] == sum((o.total for o in live if o.is_endless_aisle), Decimal("0.00"))

        # The periods add up to the whole.
        for key in ("revenue", "orders", "units", "sessions", "points_issued"):
            assert sum(p[key] for p in periods) == total[key], key

        # The stores' figures add up to the network's: every location's, plus the orders taken at none.
        if store is None:
            network = total
            by_store = [
                selectors.kpi_total(selectors.Scope(start=start, end=end, channel=chosen, location=place))
                for place in stores
            ]
            nowhere = [o for o in live if o.location_id is None]
            for key in ("revenue", "orders", "units"):
                unplaced = (
                    sum((o.total for o in nowhere), Decimal("0.00"))
                    if key == "revenue"
                    else len(nowhere)
                    if key == "orders"
                    else sum(line.quantity for o in nowhere for line in o.lines.all())
                )
                assert sum(s[key] for s in by_store) + unplaced == network[key], key
        transaction.set_rollback(True)
