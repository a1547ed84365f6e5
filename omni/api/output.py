"""Serializer output without DRF's walk per field, for answers of hundreds of nested rows.

DRF writes each field of each row through `Field.get_attribute`, which walks the
field's source attribute by attribute inside a try block, and regenerates the
list of readable fields for every row. On a page of 100 products and their
500 variants that walk is most of the serializer's time. `PlainOutput` makes
the plan once per serializer instance (`many=True` shares one child between
all rows) and then reads each plain field with one lookup.

The output is DRF's own: each value still goes through its field's
`to_representation` (a price keeps its two decimals, a nested serializer its
own fields), and None stays None, as DRF leaves it. Only the read is
shortened, and only where that cannot change what is read: a field that
reads its value the way every field does (by its source's attribute names,
`"variant.sku"` too), that has no default to fall back on and is not a
relation (a relation may read the primary key alone). Any other field is
read the way DRF reads it, and so is a plain one when a step of its source is
missing, empty or a method (DRF calls a method it finds on the way).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from rest_framework.fields import Field, SkipField, empty, is_simple_callable
from rest_framework.relations import ManyRelatedField, PKOnlyObject, RelatedField

_ELSEWHERE = object()  # the fast read gave up: DRF's read decides


def _plain_source(field: Field) -> tuple[str, ...] | None:
    """The attribute names `field` reads, when the fast read may read them; else None."""
    if not field.source_attrs or field.default is not empty:
        return None
    if isinstance(field, RelatedField | ManyRelatedField) or type(field).get_attribute is not Field.get_attribute:
        return None
    return tuple(field.source_attrs)


def _read(instance: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        try:
            instance = instance[name] if isinstance(instance, Mapping) else getattr(instance, name)
        except (KeyError, AttributeError, ObjectDoesNotExist):
            return _ELSEWHERE
        if callable(instance) and is_simple_callable(instance):
            return _ELSEWHERE
    return instance


class PlainOutput:
    """Mix into a Serializer (before it) whose output is read in pages of many rows."""

    _plan: list[tuple[str, tuple[str, ...] | None, Field]]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        plan = self.__dict__.get("_plan")
        if plan is None:
            plan = self._plan = [
                (field.field_name, _plain_source(field), field)
                for field in self._readable_fields  # type: ignore[attr-defined]
            ]
        output: dict[str, Any] = {}
        for name, source, field in plan:
            if source is not None:
                value = _read(instance, source)
                if value is not _ELSEWHERE:
                    output[name] = None if value is None else field.to_representation(value)
                    continue
            try:
                value = field.get_attribute(instance)
            except SkipField:
                continue
            shown = value.pk if isinstance(value, PKOnlyObject) else value
            output[name] = None if shown is None else field.to_representation(value)
        return output
