"""Writes of returns: one function per use case, each in one transaction.

`accept_return` is what the API, the admin and an exchange call: it checks
that the order can be returned, numbers the RMA and, for a return taken at a
counter, receives the units, refunds them and settles the points at once.
`receive_return` and `cancel_return` finish or drop a return that was asked
for before the goods arrived. `exchange` is a return plus a new order that
pays with the returned value, so only the difference changes hands.

The refund arithmetic (`settle`) is cumulative over the order's received
returns, so rounding never gives back more than was paid:

- returned value of q units of a line = line_total * q / quantity, half-up to
  the cent; the return that brings a line's received units to its quantity
  takes what is left of its line total instead;
- with V the returned value of every received return of the order so far
  (this one included) and T the order total: the money refunded so far is
  V * (T - points_value) / T to the cent; the points given back so far are
  points_redeemed * V / T rounded down; the earned points taken back so far
  are points_earned * V / T rounded half-up. Each return pays the difference
  between those running figures and what earlier returns already paid, so a
  whole order returned in pieces refunds exactly what was paid.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from customers.models import Customer
from inventory import services as inventory
from inventory.models import MovementKind
from loyalty import gift_cards, store_credit
from loyalty import services as loyalty
from loyalty.pricing import LineIn, quote_basket
from omni import outbox, webhooks
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Channel, ChannelCode, Location, LocationKind
from omni.catalog.services import GIFT_CARD_SKU
from omni.concurrency import retry_on_conflict
from omni.errors import Invalid, InvalidTransition, NotFound, QuantityExceedsPurchased, ReturnWindowExpired
from omni.money import to_cents
from omni.orders import services as orders
from omni.orders.models import FulfilmentType, Order, OrderEvent, OrderLine, OrderStatus, Tender
from returns import notices
from returns.models import (
    DEFAULT_WINDOW_DAYS,
    EXCHANGE_TENDER,
    OPEN_OR_RECEIVED,
    Condition,
    Refund,
    RefundTarget,
    Return,
    ReturnLine,
    ReturnPolicy,
    ReturnReason,
    ReturnStatus,
)

ZERO = Decimal("0.00")
MAX_LINES = 200


@dataclass(frozen=True)
class ReturnLineIn:
    """A line of a return as a caller gives it: the SKU, how many, why, in which state."""

    sku: str
    quantity: int
    reason: str = ""
    condition: str = Condition.RESELLABLE


@dataclass(frozen=True)
class ReceiveLineIn:
    sku: str
    quantity: int
    condition: str = Condition.RESELLABLE


@dataclass
class Settlement:
    """What a return is worth and how it is paid back (computed, nothing written)."""

    line_values: dict[int, Decimal] = field(default_factory=dict)
    returned_value: Decimal = ZERO
    refund_amount: Decimal = ZERO
    points_value: Decimal = ZERO
    points_restored: int = 0
    points_reversed: int = 0
    refunds: list[tuple[str, Decimal]] = field(default_factory=list)

    @property
    def main_tender(self) -> str | None:
        paid = [(amount, tender) for tender, amount in self.refunds if amount > 0]
        return max(paid)[1] if paid else None


# --- Reading the order ------------------------------------------------------------------------------------------


def order_by_number(number: str, *, field_name: str = "order") -> Order:
    """The order with this number; Invalid (the field named) when there is none."""
    order = Order.objects.select_related("channel", "customer").filter(number=number).first()
    if order is None:
        raise Invalid(f"No order {number}.", {field_name: [f"Unknown order {number}."]})
    return order


def is_handed_over(order: Order) -> bool:
    """The customer has the goods: carried out, collected, or shipped to their home."""
    if order.status in (OrderStatus.COMPLETED, OrderStatus.COLLECTED):
        return True
    return order.status == OrderStatus.SHIPPED and order.fulfilment_type == FulfilmentType.SHIP_TO_HOME


def handed_over_at(order: Order) -> datetime:
    """When the goods reached the customer: the shipping or collection event, else the sale."""
    if order.status in (OrderStatus.SHIPPED, OrderStatus.COLLECTED):
        event = (
            OrderEvent.objects.filter(order=order, to_status=order.status)
            .order_by("-created_at")
            .values_list("created_at", flat=True)
            .first()
        )
        if event is not None:
            return event
    return order.created_at


def window_days(channel: Channel) -> int:
    policy = ReturnPolicy.objects.filter(channel=channel).values_list("window_days", flat=True).first()
    return DEFAULT_WINDOW_DAYS if policy is None else policy


def last_return_day(order: Order) -> date:
    """The last Rome day on which the order can still be returned."""
    return timezone.localdate(handed_over_at(order)) + timedelta(days=window_days(order.channel))


def check_returnable(order: Order, *, now: datetime | None = None) -> None:
    """Raises InvalidTransition (not handed over) or ReturnWindowExpired."""
    if not is_handed_over(order):
        raise InvalidTransition(
            f"Order {order.number} is {order.get_status_display().lower()}: it can be returned once it is handed over.",
            status=order.status,
        )
    deadline = last_return_day(order)
    if timezone.localdate(now or timezone.now()) > deadline:
        raise ReturnWindowExpired(
            f"Order {order.number} could be returned until {deadline.isoformat()}.", last_day=deadline.isoformat()
        )


def counted_quantities(order: Order) -> dict[int, int]:
    """Units of each order line already in a requested or received return (cancelled ones do not count)."""
    rows = (
        ReturnLine.objects.filter(order_line__order=order, ret__status__in=OPEN_OR_RECEIVED)
        .values("order_line_id")
        .annotate(units=Sum("quantity"))
    )
    return {row["order_line_id"]: row["units"] or 0 for row in rows}


def returnable_quantities(order: Order, order_lines: Sequence[OrderLine]) -> dict[int, int]:
    counted = counted_quantities(order)
    return {line.pk: line.quantity - counted.get(line.pk, 0) for line in order_lines}


# --- Validating what is returned ----------------------------------------------------------------------------------


def resolve_lines(
    order: Order, order_lines: Sequence[OrderLine], lines: Sequence[ReturnLineIn], *, need_reason: bool = True
) -> list[tuple[OrderLine, ReturnLineIn, ReturnReason | None]]:
    """Match the asked lines to the order's lines; Invalid (fields named) for anything that does not fit."""
    errors: dict[str, list[str]] = {}
    if not lines:
        errors["lines"] = ["Give at least one line."]
    if len(lines) > MAX_LINES:
        errors["lines"] = [f"At most {MAX_LINES} lines."]
    by_sku = {line.variant.sku: line for line in order_lines}
    reasons = {r.code: r for r in ReturnReason.objects.filter(is_active=True)}
    seen: set[str] = set()
    resolved = []
    for index, asked in enumerate(lines):
        where = f"lines.{index}"
        order_line = by_sku.get(asked.sku)
        if order_line is None:
            errors[f"{where}.sku"] = [f"{asked.sku} is not on order {order.number}."]
        elif asked.sku == GIFT_CARD_SKU:
            errors[f"{where}.sku"] = ["A gift card is not returned: its balance stays spendable."]
        elif asked.sku in seen:
            errors[f"{where}.sku"] = ["This SKU is on another line: put the quantities together."]
        seen.add(asked.sku)
        if not isinstance(asked.quantity, int) or asked.quantity < 1:
            errors[f"{where}.quantity"] = ["Must be 1 or more."]
        if asked.condition not in Condition.values:
            errors[f"{where}.condition"] = [f"One of {', '.join(Condition.values)}."]
        reason = reasons.get(asked.reason)
        if reason is None and (need_reason or asked.reason):
            errors[f"{where}.reason"] = [f"Unknown reason {asked.reason!r}: one of {', '.join(sorted(reasons))}."]
        if order_line is not None:
            resolved.append((order_line, asked, reason))
    if errors:
        raise Invalid("Some lines of the return are not valid.", errors)
    return resolved


