"""The distance in SQL (availability's order) is the very float `distance_km` gives in Python, on each engine."""

import random
from decimal import Decimal

import pytest
from django.db import connection

from inventory.services import distance_km, distance_sql
from omni.catalog.models import Location

pytestmark = pytest.mark.django_db


def test_the_sql_distance_is_python_s_to_the_last_bit():
    rng = random.Random(23)
    places = [(Decimal(rng.uniform(-89.9, 89.9)).quantize(Decimal("0.000001")),) for _ in range(250)]
    places = [(lat, Decimal(rng.uniform(-179.9, 179.9)).quantize(Decimal("0.000001"))) for (lat,) in places] + [
        (Decimal("45.464"), Decimal("9.190")),
        (Decimal("45.46"), Decimal("9.19")),
        (Decimal("-45.46"), Decimal("-170.81")),
    ]
    Location.objects.bulk_create(
        Location(code=f"D-{i:03d}", name="d", city="d", latitude=lat, longitude=lon)
        for i, (lat, lon) in enumerate(places)
    )
    origins = [(45.46, 9.19), (45.4642, 9.19), (40.85, 14.27), (0.0, 0.0), (-33.9, 151.2), (45.46, -170.8)]
    compared = 0
    for near in origins:
        sql, params = distance_sql("latitude", "longitude", near, connection.vendor)
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT latitude, longitude, {sql} FROM catalog_location WHERE code LIKE 'D-%%'", params)
            for latitude, longitude, in_sql in cursor.fetchall():
                in_python = distance_km(near[0], near[1], float(latitude), float(longitude))
                assert in_sql == in_python, (near, latitude, longitude, in_sql, in_python)
                compared += 1
    assert compared == len(origins) * len(places)
