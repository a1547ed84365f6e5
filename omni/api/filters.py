"""Filter fields shared by the API's lists."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms

BIGGEST_ID = 2**63 - 1


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 timestamp, turned into UTC before the query.

    Python accepts offsets up to ±24 hours; the database does not. In UTC
    every valid timestamp is one the database takes.
    """

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)


class IdFilter(django_filters.NumberFilter):
    """A whole-number id the database can hold (1 .. 2**63-1); anything else answers 400."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("min_value", 1)
        kwargs.setdefault("max_value", BIGGEST_ID)
        super().__init__(*args, **kwargs)
