"""The one order flow of every channel.

`record_order` is what the API, the admin (endless aisle), the receipt
imports and the tasks call. One transaction: the customer is resolved,
the basket priced by loyalty's `quote_basket` (the same code as the quote),
stock taken or reserved by inventory's sourcing, payments checked, points
redeemed and earned. Anything that fails rolls everything back: no order,
no movement, no points.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ParamSpec, TypeVar

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from customers import services as customer_services
from customers.models import Customer, IdentifierKind
from inventory import services as inventory
from loyalty import gift_cards as gift_card_ledger
from loyalty import services as loyalty
from loyalty import store_credit
from loyalty.models import EntryKind, GiftCard, LoyaltyAccount
from loyalty.pricing import (
    BasketIn,
    BasketLineIn,
    LineIn,
    PricedBasket,
    Quote,
    QuotedLine,
    basket_points,
    points_worth,
    price_baskets,
    quote_basket,
    terms_at,
)
from omni import bulk, outbox, versions, webhooks
from omni.actor import SYSTEM, Actor
from omni.catalog import services as catalog
from omni.catalog.models import Channel, ChannelCode, Location, LocationKind
from omni.concurrency import atomic_unless_retried, retry_on_conflict
from omni.errors import Busy, DuplicateOrder, InsufficientPoints, Invalid, InvalidTransition, NotFound
from omni.models import OutboxMessage
from omni.money import to_cents
from omni.orders import notices, selectors, statements
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
TENDERS = frozenset(Tender.values)  # read once: an enum's values are rebuilt on every access

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(frozen=True)
class PaymentIn:
    tender: str
    amount: Decimal
    gift_card: str = ""  # the code of an Omni gift card paying (tender gift_card); empty: a card Omni does not hold


@dataclass(frozen=True)
class FulfilmentIn:
    type: str = FulfilmentType.CARRY_OUT
    pickup_location: Location | None = None
    address: Mapping[str, Any] = field(default_factory=dict)
    allow_split: bool = False
    near: tuple[float, float] | None = None


CARRY_OUT = FulfilmentIn()


def new_order_number() -> str:
    """A number no other order has: see `order_numbers`."""
    return order_numbers(1)[0]


def order_numbers(count: int) -> list[str]:
    """`count` order numbers never handed out before: OM, today's date, a dash and a counter of the database.

    The counter (a PostgreSQL sequence; on SQLite a one-row counter under the
    transaction's write lock) never gives a value twice, so no number is
    checked or retried. It runs across days: the date is there for the clerk
    reading the number off a receipt, e.g. OM261203-004217. The dash keeps
    these numbers apart from those of earlier versions (OM, the date and six
    hex digits).
    """
    if count <= 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(statements.counter_sql("%s"), [count])
        values = [row[0] for row in cursor.fetchall()]
    if connection.vendor != "postgresql":  # the counter's last value
        values = list(range(values[0] - count + 1, values[0] + 1))
    prefix = statements.number_prefix()
    return [f"{prefix}{value:06d}" for value in values]  # as statements.NUMBER_SQL writes one order's


def resolve_customer(
    *,
    customer: Customer | None,
    identifiers: Sequence[Any] | None,
    actor: Actor,
    request_key: str,
    may_merge: bool = True,
) -> tuple[Customer | None, bool, dict[str, bool | None]]:
    """The live customer of the order (the one given, followed through merges, or the one identified), whether
    identify created them in this transaction, and the receipt's consent identify read with their lock (empty: the
    receipt reads it)."""
    if customer is not None:
        return customer_services.lock_survivor(customer), False, {}
    if identifiers:
        found = customer_services.identify(
            identifiers=identifiers,
            actor=actor,
            request_key=request_key,
            may_merge=may_merge,
            consent=notices.RECEIPT_CONSENT,
        )
        return found.customer, found.created, found.consents
    return None, False, {}


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
        if line.sku == catalog.GIFT_CARD_SKU:
            errors[f"lines.{index}.sku"] = ["Gift cards are sold with `gift_cards`, each with its amount."]
        if line.sku in seen:
            errors[f"lines.{index}.sku"] = ["This SKU is on another line: put the quantities together."]
        seen.add(line.sku)
    if errors:
        raise Invalid("Some lines are not valid.", errors)


def check_payments(payments: Sequence[PaymentIn], due: Decimal) -> None:
    errors: dict[str, list[str]] = {}
    for index, payment in enumerate(payments):
        if payment.tender not in TENDERS:
            errors[f"payments.{index}.tender"] = [f"One of {', '.join(Tender.values)}."]
        if payment.amount <= 0:
            errors[f"payments.{index}.amount"] = ["Must be more than zero."]
    paid = sum((p.amount for p in payments), Decimal("0.00"))
    if not errors and paid != due:
        errors["payments"] = [f"The payments add up to {paid}, the amount due is {due}."]
    if errors:
        raise Invalid("The payments do not match the order.", errors)


def check_gift_cards(
    amounts: Sequence[Decimal], payments: Sequence[PaymentIn], fulfilment: FulfilmentIn
) -> tuple[Decimal, dict[int, Any]]:
    """The total of the gift cards sold, and the Omni gift cards paying (payment index -> card).

    A gift card is handed over with the receipt, so it is sold on a carry-out
    order; it is not paid for with another gift card. Raises Invalid.
    """
    errors: dict[str, list[str]] = {}
    total = Decimal("0.00")
    for index, amount in enumerate(amounts):
        try:
            total += gift_card_ledger.check_amount(amount, field=f"gift_cards.{index}.amount")
        except Invalid as error:
            errors.update(error.extra.get("errors") or {})
    if amounts and fulfilment.type != FulfilmentType.CARRY_OUT:
        errors["gift_cards"] = ["A gift card is sold on a carry-out order, handed over with the receipt."]
    cards: dict[int, Any] = {}
    for index, payment in enumerate(payments):
        if payment.gift_card and payment.tender != Tender.GIFT_CARD:
            errors[f"payments.{index}.gift_card"] = ["Only a gift_card payment names a gift card."]
        elif payment.gift_card:
            card = gift_card_ledger.card_by_code(payment.gift_card)
            if card is None:
                errors[f"payments.{index}.gift_card"] = ["No gift card with this code."]
            else:
                cards[index] = card
    if amounts and any(p.tender == Tender.GIFT_CARD for p in payments):
        errors["payments"] = ["A gift card is not paid for with another gift card."]
    if errors:
        raise Invalid("The gift cards of the order are not valid.", errors)
    return total, cards


def _duplicate_receipt_refused(func: Callable[P, R]) -> Callable[P, R]:
    """A sale whose external id another request committed after our check: its INSERT fails on the unique
    constraint, the transaction is rolled back, and the caller hears DuplicateOrder with the number kept.

    Where the sale took no savepoint of its own (the whole transaction is run
    again by its owner, `atomic_unless_retried`) the transaction cannot be
    read until the owner rolls it back: Busy sends it there, and the next
    attempt's external-id check answers DuplicateOrder with the number.
    """

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except IntegrityError as error:
            external_id, channel = kwargs.get("external_id"), kwargs.get("channel")
            if not (isinstance(external_id, str) and external_id and isinstance(channel, Channel)):
                raise
            if connection.in_atomic_block and connection.needs_rollback:
                if "external_id" not in str(error):  # not the receipt's constraint: no retry would help
                    raise
                raise Busy() from error
            number = selectors.number_of_sale(channel.pk, external_id)
            if number is None:
                raise
            raise DuplicateOrder(number=number) from error

    return wrapper


@_duplicate_receipt_refused
@retry_on_conflict
@atomic_unless_retried  # in the API's idempotent transaction (run again as a whole) no savepoint of its own
@versions.one_read()  # the rules', variants' and places' tokens read once per attempt, whoever calls
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
    gift_cards: Sequence[Decimal] = (),
) -> Order:
    """Record a sale of any channel; returns the saved order with its lines and allocations.

    `gift_cards` are the amounts of the gift cards sold with the order: each
    is a line of its own and issues a card (loyalty.gift_cards), earns no
    points and takes no stock. A `gift_card` payment naming a code spends
    that card's balance.

    Raises DuplicateOrder (the channel's external id was seen), Invalid,
    NotSoldOnChannel, InsufficientStock, InsufficientPoints,
    InsufficientGiftCardBalance. Locks: the
    customers' rows (identify), the stock rows (by primary key, in
    inventory.allocate), the loyalty account. With ``may_merge`` false (a caller
    without the merge permission), identifiers that would merge customers raise
    PermissionDenied.
    """
    fulfilment = fulfilment or FulfilmentIn()
    if external_id and (number := selectors.number_of_sale(channel.pk, external_id)) is not None:
        raise DuplicateOrder(number=number)
    check_places(channel, location, fulfilment)
    check_lines(lines)
    if not lines and not gift_cards:
        raise Invalid("An order sells something.", {"lines": ["Give at least one line or one gift card."]})
    gift_total, paying_cards = check_gift_cards(gift_cards, payments, fulfilment)
    if points_to_redeem < 0:
        raise Invalid("Points to redeem cannot be negative.", {"points_to_redeem": ["Must be 0 or more."]})

    buyer, buyer_is_new, consents = resolve_customer(
        customer=customer, identifiers=identifiers, actor=actor, request_key=request_key, may_merge=may_merge
    )
    account = loyalty.open_account(customer=buyer) if buyer is not None else None
    at = created_at or timezone.now()
    if lines:
        quote = quote_basket(channel=channel, lines=lines, account=account, at=at)
    else:  # gift cards only: nothing to price
        quote = Quote(channel=channel, lines=[], tier=None, balance=0, points_to_earn=0, points_value=Decimal("0"))
    terms = quote.terms or terms_at(at)  # the programme and rules, read once for the whole order

    points_value = points_worth(points_to_redeem, terms.programme)
    if points_to_redeem and account is None:
        raise InsufficientPoints("Only a known customer can pay with points.")
    if (
        points_to_redeem and account is not None and points_to_redeem > account.balance
    ):  # redeem() decides for sure, under its update
        raise InsufficientPoints(f"The balance is {account.balance} points, {points_to_redeem} were asked for.")
    if points_value > quote.total:
        raise Invalid("The points are worth more than the order.", {"points_to_redeem": ["Too many points."]})
    due = quote.total - points_value
    check_payments(payments, due + gift_total)
    credit = sum((p.amount for p in payments if p.tender == Tender.STORE_CREDIT), Decimal("0.00"))
    if credit and buyer is None:
        raise Invalid(
            "Only a known customer can pay with store credit.", {"payments": ["Store credit needs a customer."]}
        )
    earned = 0
    if account is not None:
        earned = basket_points(quote.lines, channel=channel, tier=account.tier, at=at, terms=terms, due=due)

    order = _new_order(
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
    if gift_total:
        order.subtotal += gift_total
        order.total += gift_total
    order_lines = [
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
    sold_lines = _gift_card_lines(order, gift_cards)
    paid = [Payment(order=order, tender=p.tender, amount=p.amount) for p in payments]
    # The number cannot be taken (see order_numbers): no savepoint, no retry. A sale of the same external id
    # committed meanwhile by another request fails this INSERT; record_order answers it with DuplicateOrder.
    statements.write_order(order, [*order_lines, *sold_lines], paid)
    sold_cards = [
        gift_card_ledger.issue(amount=line.unit_price, order=order, currency=order.currency, actor=actor)
        for line in sold_lines
    ]

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
    allocations = [Allocation(line=line_of[a.variant.pk], location=a.location, quantity=a.quantity) for a in allocated]

    if credit and buyer is not None:
        store_credit.spend(customer=buyer, amount=credit, order=order, actor=actor)
    for index, card in paying_cards.items():
        gift_card_ledger.spend(card=card, amount=payments[index].amount, order=order, actor=actor)
    earning = None
    if account is not None:
        if points_to_redeem:
            loyalty.redeem(
                account=account, points=points_to_redeem, order=order, channel=channel.code, actor=actor, at=at
            )
        earning = loyalty.earning(
            account=account,
            points=earned,
            order=order,
            channel=channel.code,
            actor=actor,
            spend=due,
            at=at,
            settings=terms.programme,
        )

    event = OrderEvent(
        order=order, type=OrderEventType.PLACED, to_status=order.status, user=actor.user, api_client=actor.api_client
    )
    message = OutboxMessage(task="kpis.refresh_day", kwargs={"day": timezone.localdate(at).isoformat()})
    # The selling store serves the whole order from its own shelves: that is no endless-aisle sale.
    served_here = (
        order.is_endless_aisle and location is not None and all(a.location.pk == location.pk for a in allocated)
    )
    # The points earned ride in the same statement, first: the account and its lot are locked before the outbox.
    earned_rows = statements.write_placed(
        order,
        allocations,
        event,
        message,
        endless_aisle=False if served_here else None,
        first=earning.pieces if earning else (),
        first_results=earning.results if earning else (),
    )
    if earning is not None:
        earning.written(earned_rows[earning.ENTRY])
    outbox.written(message)
    webhooks.publish("order.created", lambda: order_event_data(order, previous_status=None))
    notices.send_receipt(order, new_customer=buyer_is_new, consents=consents)
    _keep_rows(order, [*order_lines, *sold_lines], paid, allocations, sold_cards)
    return order


def _gift_card_lines(order: Order, amounts: Sequence[Decimal]) -> list[OrderLine]:
    """A line per gift card sold: the catalog's gift card item at the card's amount (the card is issued once
    the line is written)."""
    if not amounts:
        return []
    variant = catalog.gift_card_variant()
    return [
        OrderLine(
            order=order,
            variant=variant,
            quantity=1,
            unit_price=to_cents(amount),
            line_total=to_cents(amount),
            omni_unit_price=to_cents(amount),
        )
        for amount in amounts
    ]


def _keep_rows(
    order: Order, lines: list[OrderLine], paid: list[Payment], allocations: list[Allocation], cards: list[Any]
) -> None:
    """The rows just written ride on the order as `selectors.orders()` would load them (lines with their
    allocations, payments, in primary-key order; the gift cards sold, newest first): the API answers from
    the order it built, no read back."""
    by_line: dict[int | None, list[Allocation]] = {line.pk: [] for line in lines}
    for allocation in allocations:
        by_line[allocation.line_id].append(allocation)
    for line in lines:
        allocated = sorted(by_line.get(line.pk, []), key=lambda row: row.pk)
        line._prefetched_objects_cache = {"allocations": _loaded(Allocation, allocated)}  # type: ignore[attr-defined]
    order._prefetched_objects_cache = {  # type: ignore[attr-defined]
        "lines": _loaded(OrderLine, sorted(lines, key=lambda row: row.pk)),
        "payments": _loaded(Payment, sorted(paid, key=lambda row: row.pk)),
        "gift_cards_sold": _loaded(GiftCard, sorted(cards, key=lambda card: (card.issued_at, card.pk), reverse=True)),
    }


def _loaded(model: Any, rows: list[Any]) -> Any:
    """A queryset already holding `rows` (in the model's order), as a prefetch leaves it."""
    queryset = model._default_manager.all()
    queryset._result_cache = rows
    queryset._prefetch_done = True
    return queryset


# --- Many sales at once ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SaleLineIn(BasketLineIn):
    """A line of a sale recorded in bulk: the variant (its product loaded), units, the price charged if any.

    It is priced as it is (a basket line of `price_baskets`). `row` is where
    the line came from (a file's row, with its `line` number), handed back in
    the stock shortfalls.
    """

    row: Any = None


@dataclass
class SaleIn:
    """A carry-out sale at a store, already checked by the caller, for `record_orders`.

    `number` is the channel's external id (a till's receipt number). The
    fields below the line are filled in by `record_orders`.
    """

    number: str
    location: Location
    sold_at: datetime
    tender: str
    lines: list[SaleLineIn] = field(default_factory=list)
    card: str = ""
    points_to_redeem: int = 0
    first_line: int = 0
    customer_id: int | None = None
    account: LoyaltyAccount | None = None
    priced: PricedBasket | None = None
    order: Order | None = None

    @property
    def quoted(self) -> list[QuotedLine]:
        return self.priced.lines if self.priced is not None else []

    @property
    def total(self) -> Decimal:
        return self.priced.total if self.priced is not None else Decimal("0.00")

    @property
    def points(self) -> int:
        return self.priced.points_to_earn if self.priced is not None else 0


@dataclass
class RecordedOrders:
    """What `record_orders` did besides the orders on each sale: new cards met, stock short.

    Each shortfall names its line by `index`, its position among the sales' lines in order.
    """

    new_cards: int = 0
    shortfalls: list[inventory.LineShortfall] = field(default_factory=list)


def record_orders(
    *,
    channel: Channel,
    sales: list[SaleIn],
    actor: Actor = SYSTEM,
    dry_run: bool = False,
    progress: Callable[[int, int], None] | None = None,
    total_lines: int | None = None,
) -> RecordedOrders:
    """Record many carry-out sales of a store channel at once, all or nothing: what `record_order` records
    for each, in a few statements per table.

    The steps are those of `record_order`, each in its bulk form: the cards
    identified (`customers.identify_many`), the accounts opened
    (`loyalty.open_accounts`), the baskets priced and their points computed
    (`loyalty.pricing.price_baskets`: the same rule functions as one order),
    the orders, lines, payments and allocations written, stock taken (a till
    sale is a fact: units sold beyond the stock on file are found first and
    listed in `shortfalls`), points redeemed and earned sale by sale in the
    given order (`loyalty.move_points_many`), the events, the webhooks and
    the KPI refresh of each day of sale. Each sale gets its `order`, `priced`
    and `account`.

    With `dry_run` the sales are identified, priced and their stock planned
    against the current figures, and nothing is written. Locks, in one
    transaction: the customers identified anew, the loyalty accounts, the
    stock rows (each in primary-key order). Raises InsufficientPoints and
    Invalid (points worth more than a sale) with nothing written.
    """
    total = total_lines if total_lines is not None else sum(len(sale.lines) for sale in sales)
    report = progress or (lambda done, total: None)
    result = RecordedOrders()
    if dry_run:
        result.new_cards = _identify_sales(sales, actor=actor, write=False)
        _price_sales(sales, channel)
        result.shortfalls = inventory.plan_till_sales(_stock_lines(sales), lock=False).shortfalls
        return result
    with transaction.atomic():
        result.new_cards = _identify_sales(sales, actor=actor, write=True)
        _price_sales(sales, channel)
        plan = inventory.plan_till_sales(_stock_lines(sales), lock=True)
        result.shortfalls = plan.shortfalls
        report(total // 10, total)
        _write_orders(sales, channel=channel)
        report(total * 5 // 10, total)
        inventory.take_many(_stock_lines(sales), actor=actor, at_the_till=True, plan=plan)
        report(total * 7 // 10, total)
        _move_points(sales, channel=channel, actor=actor)
        who, now = bulk.attribution(actor), timezone.now()
        bulk.insert_rows(
            OrderEvent,
            ("order_id", "type", "to_status", "user_id", "api_client_id", "created_at"),
            [(s.order.pk, OrderEventType.PLACED, OrderStatus.COMPLETED, *who, now) for s in sales if s.order],
        )
        webhooks.publish_many(
            "order.created",
            lambda: [order_event_data(s.order, previous_status=None) for s in sales if s.order is not None],
        )
        for day in sorted({timezone.localdate(s.sold_at) for s in sales}):
            outbox.enqueue("kpis.refresh_day", day=day.isoformat())
    return result


def _stock_lines(sales: list[SaleIn]) -> list[inventory.StockLine]:
    """The sales' lines as inventory's input, in order; a sale's reason names its order once it is written."""
    return [
        inventory.StockLine(
            location_id=sale.location.pk,
            variant_id=line.variant.pk,
            quantity=line.quantity,
            reason=f"order {sale.order.pk}" if sale.order is not None else "",
            shortfall_reason=f"{inventory.TILL_SHORTFALL_REASON}: receipt {sale.number}",
        )
        for sale in sales
        for line in sale.lines
    ]


def _move_points(sales: list[SaleIn], *, channel: Channel, actor: Actor) -> None:
    """The points of the sales through loyalty's bulk service: for each sale of a known account, in order, its
    redemption (if any) then its earning, as `record_order` redeems then earns; the rules are loyalty's."""
    moves = []
    for sale in sales:
        if sale.account is None or sale.order is None or sale.priced is None:
            continue
        at, order_id = sale.sold_at, sale.order.pk
        if sale.points_to_redeem:
            moves.append(
                loyalty.PointsMove(
                    sale.account.pk,
                    EntryKind.REDEEM,
                    sale.points_to_redeem,
                    at=at,
                    order_id=order_id,
                    channel=channel.code,
                )
            )
        moves.append(
            loyalty.PointsMove(
                sale.account.pk,
                EntryKind.EARN,
                sale.priced.points_to_earn,
                spend=sale.priced.due,
                at=at,
                order_id=order_id,
                channel=channel.code,
            )
        )
    loyalty.move_points_many(moves, actor=actor)


def _identify_sales(sales: list[SaleIn], *, actor: Actor, write: bool) -> int:
    """Each sale's customer and loyalty account, from its card; returns the cards new to Omni."""
    found = customer_services.identify_many(
        kind=IdentifierKind.CARD, values={s.card for s in sales if s.card}, actor=actor, write=write
    )
    for sale in sales:
        sale.customer_id = found.customers.get(sale.card) if sale.card else None
    accounts = loyalty.open_accounts(
        customer_ids={s.customer_id for s in sales if s.customer_id is not None}, create=write, lock=write
    )
    for sale in sales:
        sale.account = accounts.get(sale.customer_id) if sale.customer_id is not None else None
    return len(found.new)


def _price_sales(sales: list[SaleIn], channel: Channel) -> None:
    """Every basket priced by loyalty's bulk pricing; points paid with are checked as `record_order` checks them."""
    priced = price_baskets(
        [
            BasketIn(
                lines=sale.lines,
                at=sale.sold_at,
                account=sale.account,
                points_to_redeem=sale.points_to_redeem,
            )
            for sale in sales
        ],
        channel=channel,
    )
    for sale, basket in zip(sales, priced, strict=True):
        sale.priced = basket
        if sale.points_to_redeem:
            if sale.points_to_redeem < 0:
                raise Invalid("Points to redeem cannot be negative.", {"points_to_redeem": ["Must be 0 or more."]})
            if sale.account is None:
                raise InsufficientPoints("Only a known customer can pay with points.")
            if basket.points_value > basket.total:
                raise Invalid("The points are worth more than the order.", {"points_to_redeem": ["Too many points."]})


def _write_orders(sales: list[SaleIn], *, channel: Channel) -> None:
    """The orders, lines, payments and allocations of the sales, a statement or two per table."""
    orders = []
    for sale, number in zip(sales, order_numbers(len(sales)), strict=True):
        assert sale.priced is not None
        sale.order = Order(
            number=number,
            **order_fields(
                channel=channel,
                location=sale.location,
                external_id=sale.number,
                fulfilment=CARRY_OUT,
                priced=sale.priced,
                points_value=sale.priced.points_value,
                points_redeemed=sale.points_to_redeem,
                points_earned=sale.priced.points_to_earn,
                at=sale.sold_at,
                customer_id=sale.customer_id,
            ),
        )
        orders.append(sale.order)
    bulk.insert_objects(Order, orders)

    line_rows = [
        (sale.order.pk, q.variant.pk, q.quantity, q.unit_price, q.discount, q.line_total, q.omni_price)
        for sale in sales
        if sale.order is not None
        for q in sale.quoted
    ]
    line_ids = bulk.insert_rows(
        OrderLine,
        ("order_id", "variant_id", "quantity", "unit_price", "discount", "line_total", "omni_unit_price"),
        line_rows,
        ids=True,
    )
    # A sale paid wholly with points has no payment, as record_order takes none; a sale of zero keeps its tender.
    bulk.insert_rows(
        Payment,
        ("order_id", "tender", "amount"),
        [
            (s.order.pk, s.tender, s.priced.due)
            for s in sales
            if s.order is not None and s.priced is not None and (s.priced.due > 0 or not s.points_to_redeem)
        ],
    )
    locations = [sale.location.pk for sale in sales for _ in sale.quoted]
    bulk.insert_rows(
        Allocation,
        ("line_id", "location_id", "quantity"),
        [(line_id, location, row[2]) for line_id, location, row in zip(line_ids, locations, line_rows, strict=True)],
    )


def order_event_data(order: Order, *, previous_status: str | None) -> dict[str, Any]:
    """The `data` of order.created and order.status_changed (the contract's fields)."""
    return {
        "number": order.number,
        "channel": order.channel.code,
        "status": order.status,
        "previous_status": previous_status,
        "customer": order.customer_id,
    }


def order_fields(
    *,
    channel: Channel,
    location: Location | None,
    external_id: str | None,
    fulfilment: FulfilmentIn,
    priced: Quote | PricedBasket,
    points_value: Decimal,
    points_redeemed: int,
    points_earned: int,
    at: datetime,
    customer_id: int | None = None,
) -> dict[str, Any]:
    """The fields of a new order (all but its number), for one sale and for many: a carry-out sale is
    completed at once; a store sale delivered otherwise is an endless-aisle sale."""
    carry_out = fulfilment.type == FulfilmentType.CARRY_OUT
    return {
        "channel": channel,
        "location": location,
        "customer_id": customer_id,
        "external_id": external_id or None,
        "status": OrderStatus.COMPLETED if carry_out else OrderStatus.PLACED,
        "fulfilment_type": fulfilment.type,
        "pickup_location": fulfilment.pickup_location,
        "shipping_address": dict(fulfilment.address or {}),
        "is_endless_aisle": channel.code == ChannelCode.STORE and not carry_out,
        "currency": channel.currency,
        "subtotal": priced.subtotal,
        "discount_total": priced.discount_total,
        "total": priced.total,
        "points_value": points_value,
        "points_redeemed": points_redeemed,
        "points_earned": points_earned,
        "created_at": at,
    }


def _new_order(
    *, channel, location, buyer, external_id, fulfilment, quote, points_value, points_to_redeem, points_earned, at
) -> Order:
    """The order, not saved yet (`statements.write_order` numbers and writes it)."""
    fields = order_fields(
        channel=channel,
        location=location,
        external_id=external_id,
        fulfilment=fulfilment,
        priced=quote,
        points_value=points_value,
        points_redeemed=points_to_redeem,
        points_earned=points_earned,
        at=at,
    )
    del fields["customer_id"]
    fields["customer"] = buyer  # the instance rides along: the order returned names its customer without a query
    return Order(**fields)


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
    gift = sum((p.amount for p in order.payments.all() if p.tender == Tender.GIFT_CARD), Decimal("0.00"))
    if gift:  # the Omni gift cards that paid get their money back; a card of nobody needs no customer
        gift_card_ledger.refund_order(
            order=order, amount=gift, reference=order.number, reason="order cancelled", actor=actor
        )
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
