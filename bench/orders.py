"""Orders recorded through the one order service, against the floor: the statements an order must make at least.

The floor writes, in one transaction, what a carry-out sale to a card holder
needs at least: the order (numbered by the bench), its line and
payment, the conditional stock update and its movement, the conditional
balance update of the loyalty account and its ledger entry. Seven raw
statements, no ORM.

Rows:

- one process: a returning customer (identified by an e-mail Omni knows) and
  a new one (an e-mail never seen: customer, identifier and account made),
  each timed alternately with the floor, call after call, so drift on a
  shared machine weighs on both alike;
- two processes (PostgreSQL only): each process sells to its own returning
  customers from its own stock row for a bounded time; service and floor run
  in alternating rounds and the best round of each is kept;
- statements per order (returning, new, through the API), counted inside the
  order's transaction.
"""

from __future__ import annotations

import itertools
import json
import multiprocessing
import os
import random
import time
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from bench.client import api_client
from bench.harness import Result, measure_pair
from inventory import services as inventory
from inventory.models import StockLevel
from loyalty import services as loyalty
from loyalty.pricing import LineIn
from omni.catalog.models import Channel, Location, LocationKind, Variant
from omni.orders import services
from omni.orders.models import Order

# Numbers of this run's orders: a run on a database that already holds a run's orders does not collide.
counter = itertools.count(random.randrange(10**8, 9 * 10**8))
RETURNING = 50  # returning customers per process


