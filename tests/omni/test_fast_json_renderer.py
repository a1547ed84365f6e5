"""FastJSONRenderer gives JSONRenderer's bytes (the availability answer relies on it)."""

from datetime import UTC, date, datetime
from decimal import Decimal

from django.utils.translation import gettext_lazy
from rest_framework.renderers import JSONRenderer

from omni.api.renderers import FastJSONRenderer

PLAIN = {
    "channel": "web",
    "results": [
        {
            "sku": "COAT-01",
            "name": 'Forlì\u2028Centro\u2029 "quoted" \\ tab\t nul-free \x1f é 日本 😀',
            "available": 12,
            "big": 2**62,
            "negative": -3,
            "is_pickup_point": True,
            "ships": False,
            "location": None,
            "distances": [0.0, 0.1, 263.8, 1234.5, 20015.1, 45.4642, 0.0001, 1e15],
            "nested": [[], {}, [{"a": [1, 2, {"b": None}]}]],
        }
    ],
}


def test_plain_data_renders_to_the_same_bytes():
    assert FastJSONRenderer().render(PLAIN) == JSONRenderer().render(PLAIN)


def test_what_orjson_would_write_its_own_way_goes_through_drf_s_encoder():
    odd = {
        "when": datetime(2026, 12, 3, 14, 5, 6, 123456, tzinfo=UTC),
        "day": date(2026, 12, 3),
        "price": Decimal("29.90"),
        "detail": gettext_lazy("The request was refused."),
    }
    assert FastJSONRenderer().render(odd) == JSONRenderer().render(odd)


def test_what_orjson_refuses_is_rendered_by_json_renderer():
    for refused in ({"huge": 2**70}, {1: "an integer key"}):
        assert FastJSONRenderer().render(refused) == JSONRenderer().render(refused)


def test_nothing_renders_nothing():
    assert FastJSONRenderer().render(None) == b""