def check_quantities(order: Order, order_lines: Sequence[OrderLine], asked: Sequence[tuple[OrderLine, int]]) -> None:
    """QuantityExceedsPurchased when a line would be returned beyond what was bought less earlier returns."""
    left = returnable_quantities(order, order_lines)
    for order_line, quantity in asked:
        if quantity > left[order_line.pk]:
            raise QuantityExceedsPurchased(
                f"{order_line.variant.sku}: {order_line.quantity} bought, {left[order_line.pk]} can still be returned, "
                f"{quantity} asked.",
                sku=order_line.variant.sku,
                returnable=left[order_line.pk],
            )


def check_location(location: Location | None, *, field_name: str = "location") -> Location:
    if location is None:
        raise Invalid("Say where the goods are received.", {field_name: ["This field is required."]})
    if not location.is_active:
        raise Invalid(f"{location.code} is closed.", {field_name: [f"Location {location.code} is not active."]})
    return location


# --- The arithmetic -------------------------------------------------------------------------------------------------


@dataclass
class _Earlier:
    """What the order's received returns already gave back."""

    line_units: dict[int, int]
    line_values: dict[int, Decimal]
    returned_value: Decimal
    refund_amount: Decimal
    points_restored: int
    points_reversed: int
    by_tender: dict[str, Decimal]