def insert_raw_order(*, channel, store, variant, price, n: int) -> None:
    """The order, line and payment rows alone, written by hand in one transaction (the load test's floor)."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        order_id = _insert_order(cursor, channel=channel, store=store, price=price, n=n, now=now, customer_id=None)
        _insert_line_and_payment(cursor, order_id=order_id, variant=variant, price=price)


def _insert_order(cursor, *, channel, store, price, n: int, now, customer_id) -> int:
    cursor.execute(
        "INSERT INTO orders_order (number, channel_id, location_id, customer_id, external_id, status, "
        "fulfilment_type, shipping_address, is_endless_aisle, currency, subtotal, discount_total, total, "
        "points_value, points_earned, points_redeemed, created_at, updated_at) "
        "VALUES (%s, %s, %s, %s, %s, 'completed', 'carry_out', '{}', false, 'EUR', %s, 0, %s, 0, 0, 0, %s, %s) "
        "RETURNING id",
        [f"RAW{n:09d}", channel.pk, store.pk, customer_id, f"RAW-{n}", price, price, now, now],
    )
    return cursor.fetchone()[0]


def _insert_line_and_payment(cursor, *, order_id: int, variant, price) -> None:
    cursor.execute(
        "INSERT INTO orders_orderline (order_id, variant_id, quantity, unit_price, discount, line_total) "
        "VALUES (%s, %s, 1, %s, 0, %s)",
        [order_id, variant.pk, price, price],
    )
    cursor.execute("INSERT INTO orders_payment (order_id, tender, amount) VALUES (%s, 'card', %s)", [order_id, price])


def floor_order(
    *, channel, store, variant, stock_id: int, account_id: int, customer_id: int, price: Decimal, n: int
) -> None:
    """The floor of a sale to a card holder: 7 statements in one transaction, stock and points guarded."""
    now = timezone.now()
    points = int(price)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "UPDATE inventory_stocklevel SET on_hand = on_hand - 1, updated_at = %s "
            "WHERE id = %s AND on_hand - reserved - quarantined >= 1",
            [now, stock_id],
        )
        if cursor.rowcount != 1:
            raise RuntimeError("floor: out of stock")
        cursor.execute(
            "INSERT INTO inventory_stockmovement (kind, on_hand_delta, reserved_delta, quarantined_delta, reason, "
            "created_at, location_id, variant_id) VALUES ('sale', -1, 0, 0, %s, %s, %s, %s)",
            [f"raw order {n}", now, store.pk, variant.pk],
        )
        order_id = _insert_order(
            cursor, channel=channel, store=store, price=price, n=n, now=now, customer_id=customer_id
        )
        _insert_line_and_payment(cursor, order_id=order_id, variant=variant, price=price)
        cursor.execute(
            "UPDATE loyalty_loyaltyaccount SET balance = balance + %s, lifetime_points = lifetime_points + %s "
            "WHERE id = %s AND balance + %s >= 0 RETURNING balance",
            [points, points, account_id, points],
        )
        balance = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO loyalty_ledgerentry (kind, points, debt_change, balance_after, spend, reference, channel, "
            "reason, created_at, order_id, account_id) VALUES ('earn', %s, 0, %s, %s, '', %s, '', %s, %s, %s)",
            [points, balance, price, channel.code, now, order_id, account_id],
        )


class Shop:
    """What one process sells: a store, a variant with its own stock row, a price, known customers."""

    def __init__(self, *, index: int, variant: Variant, store: Location, channel: Channel):
        self.index, self.variant, self.store, self.channel = index, variant, store, channel
        inventory.count(location=store, variant=variant, on_hand=1_000_000, reason="bench")
        self.stock_id = StockLevel.objects.get(location=store, variant=variant).pk
        self.price = services.quote_basket(channel=channel, lines=[LineIn(variant.sku, 1)]).total
        self.run = f"{random.randrange(16**6):06x}"
        for known in range(RETURNING):  # every returning customer has bought once: customer, account, lot exist
            self.sell(self.email(known))
        self.accounts = [
            (loyalty.open_account(customer=o.customer).pk, o.customer_id)
            for o in Order.objects.filter(external_id__startswith=f"BENCH-{self.run}-").select_related("customer")[:5]
        ]

    def email(self, known: int | None) -> str:
        if known is None:
            return f"new-{self.run}-{next(counter)}@example.it"
        return f"bench{self.index}-{known}@example.it"

    def sell(self, email: str) -> Order:
        return services.record_order(
            channel=self.channel,
            location=self.store,
            identifiers=[{"kind": "email", "value": email}],
            external_id=f"BENCH-{self.run}-{next(counter)}",
            lines=[LineIn(self.variant.sku, 1)],
            payments=[services.PaymentIn(tender="card", amount=self.price)],
        )

    def returning(self) -> None:
        self.sell(self.email(next(counter) % RETURNING))

    def new(self) -> None:
        self.sell(self.email(None))

    def floor(self) -> None:
        n = next(counter)
        account_id, customer_id = self.accounts[n % len(self.accounts)]
        floor_order(
            channel=self.channel,
            store=self.store,
            variant=self.variant,
            stock_id=self.stock_id,
            account_id=account_id,
            customer_id=customer_id,
            price=self.price,
            n=n,
        )

    def body(self) -> dict:
        return {
            "channel": "store",
            "location": self.store.code,
            "external_id": f"BENCH-{self.run}-{next(counter)}",
            "identifiers": [{"kind": "email", "value": self.email(next(counter) % RETURNING)}],
            "lines": [{"sku": self.variant.sku, "quantity": 1}],
            "fulfilment": {"type": "carry_out"},
            "payments": [{"tender": "card", "amount": str(self.price)}],
        }


def statements(fn: Callable[[], object]) -> int:
    """Statements one call sends, its transaction's BEGIN/COMMIT aside (they are not logged)."""
    with CaptureQueriesContext(connection) as queries:
        fn()
    return len(queries.captured_queries)


def _window(shop: Shop, what: str, seconds: float, start_at: float, queue) -> None:
    """A child process: sell for `seconds` from `start_at` and report how many orders a second it recorded."""
    global counter
    counter = itertools.count(int.from_bytes(os.urandom(4)) % (8 * 10**8) + 10**8)  # not the parent's numbers
    try:
        for alias in connections:  # the parent's connections are not ours: forget them without closing them
            connections[alias].connection = None
        fn = shop.floor if what == "floor" else shop.returning
        fn()
        while time.time() < start_at:
            time.sleep(0.005)
        done, stop_at = 0, start_at + seconds
        while time.time() < stop_at:
            fn()
            done += 1
        connections.close_all()
        queue.put(done / seconds)
    except BaseException as error:  # told to the parent, which raises it
        queue.put(repr(error))


