"""`omni.bulk.insert_objects` writes what `bulk_create` writes, whatever it sends to COPY as it is."""

from decimal import Decimal
from unittest import mock

import pytest
from django.db import models
from django.forms.models import model_to_dict
from django.utils import timezone

from omni import bulk
from omni.orders.models import Order, OrderStatus
from tests.factories import CustomerFactory, LocationFactory, channel

pytestmark = pytest.mark.django_db


@pytest.fixture
def makers(db):
    return LocationFactory(), CustomerFactory(), timezone.now()


def orders(prefix: str, makers) -> list[Order]:
    store, buyer, at = makers
    return [
        Order(
            number=f"{prefix}-1",
            channel=channel("store"),
            location=store,
            customer=buyer,
            external_id=f"{prefix}-R1",
            status=OrderStatus.COMPLETED,
            shipping_address={"city": "Milano", "lines": ["Via Roma 1"]},
            subtotal=Decimal("39.90"),
            discount_total=Decimal("0.00"),
            total=Decimal("39.90"),
            points_earned=39,
            created_at=at,
        ),
        Order(
            number=f"{prefix}-2",
            channel=channel("web"),
            customer_id=None,
            external_id=None,
            status="placed",  # a plain str where the other order has the enum
            shipping_address="a note, not a mapping",  # a str in a JSONField is a JSON string, encoded
            total=Decimal("5.00"),
            created_at=at,
        ),
    ]


def written(objects: list[Order]) -> list[dict]:
    rows = Order.objects.filter(pk__in=[o.pk for o in objects]).order_by("pk")
    return [{k: v for k, v in model_to_dict(o).items() if k not in {"id", "number", "external_id"}} for o in rows]


def test_the_rows_are_those_bulk_create_writes(makers):
    copied, created = orders("A", makers), orders("B", makers)
    bulk.insert_objects(Order, copied)
    Order.objects.bulk_create(created)
    assert all(o.pk for o in copied)
    assert written(copied) == written(created)
    assert Order.objects.get(pk=copied[1].pk).shipping_address == "a note, not a mapping"


@pytest.mark.postgres_only("elsewhere insert_objects is bulk_create itself")
def test_plain_values_go_to_copy_without_django_preparing_them(makers):
    objects, prepared = orders("C", makers), []
    original = models.Field.get_db_prep_save

    def counting(self, value, connection):
        prepared.append(type(self).__name__)
        return original(self, value, connection)

    with mock.patch.object(models.Field, "get_db_prep_save", counting):
        bulk.insert_objects(Order, objects)
    # Keys, numbers, amounts and flags go as they are; the times and the addresses (JSON) are prepared.
    assert not {"ForeignKey", "IntegerField", "DecimalField", "BooleanField"} & set(prepared), prepared
    assert {"DateTimeField", "JSONField"} <= set(prepared)
