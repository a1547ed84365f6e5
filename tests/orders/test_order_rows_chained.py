"""An order's own rows are written by two chained statements: what they write is what the ORM wrote before.

The order handed back (and answered by the API) is built in Python while
the database writes the rows; every field of each must read back the same.
"""

from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from loyalty.models import LedgerEntry, PointsLot
from loyalty.pricing import LineIn
from omni.catalog.models import Channel
from omni.models import OutboxMessage
from omni.orders import services
from omni.orders.models import Allocation, Order, OrderEvent, OrderEventType, OrderLine, Payment
from tests.factories import ProductFactory, VariantFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db


def same_as_stored(instance) -> None:
    stored = type(instance).objects.get(pk=instance.pk)
    for field in instance._meta.concrete_fields:
        assert getattr(instance, field.attname) == getattr(stored, field.attname), field.name


@pytest.fixture
def trousers(network):
    variant = VariantFactory(sku="PANT-BLU-48", price=Decimal("59.00"), product=ProductFactory(code="PANT-BLU"))
    variant.product.channels.add(*Channel.objects.all())
    return variant


def test_a_shipped_order_reads_back_as_the_instances_handed_back(network, trousers, django_assert_num_queries):
    stock(network["warehouse"], network["shirt"], 5)
    stock(network["warehouse"], trousers, 5)
    order = services.record_order(
        channel=Channel.objects.get(code="web"),
        identifiers=[{"kind": "email", "value": "anna@example.it"}],
        external_id="W-1",
        lines=[LineIn("CAM-ROSSA-M", 2), LineIn("PANT-BLU-48", 1)],
        payments=[
            services.PaymentIn(tender="card", amount=Decimal("100.00")),
            services.PaymentIn(tender="cash", amount=Decimal("38.80")),
        ],
        fulfilment=services.FulfilmentIn(
            type="ship_to_home", address={"line1": "Via Roma 1", "city": "Torino"}, near=(45.07, 7.68)
        ),
    )
    assert order.shipping_address == {"line1": "Via Roma 1", "city": "Torino"} and order.customer is not None
    same_as_stored(order)
    lines, payments = list(order.lines.all()), list(order.payments.all())  # kept on the order: no query
    assert [(line.variant.sku, line.quantity) for line in lines] == [("CAM-ROSSA-M", 2), ("PANT-BLU-48", 1)]
    assert [(p.tender, p.amount) for p in payments] == [("card", Decimal("100.00")), ("cash", Decimal("38.80"))]
    assert [line.pk for line in lines] == list(OrderLine.objects.filter(order=order).values_list("pk", flat=True))
    assert [p.pk for p in payments] == list(Payment.objects.filter(order=order).values_list("pk", flat=True))
    allocations = [allocation for line in lines for allocation in line.allocations.all()]
    with django_assert_num_queries(0):  # each row names its order as a save leaves it
        assert all(row.order is order for row in [*lines, *payments])
    assert len(allocations) == 2
    for row in [*lines, *payments, *allocations]:
        same_as_stored(row)
    assert Allocation.objects.filter(line__order=order).count() == 2
    event = OrderEvent.objects.get(order=order)
    assert (event.type, event.from_status, event.to_status) == (OrderEventType.PLACED, "", order.status)
    assert event.created_at is not None
    message = OutboxMessage.objects.filter(task="kpis.refresh_day").latest("pk")
    assert message.kwargs == {"day": timezone.localdate(order.created_at).isoformat()}  # the shop's day, not UTC's


def test_a_till_sale_with_a_gift_card_sold_writes_the_card_line_and_its_total(network):
    stock(network["milano"], network["shirt"], 5)
    order = services.record_order(
        channel=Channel.objects.get(code="store"),
        location=network["milano"],
        lines=[LineIn("CAM-ROSSA-M", 1)],
        gift_cards=[Decimal("25.00")],
        payments=[services.PaymentIn(tender="card", amount=Decimal("64.90"))],
    )
    same_as_stored(order)
    assert order.total == Decimal("64.90")
    lines = list(order.lines.all())
    assert [line.line_total for line in lines] == [Decimal("39.90"), Decimal("25.00")]
    for line in lines:
        same_as_stored(line)
    assert [card.initial_amount for card in order.gift_cards_sold.all()] == [Decimal("25.00")]


def test_an_endless_aisle_order_its_own_store_serves_is_written_as_no_endless_aisle(network):
    stock(network["milano"], network["shirt"], 5)
    order = services.record_order(
        channel=Channel.objects.get(code="store"),
        location=network["milano"],
        lines=[LineIn("CAM-ROSSA-M", 1)],
        payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
        fulfilment=services.FulfilmentIn(type="click_and_collect", pickup_location=network["milano"]),
    )
    assert order.is_endless_aisle is False
    same_as_stored(order)


def set_counter(value: int) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval('orders_order_number_seq', %s)", [value])
        else:
            cursor.execute("UPDATE orders_order_number_counter SET value = %s WHERE id = 1", [value])


@pytest.fixture
def counter_put_back():
    """A PostgreSQL sequence is outside the test's transaction: where it stood is put back for the next tests."""
    if connection.vendor != "postgresql":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value, is_called FROM orders_order_number_seq")
        stood = cursor.fetchone()
    yield
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('orders_order_number_seq', %s, %s)", list(stood))


def test_the_number_written_in_sql_reads_as_the_one_written_in_python_past_a_million(network, counter_put_back):
    stock(network["milano"], network["shirt"], 5)

    def sell():
        return services.record_order(
            channel=Channel.objects.get(code="store"),
            location=network["milano"],
            lines=[LineIn("CAM-ROSSA-M", 1)],
            payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
        )

    set_counter(41)
    prefix = services.order_numbers(1)[0][: -len("000042")]
    assert sell().number == f"{prefix}000043"
    set_counter(999_998)
    assert [sell().number, sell().number] == [f"{prefix}999999", f"{prefix}1000000"]
    assert services.order_numbers(1) == [f"{prefix}1000001"]


@pytest.mark.parametrize("step", ["loyalty.earning", "loyalty.Earning.written", "webhooks.publish"])
def test_a_step_failing_after_the_chained_rows_leaves_none_of_them(network, monkeypatch, step):
    """Earning.written breaks after the statement that wrote the points, the allocations and the event."""
    stock(network["milano"], network["shirt"], 5)
    *path, name = step.split(".")
    owner = services
    for part in path:
        owner = getattr(owner, part)

    def broken(*args, **kwargs):
        raise RuntimeError("the step broke")

    monkeypatch.setattr(owner, name, broken)
    tables = (Order, OrderLine, Payment, Allocation, OrderEvent, OutboxMessage)
    before = [model.objects.count() for model in tables]
    with pytest.raises(RuntimeError):
        services.record_order(
            channel=Channel.objects.get(code="store"),
            location=network["milano"],
            identifiers=[{"kind": "email", "value": "anna@example.it"}],
            lines=[LineIn("CAM-ROSSA-M", 1)],
            payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
        )
    assert [model.objects.count() for model in tables] == before
    assert LedgerEntry.objects.count() == 0 and PointsLot.objects.count() == 0