def _earlier(order: Order, *, excluding: Return | None = None) -> _Earlier:
    received = Return.objects.filter(order=order, status=ReturnStatus.RECEIVED)
    if excluding is not None:
        received = received.exclude(pk=excluding.pk)
    totals = received.aggregate(
        value=Sum("returned_value"),
        money=Sum("refund_amount"),
        restored=Sum("points_restored"),
        reversed=Sum("points_reversed"),
    )
    lines = (
        ReturnLine.objects.filter(ret__in=received)
        .values("order_line_id")
        .annotate(units=Sum("quantity"), value=Sum("returned_value"))
    )
    tenders = Refund.objects.filter(ret__in=received).values("tender").annotate(amount=Sum("amount"))
    return _Earlier(
        line_units={row["order_line_id"]: row["units"] or 0 for row in lines},
        line_values={row["order_line_id"]: row["value"] or ZERO for row in lines},
        returned_value=totals["value"] or ZERO,
        refund_amount=totals["money"] or ZERO,
        points_restored=totals["restored"] or 0,
        points_reversed=totals["reversed"] or 0,
        by_tender={row["tender"]: row["amount"] or ZERO for row in tenders},
    )


def _rounded(value: Decimal, rounding: str) -> int:
    return int(value.to_integral_value(rounding=rounding))


def paid_by_tender(order: Order) -> dict[str, Decimal]:
    """What each tender paid for the order (several payments of one tender add up), largest first."""
    paid: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for payment in order.payments.all():
        paid[payment.tender] += payment.amount
    return dict(sorted(paid.items(), key=lambda item: (-item[1], item[0])))


def split_over_tenders(
    amount: Decimal, paid: dict[str, Decimal], refunded: dict[str, Decimal]
) -> list[tuple[str, Decimal]]:
    """Spread `amount` over the tenders in proportion to what each paid, never past what each has left."""
    if amount <= 0:
        return []
    total_paid = sum(paid.values(), ZERO)
    if not paid or total_paid <= 0:
        return [(Tender.CARD, amount)]
    tenders = list(paid)
    shares: dict[str, Decimal] = {}
    for tender in tenders[1:]:
        shares[tender] = to_cents(amount * paid[tender] / total_paid)
    shares[tenders[0]] = amount - sum(shares.values(), ZERO)  # the largest tender takes the rounding
    room = {t: max(paid[t] - refunded.get(t, ZERO), ZERO) for t in tenders}
    leftover = ZERO
    for tender in tenders:
        if shares[tender] > room[tender]:
            leftover += shares[tender] - room[tender]
            shares[tender] = room[tender]
    for tender in tenders:
        if leftover <= 0:
            break
        extra = min(leftover, room[tender] - shares[tender])
        if extra > 0:
            shares[tender] += extra
            leftover -= extra
    if leftover > 0:
        shares[tenders[0]] += leftover
    return [(tender, shares[tender]) for tender in tenders if shares[tender] > 0]


