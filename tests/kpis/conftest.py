"""Helpers to build small known histories for the KPI tests."""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from kpis import services
from kpis.models import TouchpointEvent
from loyalty.models import LedgerEntry, LoyaltyAccount
from omni.orders.models import FulfilmentType, Order, OrderLine, OrderStatus
from tests.factories import LocationFactory, VariantFactory, channel

ROME = ZoneInfo("Europe/Rome")


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    """An aware instant on a Europe/Rome day."""
    return datetime.combine(day, time(hour, minute), tzinfo=ROME)


class History:
    """Writes orders, lines, ledger entries and events straight to the tables, as the demo and imports do."""

    def __init__(self) -> None:
        self.count = 0
        self.variant = VariantFactory()

    def order(
        self,
        code: str,
        total: str,
        *,
        when: datetime,
        units: int = 1,
        location=None,
        customer=None,
        fulfilment: str = FulfilmentType.CARRY_OUT,
        pickup=None,
        endless: bool = False,
        status: str = OrderStatus.COMPLETED,
        variant=None,
    ) -> Order:
        self.count += 1
        order = Order.objects.create(
            number=f"T{self.count:06d}",
            channel=channel(code),
            location=location,
            customer=customer,
            fulfilment_type=fulfilment,
            pickup_location=pickup,
            is_endless_aisle=endless,
            status=status,
            subtotal=Decimal(total),
            total=Decimal(total),
            created_at=when,
        )
        OrderLine.objects.create(
            order=order,
            variant=variant or self.variant,
            quantity=units,
            unit_price=Decimal(total) / units,
            line_total=Decimal(total),
        )
        return order

    def points(self, customer, kind: str, points: int, *, order: Order, when: datetime) -> LedgerEntry:
        account, _ = LoyaltyAccount.objects.get_or_create(customer=customer)
        entry = LedgerEntry.objects.create(
            account=account, kind=kind, points=points, balance_after=0, order=order, channel=order.channel.code
        )
        LedgerEntry.objects.filter(pk=entry.pk).update(created_at=when)
        return entry

    def event(
        self,
        code: str,
        kind: str,
        *,
        when: datetime,
        session: str = "",
        device: str = "",
        customer=None,
        location=None,
        product=None,
    ) -> TouchpointEvent:
        self.count += 1
        return TouchpointEvent.objects.create(
            event_id=f"e{self.count}",
            type=kind,
            occurred_at=when,
            day=when.astimezone(ROME).date(),
            channel=channel(code),
            session_id=session,
            device_id=device,
            customer=customer,
            location=location,
            product=product,
            batch="00000000-0000-0000-0000-000000000000",
        )

    @staticmethod
    def roll(start: date, end: date) -> None:
        services.rebuild(start=start, end=end)


@pytest.fixture
def history(db) -> History:
    return History()


@pytest.fixture
def store():
    return LocationFactory(code="MI01", name="Milano")


@pytest.fixture
def other_store():
    return LocationFactory(code="RM01", name="Roma")
