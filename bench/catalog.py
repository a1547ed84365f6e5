"""Catalog reads through the API against the raw SQL that answers the same question."""

from __future__ import annotations

import gc

from django.db import connection

from bench.client import api_client
from bench.harness import Result, measure, timed_result
from omni.catalog.models import Variant

VARIANT_SQL = (
    "SELECT v.sku, v.color, v.size, v.price, p.code, p.name, p.category, cp.price, "
    "EXISTS (SELECT 1 FROM catalog_product_channels pc WHERE pc.product_id = p.id AND pc.channel_id = c.id) "
    "FROM catalog_variant v JOIN catalog_product p ON p.id = v.product_id "
    "JOIN catalog_channel c ON c.code = %s "
    "LEFT JOIN catalog_channelprice cp ON cp.variant_id = v.id AND cp.channel_id = c.id "
    "WHERE v.sku = %s"
)


def run(*, repeat: int, smoke: bool) -> list[Result]:
    client = api_client()
    sku = Variant.objects.order_by("pk").values_list("sku", flat=True).first()
    if sku is None:
        return []

    def variant_api():
        response = client.get(f"/api/v1/variants/{sku}/", {"channel": "web"})
        assert response.status_code == 200, response.content

    def variant_sql():
        with connection.cursor() as cursor:
            cursor.execute(VARIANT_SQL, ["web", sku])
            assert cursor.fetchone() is not None

    def product_page_api():
        response = client.get("/api/v1/products/", {"page_size": 100})
        assert response.status_code == 200

    def product_page_sql():
        with connection.cursor() as cursor:
            cursor.execute("SELECT id, code, name, category FROM catalog_product ORDER BY code LIMIT 100")
            ids = [row[0] for row in cursor.fetchall()] or [0]
            marks = ", ".join(["%s"] * len(ids))
            cursor.execute(
                f"SELECT product_id, sku, color, size, price FROM catalog_variant WHERE product_id IN ({marks})", ids
            )
            cursor.fetchall()

    # The same page once the objects loaded at start are frozen out of the collector's sight, as the WSGI
    # entry point does in every gunicorn worker (omni/wsgi.py); alternately with the unfrozen page.
    from omni.wsgi import freeze_what_was_loaded

    page = measure(product_page_api, repeat=repeat)
    page_sql = measure(product_page_sql, repeat=repeat)
    freeze_what_was_loaded()
    try:
        frozen = measure(product_page_api, repeat=repeat)
    finally:
        gc.unfreeze()
    return [
        timed_result(
            "variant detail with channel price (API)",
            measure(variant_api, repeat=repeat),
            measure(variant_sql, repeat=repeat),
            "raw SQL, one query",
        ),
        timed_result("product list, 100 per page (API)", page, page_sql, "raw SQL, two queries"),
        timed_result(
            "product list, 100 per page (API), objects loaded at start frozen (gc.freeze, as omni/wsgi.py does)",
            frozen,
            page,
            "the same page without gc.freeze",
            notes=f"p95 {frozen.p95_ms:.1f} ms frozen against {page.p95_ms:.1f} ms",
        ),
    ]