def settle(
    order: Order,
    returned: Sequence[tuple[OrderLine, int]],
    *,
    refund_to: str = RefundTarget.ORIGINAL,
    exchange_credit: Decimal = ZERO,
    excluding: Return | None = None,
) -> Settlement:
    """The value, money, points and tenders of returning `returned` now (see the module's docstring)."""
    earlier = _earlier(order, excluding=excluding)
    settlement = Settlement()
    for order_line, quantity in returned:
        if quantity <= 0:
            settlement.line_values[order_line.pk] = ZERO
            continue
        units_before = earlier.line_units.get(order_line.pk, 0)
        if units_before + quantity >= order_line.quantity:
            value = order_line.line_total - earlier.line_values.get(order_line.pk, ZERO)
        else:
            value = to_cents(order_line.line_total * quantity / order_line.quantity)
        settlement.line_values[order_line.pk] = max(value, ZERO)
    settlement.returned_value = sum(settlement.line_values.values(), ZERO)

    total = order.total
    if total > 0:
        running = min(earlier.returned_value + settlement.returned_value, total)
        paid = total - order.points_value
        settlement.refund_amount = max(to_cents(running * paid / total) - earlier.refund_amount, ZERO)
        restored = _rounded(Decimal(order.points_redeemed) * running / total, ROUND_FLOOR)
        settlement.points_restored = max(restored - earlier.points_restored, 0)
        reversed_ = _rounded(Decimal(order.points_earned) * running / total, ROUND_HALF_UP)
        settlement.points_reversed = max(reversed_ - earlier.points_reversed, 0)
    settlement.points_value = settlement.returned_value - settlement.refund_amount

    money = settlement.refund_amount
    credit = min(exchange_credit, money)
    if credit > 0:
        settlement.refunds.append((EXCHANGE_TENDER, credit))
    rest = money - credit
    if rest > 0:
        if refund_to == RefundTarget.STORE_CREDIT:
            settlement.refunds.append((Tender.STORE_CREDIT, rest))
        else:
            settlement.refunds.extend(split_over_tenders(rest, paid_by_tender(order), earlier.by_tender))
    return settlement


def preview(
    *, order: Order, lines: Sequence[ReturnLineIn], refund_to: str = RefundTarget.ORIGINAL
) -> tuple[list[tuple[OrderLine, ReturnLineIn, ReturnReason | None]], Settlement]:
    """What a return of `lines` would refund and take back, written nowhere (the clerk's preview).

    Raises the same errors as `accept_return`.
    """
    check_returnable(order)
    order_lines = list(order.lines.select_related("variant").order_by("pk"))
    resolved = resolve_lines(order, order_lines, lines)
    check_quantities(order, order_lines, [(ol, asked.quantity) for ol, asked, _ in resolved])
    check_refund_target(order, refund_to)
    return resolved, settle(order, [(ol, asked.quantity) for ol, asked, _ in resolved], refund_to=refund_to)


def check_refund_target(order: Order, refund_to: str) -> None:
    if refund_to not in RefundTarget.values:
        raise Invalid("Unknown refund target.", {"refund_to": [f"One of {', '.join(RefundTarget.values)}."]})
    if refund_to == RefundTarget.STORE_CREDIT and order.customer_id is None:
        raise Invalid(
            "Store credit belongs to a customer, and this order has none.",
            {"refund_to": ["Store credit needs a known customer: refund to the original tender."]},
        )


# --- The use cases -------------------------------------------------------------------------------------------------


def _lock_order_lines(order: Order) -> list[OrderLine]:
    """Lock the order's lines (by primary key): every return of the order queues here first."""
    return list(OrderLine.objects.select_for_update().filter(order=order).select_related("variant").order_by("pk"))


def _new_rma(ret: Return) -> None:
    ret.rma = f"RMA{ret.pk:07d}"
    Return.objects.filter(pk=ret.pk).update(rma=ret.rma)


