"""The one order flow of every channel.

`record_order` is what the API, the admin (endless aisle), the receipt
imports and the tasks call. One transaction: the customer is resolved,
the basket priced by loyalty's `quote_basket` (the same code as the quote),
stock taken or reserved by inventory's sourcing, payments checked, points
redeemed and earned. Anything that fails rolls everything back: no order,
no movement, no points.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from customers import services as customer_services
from customers.models import Customer
from inventory import services as inventory
from loyalty import services as loyalty
from loyalty import store_credit
from loyalty.pricing import LineIn, points_for, quote_basket, terms_at
from omni import outbox, webhooks
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Channel, ChannelCode, Location, LocationKind
from omni.concurrency import retry_on_conflict
from omni.errors import DuplicateOrder, InsufficientPoints, Invalid, InvalidTransition, NotFound
from omni.money import to_cents
from omni.orders import notices
from omni.orders.models import (
    Allocation,
    FulfilmentType,
    Order,
    OrderEvent,
    OrderEventType,
    OrderLine,
    OrderStatus,
    Payment,
    Tender,
)

MAX_LINES = 200


@dataclass(frozen=True)
class PaymentIn:
    tender: str
    amount: Decimal


@dataclass(frozen=True)
class FulfilmentIn:
    type: str = FulfilmentType.CARRY_OUT
    pickup_location: Location | None = None
    address: Mapping[str, Any] = field(default_factory=dict)
    allow_split: bool = False
    near: tuple[float, float] | None = None


def new_order_number() -> str:
    return f"OM{timezone.localdate():%y%m%d}{secrets.token_hex(3).upper()}"


def resolve_customer(
    *,
    customer: Customer | None,
    identifiers: Sequence[Any] | None,
    actor: Actor,
    request_key: str,
    may_merge: bool = True,
) -> Customer | None:
    """The live customer of the order: the one given (followed through merges) or the one identified."""
    if customer is not None:
        return customer_services.lock_survivor(customer)
    if identifiers:
        return customer_services.identify(
            identifiers=identifiers, actor=actor, request_key=request_key, may_merge=may_merge
        ).customer
    return None


def check_places(channel: Channel, location: Location | None, fulfilment: FulfilmentIn) -> None:
    errors: dict[str, list[str]] = {}
    if channel.code == ChannelCode.STORE and location is None:
        errors["location"] = ["A store sale needs the store where it is made."]
    if location is not None and location.kind != LocationKind.STORE:
        errors["location"] = ["The selling location must be a store."]
    if fulfilment.type == FulfilmentType.CARRY_OUT and location is None:
        errors["fulfilment.type"] = ["Carry out happens in a store: give the location."]
    if fulfilment.type in (FulfilmentType.CLICK_AND_COLLECT, FulfilmentType.SHIP_TO_STORE):
        if fulfilment.pickup_location is None:
            errors["fulfilment.pickup_location"] = ["This fulfilment needs a pick-up store."]
        elif not fulfilment.pickup_location.is_pickup_point:
            errors["fulfilment.pickup_location"] = ["This location is not a pick-up point."]
    if fulfilment.type == FulfilmentType.SHIP_TO_HOME and not fulfilment.address:
        errors["fulfilment.address"] = ["Shipping to home needs an address."]
    if errors:
        raise Invalid("The order cannot be placed this way.", errors)


def check_lines(lines: Sequence[LineIn]) -> None:
    errors: dict[str, list[str]] = {}
    if len(lines) > MAX_LINES:
        errors["lines"] = [f"At most {MAX_LINES} lines."]
    seen: set[str] = set()
    for index, line in enumerate(lines):
        if line.sku in seen:
            errors[f"lines.{index}.sku"] = ["This SKU is on another line: put the quantities together."]
        seen.add(line.sku)
    if errors:
        raise Invalid("Some lines are not valid.", errors)


def check_payments(payments: Sequence[PaymentIn], due: Decimal) -> None:
    errors: dict[str, list[str]] = {}
    for index, payment in enumerate(payments):
        if payment.tender not in Tender.values:
            errors[f"payments.{index}.tender"] = [f"One of {', '.join(Tender.values)}."]
        if payment.amount <= 0:
            errors[f"payments.{index}.amount"] = ["Must be more than zero."]
    paid = sum((p.amount for p in payments), Decimal("0.00"))
    if not errors and paid != due:
        errors["payments"] = [f"The payments add up to {paid}, the amount due is {due}."]
    if errors:
        raise Invalid("The payments do not match the order.", errors)


@retry_on_conflict
@transaction.atomic
def record_order(
    *,
    channel: Channel,
    lines: Sequence[LineIn],
    payments: Sequence[PaymentIn],
    location: Location | None = None,
    customer: Customer | None = None,
    identifiers: Sequence[Any] | None = None,
    external_id: str | None = None,
    fulfilment: FulfilmentIn | None = None,
    points_to_redeem: int = 0,
    actor: Actor = SYSTEM,
    request_key: str = "",
    created_at=None,
    may_merge: bool = True,
) -> Order:
    """Record a sale of any channel; returns the saved order with its lines and allocations.

    Raises DuplicateOrder (the channel's external id was seen), Invalid,
    NotSoldOnChannel, InsufficientStock, InsufficientPoints. Locks: the
    customers' rows (identify), the stock rows (by primary key, in
    inventory.allocate), the loyalty account. With ``may_merge`` false (a caller
    without the merge permission), identifiers that would merge customers raise
    PermissionDenied.
    """
    fulfilment = fulfilment or FulfilmentIn()
    if external_id:
        existing = Order.objects.filter(channel=channel, external_id=external_id).values_list("number", flat=True)
        if existing:
            raise DuplicateOrder(number=existing[0])
    check_places(channel, location, fulfilment)
    check_lines(lines)
    if points_to_redeem < 0:
        raise Invalid("Points to redeem cannot be negative.", {"points_to_redeem": ["Must be 0 or more."]})

    buyer = resolve_customer(
        customer=customer, identifiers=identifiers, actor=actor, request_key=request_key, may_merge=may_merge
    )
    account = loyalty.open_account(customer=buyer) if buyer is not None else None
    at = created_at or timezone.now()
    quote = quote_basket(channel=channel, lines=lines, account=account, at=at)
    terms = quote.terms or terms_at(at)  # the programme and rules, read once for the whole order

    points_value = to_cents(points_to_redeem * terms.programme.point_value)
    if points_to_redeem and account is None:
        raise InsufficientPoints("Only a known customer can pay with points.")
    if (
        points_to_redeem and account is not None and points_to_redeem > account.balance
    ):  # redeem() decides for sure, under its update
        raise InsufficientPoints(f"The balance is {account.balance} points, {points_to_redeem} were asked for.")
    if points_value > quote.total:
        raise Invalid("The points are worth more than the order.", {"points_to_redeem": ["Too many points."]})
    due = quote.total - points_value
    check_payments(payments, due)
    credit = sum((p.amount for p in payments if p.tender == Tender.STORE_CREDIT), Decimal("0.00"))
    if credit and buyer is None:
        raise Invalid(
            "Only a known customer can pay with store credit.", {"payments": ["Store credit needs a customer."]}
        )
    earned = 0
    if account is not None:
        share = due / quote.total if quote.total else Decimal("0")
        earned = points_for(
            paid_by_category=[(line.category, line.line_total * share) for line in quote.lines],
            channel=channel,
            tier=account.tier,
            at=at,
            terms=terms,
        )

    order = _create_order(
        channel=channel,
        location=location,
        buyer=buyer,
        external_id=external_id,
        fulfilment=fulfilment,
        quote=quote,
        points_value=points_value,
        points_to_redeem=points_to_redeem,
        points_earned=earned,
        at=at,
    )
    order_lines = OrderLine.objects.bulk_create(
        [
            OrderLine(
                order=order,
                variant=line.variant,
                quantity=line.quantity,
                unit_price=line.unit_price,
                discount=line.discount,
                line_total=line.line_total,
                omni_unit_price=line.omni_price,
            )
            for line in quote.lines
        ]
    )
    Payment.objects.bulk_create([Payment(order=order, tender=p.tender, amount=p.amount) for p in payments])

    allocated = inventory.allocate(
        lines=[inventory.LineNeed(variant=line.variant, quantity=line.quantity) for line in quote.lines],
        fulfilment=fulfilment.type,
        selling_location=location,
        pickup_location=fulfilment.pickup_location,
        near=fulfilment.near,
        allow_split=fulfilment.allow_split,
        order_id=order.pk,
        actor=actor,
    )
    line_of = {line.variant_id: line for line in order_lines}
    Allocation.objects.bulk_create(
        [Allocation(line=line_of[a.variant.pk], location=a.location, quantity=a.quantity) for a in allocated]
    )
    if order.is_endless_aisle and location is not None and all(a.location.pk == location.pk for a in allocated):
        # The selling store serves the whole order from its own shelves: that is no endless-aisle sale.
        order.is_endless_aisle = False
        Order.objects.filter(pk=order.pk).update(is_endless_aisle=False)

    if credit and buyer is not None:
        store_credit.spend(customer=buyer, amount=credit, order=order, actor=actor)
    if account is not None:
        if points_to_redeem:
            loyalty.redeem(
                account=account, points=points_to_redeem, order=order, channel=channel.code, actor=actor, at=at
            )
        loyalty.earn(
            account=account,
            points=earned,
            order=order,
            channel=channel.code,
            actor=actor,
            spend=due,
            at=at,
            settings=terms.programme,
        )

    OrderEvent.objects.create(
        order=order, type=OrderEventType.PLACED, to_status=order.status, user=actor.user, api_client=actor.api_client
    )
    outbox.enqueue("kpis.refresh_day", day=timezone.localdate(at).isoformat())
    webhooks.publish("order.created", lambda: order_event_data(order, previous_status=None))
    notices.send_receipt(order)
    return order


def order_event_data(order: Order, *, previous_status: str | None) -> dict[str, Any]:
    """The `data` of order.created and order.status_changed (the contract's fields)."""
    return {
        "number": order.number,
        "channel": order.channel.code,
        "status": order.status,
        "previous_status": previous_status,
        "customer": order.customer_id,
    }


def _create_order(
    *, channel, location, buyer, external_id, fulfilment, quote, points_value, points_to_redeem, points_earned, at
):
    carry_out = fulfilment.type == FulfilmentType.CARRY_OUT
    fields = {
        "channel": channel,
        "location": location,
        "customer": buyer,
        "external_id": external_id or None,
        "status": OrderStatus.COMPLETED if carry_out else OrderStatus.PLACED,
        "fulfilment_type": fulfilment.type,
        "pickup_location": fulfilment.pickup_location,
        "shipping_address": dict(fulfilment.address or {}),
        "is_endless_aisle": channel.code == ChannelCode.STORE and not carry_out,
        "currency": channel.currency,
        "subtotal": quote.subtotal,
        "discount_total": quote.discount_total,
        "total": quote.total,
        "points_value": points_value,
        "points_redeemed": points_to_redeem,
        "points_earned": points_earned,
        "created_at": at,
    }
    for _attempt in range(5):
        try:
            with transaction.atomic():
                return Order.objects.create(number=new_order_number(), **fields)
        except IntegrityError as error:
            if external_id and Order.objects.filter(channel=channel, external_id=external_id).exists():
                number = Order.objects.filter(channel=channel, external_id=external_id).values_list("number", flat=True)
                raise DuplicateOrder(number=number[0]) from error
    raise IntegrityError("could not find a free order number")  # pragma: no cover


# --- Order events --------------------------------------------------------------------------------------------------

# (fulfilment, current status, event) -> new status
TRANSITIONS: dict[tuple[str, str, str], str] = {
    (FulfilmentType.SHIP_TO_HOME, OrderStatus.PLACED, OrderEventType.SHIPPED): OrderStatus.SHIPPED,
    (
        FulfilmentType.CLICK_AND_COLLECT,
        OrderStatus.PLACED,
        OrderEventType.READY_FOR_PICKUP,
    ): OrderStatus.READY_FOR_PICKUP,
    (FulfilmentType.CLICK_AND_COLLECT, OrderStatus.READY_FOR_PICKUP, OrderEventType.COLLECTED): OrderStatus.COLLECTED,
    (FulfilmentType.SHIP_TO_STORE, OrderStatus.PLACED, OrderEventType.SHIPPED): OrderStatus.SHIPPED,
    (FulfilmentType.SHIP_TO_STORE, OrderStatus.SHIPPED, OrderEventType.READY_FOR_PICKUP): OrderStatus.READY_FOR_PICKUP,
    (FulfilmentType.SHIP_TO_STORE, OrderStatus.READY_FOR_PICKUP, OrderEventType.COLLECTED): OrderStatus.COLLECTED,
}
CANCELLABLE = {OrderStatus.PLACED, OrderStatus.READY_FOR_PICKUP}
# The event that takes the reserved units out of stock, per fulfilment.
TAKES_STOCK: dict[str, str] = {
    FulfilmentType.SHIP_TO_HOME: OrderEventType.SHIPPED,
    FulfilmentType.SHIP_TO_STORE: OrderEventType.SHIPPED,
    FulfilmentType.CLICK_AND_COLLECT: OrderEventType.COLLECTED,
}


def allowed_events(order: Order) -> list[str]:
    events = [
        event for (kind, status, event) in TRANSITIONS if kind == order.fulfilment_type and status == order.status
    ]
    if order.status in CANCELLABLE and order.fulfilment_type != FulfilmentType.CARRY_OUT:
        events.append(OrderEventType.CANCELLED)
    return events


@retry_on_conflict
@transaction.atomic
def apply_event(*, order: Order, event: str, actor: Actor = SYSTEM) -> Order:
    """Move an order on. Shipping and collecting take the reserved units out of stock; cancelling
    releases them, takes back the points earned and gives back the points spent.

    Locks the order row. Raises InvalidTransition for any other move.
    """
    locked = Order.objects.select_for_update().get(pk=order.pk)
    if event not in allowed_events(locked):
        raise InvalidTransition(
            f"An order that is {locked.get_status_display().lower()} cannot become {event}.",
            status=locked.status,
            allowed=allowed_events(locked),
        )
    before = locked.status
    if event == OrderEventType.CANCELLED:
        inventory.release_order_holds(order_id=locked.pk, reason=f"order {locked.number} cancelled", actor=actor)
        _give_back_points(locked, actor)
        locked.status = OrderStatus.CANCELLED
    else:
        if TAKES_STOCK.get(locked.fulfilment_type) == event:
            inventory.ship_order_holds(order_id=locked.pk, reason=f"order {locked.number} {event}", actor=actor)
        locked.status = TRANSITIONS[(locked.fulfilment_type, locked.status, event)]
    locked.save(update_fields=["status", "updated_at"])
    # The order's day is counted again: a cancelled order counts nowhere, a collected one credits its store.
    outbox.enqueue("kpis.refresh_day", day=timezone.localdate(locked.created_at).isoformat())
    OrderEvent.objects.create(
        order=locked,
        type=event,
        from_status=before,
        to_status=locked.status,
        user=actor.user,
        api_client=actor.api_client,
    )
    webhooks.publish("order.status_changed", lambda: order_event_data(locked, previous_status=before))
    if locked.status == OrderStatus.READY_FOR_PICKUP:
        notices.tell_ready_for_pickup(locked)
    return locked


def _give_back_points(order: Order, actor: Actor) -> None:
    if order.customer is None:
        return
    account = loyalty.open_account(customer=order.customer)
    loyalty.reverse(
        account=account,
        points=order.points_earned,
        order=order,
        reference=order.number,
        reason="order cancelled",
        actor=actor,
        spend=order.total - order.points_value,
    )
    if order.points_redeemed:
        loyalty.restore_redeemed(account=account, points=order.points_redeemed, order=order, actor=actor)
    credit = sum((p.amount for p in order.payments.all() if p.tender == Tender.STORE_CREDIT), Decimal("0.00"))
    if credit:
        store_credit.issue(
            customer=order.customer,
            amount=credit,
            order=order,
            reference=order.number,
            reason="order cancelled",
            actor=actor,
        )


def order_by_number(number: str) -> Order:
    order = Order.objects.filter(number=number).first()
    if order is None:
        raise NotFound(f"No order {number}.")
    return order
