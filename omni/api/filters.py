"""Filter fields shared by the API's lists."""

from __future__ import annotations

from datetime import UTC

import django_filters
from django import forms
from django.utils.translation import gettext

from omni.errors import Invalid

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


# Every list knows these, whatever its filters: the page, its size, and the
# renderer's `format` (the schema and the browsable API use it).
ALWAYS_KNOWN = frozenset({"page", "page_size", "format"})


def known_query_params(view) -> set[str]:
    """The query parameters a list understands: its filters, what it reads itself, and ALWAYS_KNOWN.

    A view that reads a parameter outside its FilterSet names it in
    `extra_query_params`.
    """
    known = set(ALWAYS_KNOWN) | set(getattr(view, "extra_query_params", ()))
    filterset_class = getattr(view, "filterset_class", None)
    if filterset_class is not None:
        known |= set(filterset_class.base_filters)
    known |= set(getattr(view, "filterset_fields", None) or ())
    return known


def reject_unknown_query_params(request, view) -> None:
    """400 `invalid` naming each parameter the list does not know: a misspelt filter never lists everything."""
    unknown = sorted(set(request.query_params) - known_query_params(view))
    if unknown:
        message = gettext("Unknown query parameter.")
        raise Invalid(
            gettext("Unknown query parameters: %(names)s.") % {"names": ", ".join(unknown)},
            {name: [message] for name in unknown},
        )