@retry_on_conflict
@transaction.atomic
def accept_return(
    *,
    order: Order,
    lines: Sequence[ReturnLineIn],
    location: Location | None = None,
    refund_to: str = RefundTarget.ORIGINAL,
    receive: bool = True,
    actor: Actor = SYSTEM,
    note: str = "",
    exchange_credit: Decimal = ZERO,
) -> Return:
    """Open a return of `order`; with `receive` (a counter return) receive, refund and settle points at once.

    Raises Invalid (lines, location, refund target), InvalidTransition (not
    handed over), ReturnWindowExpired, QuantityExceedsPurchased; nothing is
    written then. Locks the order's lines (by pk) before counting earlier
    returns, then stock rows (inventory), then the loyalty account.
    """
    check_refund_target(order, refund_to)
    if receive or location is not None:
        location = check_location(location)
    order_lines = _lock_order_lines(order)
    check_returnable(order)
    resolved = resolve_lines(order, order_lines, lines)
    check_quantities(order, order_lines, [(ol, asked.quantity) for ol, asked, _ in resolved])

    ret = Return.objects.create(
        rma=secrets.token_hex(8),
        order=order,
        customer_id=order.customer_id,
        status=ReturnStatus.REQUESTED,
        location=location,
        refund_to=refund_to,
        note=note,
        user=actor.user,
        api_client=actor.api_client,
    )
    _new_rma(ret)
    return_lines = ReturnLine.objects.bulk_create(
        [
            ReturnLine(
                ret=ret,
                order_line=order_line,
                variant=order_line.variant,
                requested_quantity=asked.quantity,
                quantity=asked.quantity,
                reason=reason,
                condition=asked.condition,
            )
            for order_line, asked, reason in resolved
        ]
    )
    webhooks.publish("return.created", return_event_data(ret, order))
    if receive:
        assert location is not None
        _receive(ret, order, order_lines, return_lines, location=location, actor=actor, exchange_credit=exchange_credit)
    return ret


def return_event_data(ret: Return, order: Order) -> dict[str, str]:
    """The `data` of return.created and return.received."""
    return {"rma": ret.rma, "order": order.number, "status": ret.status}


def _receive(
    ret: Return,
    order: Order,
    order_lines: Sequence[OrderLine],
    return_lines: Sequence[ReturnLine],
    *,
    location: Location,
    actor: Actor,
    exchange_credit: Decimal = ZERO,
) -> None:
    """Units in, money back, points settled; the return becomes received. Caller holds the order-line locks."""
    line_of = {line.pk: line for line in order_lines}
    counted = [rl for rl in return_lines if rl.quantity > 0]
    settlement = settle(
        order,
        [(line_of[rl.order_line_id], rl.quantity) for rl in counted],
        refund_to=ret.refund_to,
        exchange_credit=exchange_credit,
        excluding=ret,
    )
    reason = f"return {ret.rma}"
    for return_line in sorted(counted, key=lambda rl: rl.variant_id):
        if return_line.condition == Condition.DAMAGED:
            inventory.quarantine(
                location=location,
                variant=return_line.variant,
                quantity=return_line.quantity,
                reason=reason,
                actor=actor,
            )
        else:
            inventory.receive(
                location=location,
                variant=return_line.variant,
                quantity=return_line.quantity,
                kind=MovementKind.RETURN,
                reason=reason,
                actor=actor,
            )
    for return_line in return_lines:
        return_line.returned_value = settlement.line_values.get(return_line.order_line_id, ZERO)
    ReturnLine.objects.bulk_update(return_lines, ["quantity", "condition", "returned_value"])

    Refund.objects.bulk_create([Refund(ret=ret, tender=tender, amount=amount) for tender, amount in settlement.refunds])
    customer = order.customer
    for tender, amount in settlement.refunds:
        if tender in (Tender.STORE_CREDIT, EXCHANGE_TENDER):
            if customer is None:  # an order paid with store credit always has a customer; refund_to was checked
                raise Invalid("Store credit needs a known customer.", {"refund_to": ["No customer on the order."]})
            store_credit.issue(
                customer=customer,
                amount=amount,
                reference=ret.rma,
                order=order,
                reason="exchange" if tender == EXCHANGE_TENDER else f"refund of return {ret.rma}",
                actor=actor,
            )
        elif tender == Tender.GIFT_CARD:  # back onto the Omni gift cards that paid; the rest as before
            gift_cards.refund_order(
                order=order, amount=amount, reference=ret.rma, reason=f"refund of return {ret.rma}", actor=actor
            )
    if customer is not None and (settlement.points_reversed or settlement.refund_amount or settlement.points_restored):
        account = loyalty.open_account(customer=customer)
        loyalty.reverse(
            account=account,
            points=settlement.points_reversed,
            order=order,
            reference=ret.rma,
            reason=reason,
            actor=actor,
            spend=settlement.refund_amount,
        )
        if settlement.points_restored:
            loyalty.restore_redeemed(
                account=account, points=settlement.points_restored, order=order, reference=ret.rma, actor=actor
            )

    now = timezone.now()
    ret.status = ReturnStatus.RECEIVED
    ret.location = location
    ret.received_at = now
    ret.units = sum(rl.quantity for rl in return_lines)
    ret.returned_value = settlement.returned_value
    ret.refund_amount = settlement.refund_amount
    ret.points_value = settlement.points_value
    ret.points_restored = settlement.points_restored
    ret.points_reversed = settlement.points_reversed
    ret.save(
        update_fields=[
            "status",
            "location",
            "received_at",
            "units",
            "returned_value",
            "refund_amount",
            "points_value",
            "points_restored",
            "points_reversed",
        ]
    )
    outbox.enqueue("kpis.refresh_day", day=timezone.localdate(now).isoformat(), location=location.pk)
    webhooks.publish("return.received", return_event_data(ret, order))
    notices.send_receipt(ret)


