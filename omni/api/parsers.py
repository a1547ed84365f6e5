"""JSON in: the body must be valid UTF-8 text all the way down.

JSON escapes can spell lone UTF-16 surrogates ("\\udb85") and the NUL
character ("\\u0000"), which PostgreSQL text and JSON columns cannot store;
such a body is refused as malformed (400 `invalid`) here, once, instead of
failing deep in a query.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError


def has_unstorable_text(value: Any) -> bool:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if has_unstorable_text(data):
            raise ParseError("JSON parse error - the body holds characters that are not valid Unicode text.")
        return data
