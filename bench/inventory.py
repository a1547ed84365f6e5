"""Availability of one SKU over 200 and over 1,000 locations, through the API, against the one raw SQL query."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import connection

from bench.client import api_client
from bench.harness import Result, measure_pair, timed_result
from inventory.available import available_sql
from inventory.models import StockLevel, StockMovement
from omni import versions
from omni.catalog.models import Location, LocationKind, Variant
from omni.catalog.selectors import PLACES

LOCATIONS = (200, 1000)  # the two network sizes


def raw_query(sku: str) -> tuple[str, list[Any]]:
    """The one plain query that answers it, with the available formula of inventory.available."""
    units, params = available_sql("s")
    greatest = "MAX" if connection.vendor == "sqlite" else "GREATEST"
    sql = (
        f"SELECT l.code, l.name, l.kind, l.latitude, l.longitude, {greatest}({units}, 0) AS available "
        "FROM inventory_stocklevel s JOIN catalog_location l ON l.id = s.location_id "
        "JOIN catalog_variant v ON v.id = s.variant_id "
        f"WHERE v.sku = %s AND l.is_active AND {units} > 0"
    )
    return sql, [*params, sku, *params]


def network_of(variant: Variant, size: int) -> None:
    """Enough stores (around Italy) that the SKU is stocked at `size` locations."""
    have = StockLevel.objects.filter(variant=variant).count()
    missing = max(0, size - have)
    first = Location.objects.filter(code__startswith="BENCH-").count()  # a second call adds after the first's
    made = Location.objects.bulk_create(
        [
            Location(
                code=f"BENCH-{i:04d}",
                name=f"Bench store {i}",
                kind=LocationKind.STORE,
                city="Bench",
                latitude=Decimal("37.5") + Decimal(i % 80) / 10,
                longitude=Decimal("8.0") + Decimal(i // 80) / 2 + Decimal(i % 7) / 10,
                is_pickup_point=True,
                ships_to_customers=i % 3 == 0,
            )
            for i in range(first, first + missing)
        ]
    )
    versions.changed(PLACES)  # bulk_create sends no post_save: the locations kept per process get a new token
    StockLevel.objects.bulk_create([StockLevel(location=loc, variant=variant, on_hand=5) for loc in made])
    StockMovement.objects.bulk_create(
        [StockMovement(location=loc, variant=variant, kind="count", on_hand_delta=5, reason="bench") for loc in made]
    )


def run(*, repeat: int, smoke: bool) -> list[Result]:
    variant = Variant.objects.filter(product__channels__code="web").order_by("pk").first()
    if variant is None:
        return []
    client = api_client()
    sql, params = raw_query(variant.sku)

    def through_api():
        response = client.get("/api/v1/availability/", {"sku": variant.sku, "channel": "web", "near": "45.46,9.19"})
        assert response.status_code == 200, response.content

    def raw_sql():
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            assert cursor.fetchall()

    results = []
    for size in (20,) if smoke else LOCATIONS:
        network_of(variant, size)  # grows the network: the smaller size is measured first
        # Alternately, as the other pairs: timed one after the other, drift on a shared machine
        # between the two phases swung this ratio between 3.4 and 6 from run to run.
        api, raw = measure_pair(through_api, raw_sql, repeat=repeat)
        results.append(
            timed_result(
                f"availability of one SKU over {size} locations (API)",
                api,
                raw,
                "the raw SQL query that answers it",
                target="ratio <= 3",
            )
        )
    return results