def _locked_return(ret: Return) -> tuple[Return, Order, list[OrderLine]]:
    order = Order.objects.select_related("channel", "customer").get(pk=ret.order_id)
    order_lines = _lock_order_lines(order)
    locked = Return.objects.select_for_update().get(pk=ret.pk)
    return locked, order, order_lines


@retry_on_conflict
@transaction.atomic
def receive_return(
    *, ret: Return, location: Location | None, lines: Sequence[ReceiveLineIn] | None = None, actor: Actor = SYSTEM
) -> Return:
    """The goods of a requested return arrive at `location`: restock, refund and settle points then.

    `lines` default to everything requested, resellable; a line left out was
    not in the parcel and stops counting against the order. Raises
    InvalidTransition when the return is not requested (received twice,
    cancelled), Invalid for SKUs not in the return or more units than asked.
    Locks the order's lines, then the return.
    """
    location = check_location(location)
    locked, order, order_lines = _locked_return(ret)
    if locked.status != ReturnStatus.REQUESTED:
        raise InvalidTransition(
            f"Return {locked.rma} is {locked.get_status_display().lower()}: only a requested return can be received.",
            status=locked.status,
        )
    return_lines = list(locked.lines.select_related("variant").order_by("pk"))
    if lines is not None:
        _apply_received(return_lines, lines)
    else:
        for return_line in return_lines:
            return_line.quantity = return_line.requested_quantity
            return_line.condition = Condition.RESELLABLE
    _receive(locked, order, order_lines, return_lines, location=location, actor=actor)
    return locked


def _apply_received(return_lines: list[ReturnLine], lines: Sequence[ReceiveLineIn]) -> None:
    errors: dict[str, list[str]] = {}
    by_sku = {rl.variant.sku: rl for rl in return_lines}
    seen: set[str] = set()
    for each in return_lines:
        each.quantity = 0
    for index, line in enumerate(lines):
        where = f"lines.{index}"
        return_line = by_sku.get(line.sku)
        if return_line is None:
            errors[f"{where}.sku"] = [f"{line.sku} is not in this return."]
            continue
        if line.sku in seen:
            errors[f"{where}.sku"] = ["This SKU is on another line: put the quantities together."]
        seen.add(line.sku)
        if line.quantity < 1:
            errors[f"{where}.quantity"] = ["Must be 1 or more."]
        elif line.quantity > return_line.requested_quantity:
            errors[f"{where}.quantity"] = [f"Only {return_line.requested_quantity} were asked for in this return."]
        if line.condition not in Condition.values:
            errors[f"{where}.condition"] = [f"One of {', '.join(Condition.values)}."]
        return_line.quantity = line.quantity
        return_line.condition = line.condition
    if not errors and not any(rl.quantity for rl in return_lines):
        errors["lines"] = ["Give at least one line."]
    if errors:
        raise Invalid("Some received lines are not valid.", errors)


