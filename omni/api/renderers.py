"""JSON out, faster for large answers of plain data: the bytes of DRF's JSONRenderer, made by orjson.

For plain data (str, int, float, bool, None, lists and dicts with string
keys) the bytes are JSONRenderer's: compact separators, characters outside
ASCII written as they are, U+2028 and U+2029 escaped. One difference: a float
that Python writes with an exponent (below 1e-4 or from 1e16) reads `1e16`
here and `1e+16` there; a view whose floats can be that small or that large
keeps JSONRenderer. Dates, times and dataclasses go through DRF's encoder
(orjson would write them its own way), as does anything orjson does not know
(a Decimal, a lazy translation); what orjson refuses (an integer beyond 64
bits, a non-string key) is rendered by JSONRenderer itself. NaN and the
infinities, which JSONRenderer refuses, would read `null`: plain data from
the database has none.
"""

from __future__ import annotations

from typing import Any

import orjson
from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
_encoder = JSONEncoder()


class FastJSONRenderer(JSONRenderer):
    """JSONRenderer's bytes about ten times faster (orjson), for views that answer large plain data."""

    def render(self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None) -> bytes:
        if data is None:
            return b""
        if self.get_indent(accepted_media_type, renderer_context or {}) or self.ensure_ascii or not self.compact:
            return super().render(data, accepted_media_type, renderer_context)
        try:
            rendered = orjson.dumps(data, default=_encoder.default, option=_OPTIONS)
        except (orjson.JSONEncodeError, TypeError, ValueError):
            return super().render(data, accepted_media_type, renderer_context)
        # JSON allows these two raw, JavaScript did not: JSONRenderer escapes them, and so does this.
        return rendered.replace("\u2028".encode(), b"\\u2028").replace("\u2029".encode(), b"\\u2029")
