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
shortened, and only where that cannot change what is read: a field whose
source is one attribute name (not a method, which DRF would call), with no
default to fall back on, that is not a relation (a relation may read the
primary key alone) and reads its value the way every field does. Any other
field, and a plain one whose attribute is missing, is read the way DRF reads
it.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ObjectDoesNotExist
from rest_framework.fields import Field, SkipField, empty
from rest_framework.relations import ManyRelatedField, PKOnlyObject, RelatedField


def _is_plain(field: Field, kind: type) -> bool:
    """Whether `field` reads one attribute (or key) of a `kind` row that holds its value as it is."""
    if len(field.source_attrs) != 1 or field.default is not empty:
        return False
    if isinstance(field, RelatedField | ManyRelatedField) or type(field).get_attribute is not Field.get_attribute:
        return False
    # A method named as the source is called by DRF (`source="get_status_display"`): left to DRF.
    return issubclass(kind, Mapping) or not inspect.isroutine(getattr(kind, field.source_attrs[0], None))


class PlainOutput:
    """Mix into a Serializer (before it) whose rows are objects or dicts read by plain attribute names."""

    _plan: tuple[type, list[tuple[str, str | None, Field]]]

    def to_representation(self, instance: Any) -> dict[str, Any]:
        kind = type(instance)
        plan = self.__dict__.get("_plan")
        if plan is None or plan[0] is not kind:
            plan = self._plan = (
                kind,
                [
                    (field.field_name, field.source_attrs[0] if _is_plain(field, kind) else None, field)
                    for field in self._readable_fields  # type: ignore[attr-defined]
                ],
            )
        read = instance.__getitem__ if isinstance(instance, Mapping) else instance.__getattribute__
        output: dict[str, Any] = {}
        for name, attribute, field in plan[1]:
            if attribute is not None:
                try:
                    value = read(attribute)
                except (KeyError, AttributeError, ObjectDoesNotExist):
                    pass  # missing: DRF's read below answers as DRF does (None, skipped or the error)
                else:
                    output[name] = None if value is None else field.to_representation(value)
                    continue
            try:
                value = field.get_attribute(instance)
            except SkipField:
                continue
            shown = value.pk if isinstance(value, PKOnlyObject) else value
            output[name] = None if shown is None else field.to_representation(value)
        return output