@retry_on_conflict
@transaction.atomic
def cancel_return(*, ret: Return, actor: Actor = SYSTEM) -> Return:
    """Drop a requested return: its units no longer count against the order. InvalidTransition otherwise."""
    locked, _order, _lines = _locked_return(ret)
    if locked.status != ReturnStatus.REQUESTED:
        raise InvalidTransition(
            f"Return {locked.rma} is {locked.get_status_display().lower()}: only a requested return can be cancelled.",
            status=locked.status,
        )
    locked.status = ReturnStatus.CANCELLED
    locked.cancelled_at = timezone.now()
    locked.save(update_fields=["status", "cancelled_at"])
    return locked


@dataclass(frozen=True)
class ExchangeOutcome:
    ret: Return
    order: Order
    credit_used: Decimal
    to_pay: Decimal
    tender: str | None


@retry_on_conflict
@transaction.atomic
def exchange(
    *,
    order: Order,
    lines: Sequence[ReturnLineIn],
    new_lines: Sequence[LineIn],
    location: Location,
    refund_to: str = RefundTarget.ORIGINAL,
    tender: str = Tender.CARD,
    actor: Actor = SYSTEM,
) -> ExchangeOutcome:
    """Return `lines` and take `new_lines` instead, in one step: only the difference changes hands.

    The money value of the returned part is issued as store credit (tender
    `exchange`) up to the new order's total and spent at once by the new
    order (recorded with `record_order`, carried out at a store, shipped
    home from a warehouse); what the new order costs beyond it is paid with
    `tender`, what the return is worth beyond it is refunded per
    `refund_to`. Needs a known customer (store credit is theirs).
    Raises what `accept_return` and `record_order` raise; nothing is written then.
    """
    customer: Customer | None = order.customer
    if customer is None:
        raise Invalid(
            "An exchange settles through the customer's store credit: identify the customer on the order first.",
            {"order": ["The order has no customer."]},
        )
    if tender not in Tender.values or tender == Tender.STORE_CREDIT:
        raise Invalid("Unknown tender.", {"exchange.tender": ["card, cash or gift_card."]})
    location = check_location(location)
    if location.kind == LocationKind.STORE:
        channel = Channel.objects.get(code=ChannelCode.STORE)
        fulfilment = orders.FulfilmentIn(type=FulfilmentType.CARRY_OUT)
        selling: Location | None = location
    else:
        channel = order.channel
        if not order.shipping_address:
            raise Invalid(
                "Where should the new item go?", {"location": ["Exchange at a store, or on a shipped order."]}
            )
        fulfilment = orders.FulfilmentIn(type=FulfilmentType.SHIP_TO_HOME, address=order.shipping_address)
        selling = order.location if channel.code == ChannelCode.STORE else None
    account = loyalty.open_account(customer=customer)
    new_total = quote_basket(channel=channel, lines=new_lines, account=account).total

    ret = accept_return(
        order=order,
        lines=lines,
        location=location,
        refund_to=refund_to,
        receive=True,
        actor=actor,
        note="exchange",
        exchange_credit=new_total,
    )
    credit = sum((r.amount for r in ret.refunds.all() if r.tender == EXCHANGE_TENDER), ZERO)
    to_pay = new_total - credit
    payments = []
    if credit > 0:
        payments.append(orders.PaymentIn(tender=Tender.STORE_CREDIT, amount=credit))
    if to_pay > 0:
        payments.append(orders.PaymentIn(tender=tender, amount=to_pay))
    new_order = orders.record_order(
        channel=channel,
        location=selling,
        customer=customer,
        lines=new_lines,
        payments=payments,
        fulfilment=fulfilment,
        actor=actor,
    )
    ret.exchange_order = new_order
    ret.save(update_fields=["exchange_order"])
    return ExchangeOutcome(
        ret=ret, order=new_order, credit_used=credit, to_pay=to_pay, tender=tender if to_pay > 0 else None
    )


def return_by_rma(rma: str) -> Return:
    ret = Return.objects.filter(rma=rma).first()
    if ret is None:
        raise NotFound(f"No return {rma}.")
    return ret
