"""JSON in: the body must be valid UTF-8 text all the way down, and not nested too deep.

JSON escapes can spell lone UTF-16 surrogates ("\\udb85") and the NUL
character ("\\u0000"), which PostgreSQL text and JSON columns cannot store;
such a body is refused as malformed (400 `invalid`) here, once, instead of
failing deep in a query.

No request of the contract nests more than a few levels; a body nested
deeper than MAX_DEPTH (a thousand levels would exhaust Python's recursion
while parsing, or later while storing it) is refused as 400 `invalid` too.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_DEPTH = 32


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


def too_deep(value: Any, limit: int = MAX_DEPTH) -> bool:
    """True when lists and objects nest more than `limit` levels (walked without recursion)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            data = None
            nested = True
        else:
            nested = too_deep(data)
        if nested:
            raise ParseError(f"JSON parse error - the body is nested more than {MAX_DEPTH} levels deep.")
        if has_unstorable_text(data):
            raise ParseError("JSON parse error - the body holds characters that are not valid Unicode text.")
        return data
