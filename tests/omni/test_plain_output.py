"""PlainOutput writes what DRF writes, field for field, only reading plain attributes more directly."""

from __future__ import annotations

from decimal import Decimal

import pytest
from rest_framework import serializers

from omni.api.output import PlainOutput
from omni.catalog.models import Channel, Variant
from tests.factories import ProductFactory, VariantFactory


class Row:
    def __init__(self, **values):
        self.__dict__.update(values)

    def shouted(self) -> str:
        return self.name.upper()

    @property
    def size(self) -> int:
        return len(self.name)


class Inner(serializers.Serializer):
    code = serializers.CharField()


def both(fields: dict) -> tuple[type, type]:
    """The same fields twice: DRF's serializer, and the one with PlainOutput mixed in."""
    drf = type("Drf", (serializers.Serializer,), dict(fields))
    plain = type("Plain", (PlainOutput, serializers.Serializer), dict(fields))
    return drf, plain


FIELDS = {
    "name": serializers.CharField(),
    "price": serializers.DecimalField(max_digits=8, decimal_places=2),
    "note": serializers.CharField(allow_null=True),
    "shouted": serializers.CharField(),  # a method: DRF calls it
    "size": serializers.IntegerField(),  # a property
    "inner_code": serializers.CharField(source="inner.code"),  # dotted
    "inner": Inner(),
    "nothing_code": serializers.CharField(source="nothing.code", allow_null=True),  # None on the way: null
    "items": Inner(many=True),
    "fallback": serializers.CharField(default="none given"),  # missing: its default
    "maybe": serializers.CharField(allow_null=True),  # missing, may be null: None
    "optional": serializers.CharField(required=False),  # missing, not required: left out
    "everything": serializers.SerializerMethodField(),
}


def get_everything(self, row) -> str:
    return "method field"


@pytest.mark.parametrize("kind", ["object", "dict"])
def test_the_output_is_drfs_for_every_kind_of_field(kind):
    drf, plain = both({**FIELDS, "get_everything": get_everything})
    values = {
        "name": "camicia",
        "price": Decimal("39.9"),
        "note": None,
        "nothing": None,
        "inner": {"code": "A1"},
        "items": [{"code": "B1"}, {"code": "B2"}],
    }
    if kind == "object":
        rows = [Row(**values), Row(**{**values, "name": "gonna", "note": "saldi"})]
    else:
        rows = [
            {**values, "shouted": "CAMICIA", "size": 7},
            {**values, "name": "gonna", "note": "saldi", "shouted": "GONNA", "size": 5},
        ]
    expected = drf(rows, many=True).data
    assert plain(rows, many=True).data == expected
    assert list(plain(rows, many=True).data[0]) == list(expected[0])  # the same keys in the same order
    assert expected[0]["price"] == "39.90" and expected[0]["shouted"] == "CAMICIA"
    assert "optional" not in expected[0] and expected[0]["fallback"] == "none given"
    assert expected[0]["nothing_code"] is None and expected[0]["inner_code"] == "A1"


def test_a_missing_attribute_that_is_required_fails_as_drf_fails():
    drf, plain = both({"name": serializers.CharField()})
    with pytest.raises(AttributeError):
        drf(Row()).data  # noqa: B018
    with pytest.raises(AttributeError):
        plain(Row()).data  # noqa: B018


@pytest.mark.django_db
def test_model_instances_and_their_relations_read_as_drf_reads_them():
    product = ProductFactory(channels=list(Channel.objects.order_by("pk")[:2]))
    VariantFactory.create_batch(2, product=product)

    fields = {
        "sku": serializers.CharField(),
        "price": serializers.DecimalField(max_digits=12, decimal_places=2),
        "product": serializers.PrimaryKeyRelatedField(read_only=True),
        "product_code": serializers.SlugRelatedField(source="product", slug_field="code", read_only=True),
        "channels": serializers.SlugRelatedField(
            source="product.channels", slug_field="code", many=True, read_only=True
        ),
    }
    drf, plain = both(fields)
    variants = list(Variant.objects.select_related("product").order_by("sku"))
    assert plain(variants, many=True).data == drf(variants, many=True).data
