"""Filter fields shared by the API's lists."""

from __future__ import annotations

from datetime import UTC

import django_filters


class UtcDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An ISO 8601 timestamp, turned into UTC before the query.

    Python accepts offsets up to ±24 hours; the database does not. In UTC
    every valid timestamp is one the database takes.
    """

    def filter(self, qs, value):
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC)
        return super().filter(qs, value)