def processes_rate(shops: list[Shop], what: str, seconds: float) -> float:
    """Orders a second of len(shops) processes selling at once, each from its own shop (made before the fork)."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    connections.close_all()
    start_at = time.time() + 2  # every child has connected and sold once before the clock runs
    children = [context.Process(target=_window, args=(shop, what, seconds, start_at, queue)) for shop in shops]
    for child in children:
        child.start()
    rates = [queue.get(timeout=600) for _ in children]
    for child in children:
        child.join(60)
    failed = [rate for rate in rates if isinstance(rate, str)]
    if failed:
        raise RuntimeError(f"bench child failed: {failed[0]}")
    return sum(rates)


def run(*, repeat: int, smoke: bool) -> list[Result]:
    stores = list(Location.objects.filter(kind=LocationKind.STORE, is_active=True).order_by("pk")[:1])
    variants = list(Variant.objects.filter(product__channels__code="store", is_active=True).order_by("pk")[:2])
    if not stores or len(variants) < 2:
        return []
    channel = Channel.objects.get(code="store")
    shop = Shop(index=0, variant=variants[0], store=stores[0], channel=channel)

    api = api_client()

    def post() -> None:
        response = api.post(
            "/api/v1/orders/",
            json.dumps(shop.body()),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=f"bench-{next(counter)}",
        )
        assert response.status_code == 201, response.content

    counts = {
        "returning": statements(shop.returning),
        "new": statements(shop.new),
        "API": statements(post),
        "floor": statements(shop.floor),
    }
    counted = ", ".join(f"{kind} {count}" for kind, count in counts.items())
    print(f"statements per order: {counted}", flush=True)

    results = []
    for kind, fn in (("returning customer", shop.returning), ("new customer", shop.new)):
        service, floor = measure_pair(fn, shop.floor, warmup=3, repeat=repeat)
        results.append(
            Result(
                name=f"orders per second, one process, {kind} (identify + price + take + earn)",
                figure=1000 / service.median_ms,
                unit="orders/s",
                baseline=1000 / floor.median_ms,
                baseline_name="floor: the 7 statements of an order in raw SQL, one transaction, timed alternately",
                p95=1000 / service.p95_ms,
                baseline_p95=1000 / floor.p95_ms,
                notes=f"median {service.median_ms:.2f} ms per order against {floor.median_ms:.2f} ms; "
                f"statements per order: {counted}",
                extra={"statements": counts},
            )
        )
    api_timing, floor = measure_pair(post, shop.floor, warmup=3, repeat=repeat)
    results.append(
        Result(
            name="orders per second, one process, returning customer through the API (Idempotency-Key)",
            figure=1000 / api_timing.median_ms,
            unit="orders/s",
            baseline=1000 / floor.median_ms,
            baseline_name="floor: the 7 statements of an order in raw SQL, one transaction, timed alternately",
            p95=1000 / api_timing.p95_ms,
            baseline_p95=1000 / floor.p95_ms,
            notes=f"statements per order: {counted}",
            extra={"statements": counts},
        )
    )

    if connection.vendor == "postgresql":
        seconds = 1.0 if smoke else float(os.environ.get("BENCH_ORDER_SECONDS", "5"))
        shops = [
            Shop(index=index + 1, variant=variant, store=stores[0], channel=channel)
            for index, variant in enumerate(variants)
        ]
        rates: dict[str, list[float]] = {"service": [], "floor": []}
        for _round in range(1 if smoke else 2):  # alternating rounds: service, floor, service, floor
            for what in ("service", "floor"):
                rates[what].append(processes_rate(shops, what, seconds))
        results.append(
            Result(
                name="orders per second, two processes, returning customers (identify + price + take + earn)",
                figure=max(rates["service"]),
                unit="orders/s",
                baseline=max(rates["floor"]),
                baseline_name="floor with two connections, rounds alternating with the service's",
                target=">= 0.25 of the floor",
                notes=f"rounds of {seconds:g} s, service {rates['service']}, floor {rates['floor']}",
            )
        )
    return results
