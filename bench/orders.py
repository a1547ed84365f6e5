"""Orders recorded through the one order service, against raw INSERTs of the same rows."""

from __future__ import annotations

import itertools
import random
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from bench.harness import Result, measure
from inventory import services as inventory
from loyalty.pricing import LineIn
from omni.catalog.models import Channel, Location, LocationKind, Variant
from omni.orders import services
from omni.orders.models import Order

# Numbers of this run's orders: a run on a database that already holds a run's orders does not collide.
counter = itertools.count(random.randrange(10**8, 9 * 10**8))


def insert_raw_order(*, channel, store, variant, price, n: int) -> None:
    """The floor of an order: its order, line and payment rows written by hand, in one transaction."""
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO orders_order (number, channel_id, location_id, external_id, status, fulfilment_type, "
            "shipping_address, is_endless_aisle, currency, subtotal, discount_total, total, points_value, "
            "points_earned, points_redeemed, created_at, updated_at) "
            "VALUES (%s, %s, %s, %s, 'completed', 'carry_out', '{}', false, 'EUR', %s, 0, %s, 0, 0, 0, %s, %s)",
            [f"RAW{n:09d}", channel.pk, store.pk, f"RAW-{n}", price, price, now, now],
        )
        order_id = Order.objects.get(number=f"RAW{n:09d}").pk if connection.vendor == "sqlite" else None
        if order_id is None:
            cursor.execute("SELECT lastval()")
            order_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO orders_orderline (order_id, variant_id, quantity, unit_price, discount, line_total) "
            "VALUES (%s, %s, 1, %s, 0, %s)",
            [order_id, variant.pk, price, price],
        )
        cursor.execute(
            "INSERT INTO orders_payment (order_id, tender, amount) VALUES (%s, 'card', %s)", [order_id, price]
        )


def run(*, repeat: int, smoke: bool) -> list[Result]:
    store = Location.objects.filter(kind=LocationKind.STORE, is_active=True).order_by("pk").first()
    variant = Variant.objects.filter(product__channels__code="store").order_by("pk").first()
    if store is None or variant is None:
        return []
    channel = Channel.objects.get(code="store")
    inventory.count(location=store, variant=variant, on_hand=1_000_000, reason="bench")
    price = services.quote_basket(channel=channel, lines=[LineIn(variant.sku, 1)]).total

    def through_service():
        n = next(counter)
        services.record_order(
            channel=channel,
            location=store,
            identifiers=[{"kind": "email", "value": f"bench{n % 500}@example.it"}],
            external_id=f"BENCH-{n}",
            lines=[LineIn(variant.sku, 1)],
            payments=[services.PaymentIn(tender="card", amount=price)],
        )

    def raw_insert():
        insert_raw_order(channel=channel, store=store, variant=variant, price=price, n=next(counter))

    service = measure(through_service, warmup=3, repeat=repeat)
    raw = measure(raw_insert, warmup=3, repeat=repeat)
    rate, raw_rate = 1000 / service.median_ms, 1000 / raw.median_ms
    return [
        Result(
            name="orders recorded per second (identify + price + allocate + earn, one transaction each)",
            figure=rate,
            unit="orders/s",
            baseline=raw_rate,
            baseline_name="raw INSERT of the same order, line and payment",
            p95=1000 / service.p95_ms,
            baseline_p95=1000 / raw.p95_ms,
            target=">= 150 orders/s",
            notes=f"median {service.median_ms:.2f} ms per order; Decimal {Decimal(price)}",
        )
    ]
