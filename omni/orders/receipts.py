"""POS receipts in bulk: the set-based form of `record_order` for a file of till receipts.

A file has one row per receipt line (store, receipt, sold_at, sku, quantity,
unit_price, card, tender). The rows of one receipt become one carry-out order
of the store channel at that store, exactly as `record_order` would record it
(same pricing through loyalty's `apply_promotions` and `points_for`, same
lines, payment, allocation, `sale` movements, points and order event), but
with a few queries per file instead of a few dozen per receipt.

Rules of the file, decided here:

- Every row is checked before anything is written; any bad row raises
  `ReceiptFileInvalid` naming every bad line (spreadsheet numbering, the
  header is line 1) and nothing is written.
- A receipt already imported (same number on the store channel) is skipped
  and reported, not an error: the same file sent twice, or a till export
  that overlaps the previous one, imports each sale once, and a task retried
  after a crash does not record anything twice.
- A till sale is a fact: when the file sells more units than the stock row
  holds, the sale is still recorded. The missing units are first written as
  an `adjustment` movement ("sold at the till beyond the stock on file"),
  then the `sale` movement, so on hand stops at zero, the stock row still
  equals the sum of its movements, and the result lists the shortfall so
  someone counts that shelf. Units sold that were held for orders are listed
  too (the row then shows its shortfall against `reserved`).
- A loyalty card the system does not know yet (a card handed out at the
  till) is identified through `customers.services.identify`, as
  `record_order` would, which creates the customer and attaches the card.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import connection, models, transaction
from django.db.models import Prefetch
from django.utils import timezone

from customers import services as customer_services
from customers.models import Identifier, IdentifierKind
from customers.normalise import normalise_identifier
from inventory import services as inventory
from loyalty.models import EarningRule, EntryKind, LedgerEntry, LoyaltyAccount, PointsLot, Promotion
from loyalty.pricing import MAX_QUANTITY, QuotedLine, Terms, apply_promotions, holds_on, points_for, programme
from loyalty.services import balance_event_data, end_of_day
from omni import outbox, webhooks
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Channel, ChannelCode, ChannelPrice, Location, LocationKind, Variant
from omni.errors import Invalid
from omni.money import to_cents
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
from omni.orders.services import MAX_LINES, new_order_number, order_event_data
from omni.uploads import whole_number

COLUMNS = ("store", "receipt", "sold_at", "sku", "quantity", "unit_price", "card", "tender")
REQUIRED_COLUMNS = ("store", "receipt", "sold_at", "sku", "quantity", "unit_price", "tender")
MAX_UNIT_PRICE = Decimal("100000")
RECEIPT_MAX_LENGTH = 64
IMPORT_TENDERS = (Tender.CASH, Tender.CARD, Tender.GIFT_CARD)
TENDER_WORDS = {"contanti": Tender.CASH, "carta": Tender.CARD, "bancomat": Tender.CARD, "buono": Tender.GIFT_CARD}
DATE_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y")
CHUNK = 5000  # ids per IN (...) list: SQLite limits the number of parameters

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReceiptRow:
    """One line of a receipt file, as read (values not yet checked)."""

    line: int
    store: Any
    receipt: Any
    sold_at: Any
    sku: Any
    quantity: Any
    unit_price: Any
    card: Any = ""
    tender: Any = ""


@dataclass
class ReceiptOutcome:
    """One receipt of the file: the order it became (or would become), or why it was skipped."""

    receipt: str
    store: str
    lines: list[int]
    sold_at: datetime
    total: Decimal
    units: int
    card: str
    points: int = 0
    skipped: bool = False
    order_number: str = ""


@dataclass(frozen=True)
class Shortfall:
    """Units a file sold beyond what the stock row could give."""

    line: int
    store: str
    sku: str
    units: int  # sold beyond on hand (written as an adjustment) or beyond the unreserved units
    beyond_on_hand: bool


@dataclass
class ReceiptImportResult:
    receipts: list[ReceiptOutcome] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)
    new_cards: int = 0
    dry_run: bool = False

    @property
    def imported(self) -> list[ReceiptOutcome]:
        return [r for r in self.receipts if not r.skipped]

    @property
    def skipped(self) -> list[ReceiptOutcome]:
        return [r for r in self.receipts if r.skipped]

    @property
    def line_count(self) -> int:
        return sum(len(r.lines) for r in self.imported)


class ReceiptFileInvalid(Invalid):
    """A receipt file with bad rows: `row_errors` maps each bad line to its messages. Nothing was written."""

    def __init__(self, row_errors: dict[int, dict[str, list[str]]]):
        self.row_errors = row_errors
        flat = {
            f"row {line}.{name}": messages
            for line, fields in sorted(row_errors.items())
            for name, messages in fields.items()
        }
        super().__init__(f"{len(row_errors)} row(s) of the file are not valid; nothing was imported.", flat)


# --- Reading values ----------------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a spreadsheet turns 1042 into 1042.0
    return str(value).strip()


def _amount(value: Any) -> Decimal | None:
    """12.5, "12.50" and the Italian "12,50" read as 12.50; None when it is not a price."""
    if isinstance(value, bool) or value is None:
        return None
    text = str(value).strip().replace("€", "").strip()
    if re.fullmatch(r"-?\d{1,3}(\.\d{3})+,\d{1,2}", text):
        text = text.replace(".", "")  # 1.234,50
    text = text.replace(",", ".")
    try:
        number = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def _moment(value: Any) -> datetime | None:
    """ISO date-time (with or without offset), or Italian dd/mm/yyyy hh:mm; naive times are Rome time."""
    moment: datetime | None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, date):
        moment = datetime(value.year, value.month, value.day)
    else:
        text = _text(value)
        if not text:
            return None
        moment = None
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            for pattern in DATE_FORMATS:
                try:
                    moment = datetime.strptime(text, pattern)
                    break
                except ValueError:
                    continue
    if moment is None:
        return None
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    return moment


def _chunks(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _active_at(rule: Promotion | EarningRule, at: datetime) -> bool:
    """The Python form of loyalty.pricing.active_q, for rules fetched once for the whole file."""
    return (
        rule.is_active
        and (rule.starts_at is None or rule.starts_at <= at)
        and (rule.ends_at is None or rule.ends_at > at)
    )


# --- The plan ----------------------------------------------------------------------------------------------------


@dataclass
class _Line:
    row: ReceiptRow
    variant: Variant
    quantity: int
    unit_price: Decimal


@dataclass
class _Receipt:
    number: str
    location: Location
    sold_at: datetime
    tender: str
    card: str
    first_line: int
    lines: list[_Line] = field(default_factory=list)
    customer_id: int | None = None
    account: LoyaltyAccount | None = None
    quoted: list[QuotedLine] = field(default_factory=list)
    points: int = 0
    order: Order | None = None

    @property
    def total(self) -> Decimal:
        return sum((q.line_total for q in self.quoted), Decimal("0.00"))


def _check_rows(
    rows: Sequence[ReceiptRow], channel: Channel, allowed_locations: set[int] | None
) -> tuple[list[_Receipt], list[ReceiptOutcome]]:
    """Check every row and group them into receipts; raises ReceiptFileInvalid listing every bad row."""
    errors: dict[int, dict[str, list[str]]] = defaultdict(dict)
    codes = {_text(row.store) for row in rows}
    skus = {_text(row.sku) for row in rows}
    locations = {loc.code: loc for loc in Location.objects.filter(code__in=codes - {""})}
    variants: dict[str, Any] = {}
    sku_list = sorted(skus - {""})
    for part in _chunks(sku_list):
        for fetched in (
            Variant.objects.filter(sku__in=part)
            .select_related("product")
            .prefetch_related(
                "product__channels",
                Prefetch("channel_prices", queryset=ChannelPrice.objects.filter(channel=channel), to_attr="on_channel"),
            )
        ):
            variants[fetched.sku] = fetched
    sold_here = {
        sku
        for sku, v in variants.items()
        if v.is_active and v.product.is_active and channel.pk in {c.pk for c in v.product.channels.all()}
    }
    latest = timezone.now() + timedelta(days=1)

    receipts: dict[str, _Receipt] = {}
    for row in rows:
        problems = errors[row.line]
        code, number, sku = _text(row.store), _text(row.receipt), _text(row.sku)
        location = locations.get(code)
        if not code:
            problems["store"] = ["This field is required."]
        elif location is None:
            problems["store"] = [f"No location with code {code}."]
        elif location.kind != LocationKind.STORE:
            problems["store"] = [f"{code} is not a store."]
        elif allowed_locations is not None and location.pk not in allowed_locations:
            problems["store"] = [f"You may import receipts of your own store only, not of {code}."]
        if not number:
            problems["receipt"] = ["This field is required."]
        elif len(number) > RECEIPT_MAX_LENGTH:
            problems["receipt"] = [f"At most {RECEIPT_MAX_LENGTH} characters."]
        sold_at = _moment(row.sold_at)
        if sold_at is None:
            problems["sold_at"] = ["A date and time is required: 2025-03-14T17:05 or 14/03/2025 17:05."]
        elif sold_at > latest or sold_at.year < 2000:
            problems["sold_at"] = [f"{sold_at:%Y-%m-%d %H:%M} is not a plausible date of sale."]
        variant = variants.get(sku)
        if not sku:
            problems["sku"] = ["This field is required."]
        elif variant is None:
            problems["sku"] = [f"No variant with SKU {sku}."]
        elif sku not in sold_here:
            problems["sku"] = [f"{sku} is not sold in stores."]
        quantity = whole_number(row.quantity)
        if quantity is None or not 1 <= quantity <= MAX_QUANTITY:
            problems["quantity"] = [f"A whole number from 1 to {MAX_QUANTITY}."]
        price = _amount(row.unit_price)
        if price is None or price < 0 or price > MAX_UNIT_PRICE:
            problems["unit_price"] = [f"A price from 0 to {MAX_UNIT_PRICE}, like 19.90."]
        tender_text = _text(row.tender).lower()
        tender = TENDER_WORDS.get(tender_text, tender_text)
        if tender not in IMPORT_TENDERS:
            problems["tender"] = [f"One of {', '.join(IMPORT_TENDERS)}."]
        card = _text(row.card)
        if card:
            try:
                card = normalise_identifier(IdentifierKind.CARD, card, field="card")
            except Invalid as exc:
                problems["card"] = [str(message) for messages in exc.errors.values() for message in messages]

        if problems or not number:
            continue
        assert location is not None and variant is not None and sold_at is not None
        assert quantity is not None and price is not None
        receipt = receipts.get(number)
        if receipt is None:
            receipt = receipts[number] = _Receipt(number, location, sold_at, tender, card, row.line)
        else:
            first = receipt.first_line
            if receipt.location.pk != location.pk:
                problems["store"] = [f"Receipt {number} is from {receipt.location.code} on row {first}."]
            if receipt.sold_at != sold_at:
                problems["sold_at"] = [f"Receipt {number} was sold at {receipt.sold_at:%Y-%m-%d %H:%M} on row {first}."]
            if receipt.tender != tender:
                problems["tender"] = [f"Receipt {number} is paid by {receipt.tender} on row {first}."]
            if receipt.card != card:
                problems["card"] = [f"Receipt {number} has another card on row {first}."]
            earlier = next((line for line in receipt.lines if line.variant.pk == variant.pk), None)
            if earlier is not None:
                problems["sku"] = [f"{sku} is already on row {earlier.row.line} of this receipt: add the quantities."]
            elif len(receipt.lines) >= MAX_LINES:
                problems["receipt"] = [f"A receipt has at most {MAX_LINES} lines."]
            if problems:
                continue
        receipt.lines.append(_Line(row, variant, quantity, to_cents(price)))

    bad = {line: problems for line, problems in errors.items() if problems}
    if bad:
        raise ReceiptFileInvalid(bad)

    known: dict[str, str] = {}
    numbers = sorted(receipts)
    for part in _chunks(numbers):
        for external_id, order_number in Order.objects.filter(channel=channel, external_id__in=part).values_list(
            "external_id", "number"
        ):
            known[str(external_id)] = order_number
    skipped = []
    fresh = []
    for number, receipt in receipts.items():  # file order
        if number in known:
            skipped.append(
                ReceiptOutcome(
                    receipt=number,
                    store=receipt.location.code,
                    lines=[line.row.line for line in receipt.lines],
                    sold_at=receipt.sold_at,
                    total=Decimal("0.00"),
                    units=sum(line.quantity for line in receipt.lines),
                    card=receipt.card,
                    skipped=True,
                    order_number=known[number],
                )
            )
        else:
            fresh.append(receipt)
    return fresh, skipped


def _resolve_customers(receipts: list[_Receipt], *, actor: Actor, write: bool) -> int:
    """Known cards in a few queries; a new card goes through `identify`, as record_order would. Returns new cards."""
    cards = sorted({r.card for r in receipts if r.card})
    owner: dict[str, int] = {}
    unverified: set[str] = set()
    for part in _chunks(cards):
        for value, customer_id, verified, merged_into in Identifier.objects.filter(
            kind=IdentifierKind.CARD, value__in=part
        ).values_list("value", "customer_id", "is_verified", "customer__merged_into_id"):
            if verified and merged_into is None:
                owner[value] = customer_id
            else:
                unverified.add(value)
    new_cards = [card for card in cards if card not in owner]
    if write:
        for card in new_cards:
            owner[card] = customer_services.identify(
                identifiers=[{"kind": IdentifierKind.CARD, "value": card}], actor=actor
            ).customer.pk
    for receipt in receipts:
        receipt.customer_id = owner.get(receipt.card) if receipt.card else None

    customer_ids = sorted({r.customer_id for r in receipts if r.customer_id is not None})
    accounts: dict[int, LoyaltyAccount] = {}
    if write and customer_ids:
        missing = set(customer_ids)
        for part in _chunks(customer_ids):
            missing -= set(LoyaltyAccount.objects.filter(customer_id__in=part).values_list("customer_id", flat=True))
        LoyaltyAccount.objects.bulk_create(
            [LoyaltyAccount(customer_id=pk) for pk in sorted(missing)], ignore_conflicts=True, batch_size=1000
        )
    for part in _chunks(customer_ids):
        query = LoyaltyAccount.objects.filter(customer_id__in=part).select_related("tier").order_by("pk")
        if write:
            query = query.select_for_update(of=("self",))
        accounts.update({a.customer_id: a for a in query})
    for receipt in receipts:
        receipt.account = accounts.get(receipt.customer_id) if receipt.customer_id else None
    return len(new_cards)


def _price(receipts: list[_Receipt], channel: Channel) -> None:
    """Each receipt priced as quote_basket prices a till's lines: the till's price as charged (Omni's own price
    kept beside it for the parity report), then the points earned on it."""
    promotions = list(Promotion.objects.filter(is_active=True).prefetch_related("channels"))
    rules = list(EarningRule.objects.filter(is_active=True).prefetch_related("channels"))
    current = programme()  # read once for the file, as record_order reads it once per order
    for receipt in receipts:
        tier = receipt.account.tier if receipt.account is not None else None
        receipt.quoted = [
            QuotedLine(
                variant=line.variant,
                quantity=line.quantity,
                list_price=_channel_price(line.variant),
                unit_price=line.unit_price,
                is_charged=True,  # the till's price is what was charged: no promotion on top
            )
            for line in receipt.lines
        ]
        at = receipt.sold_at
        apply_promotions(receipt.quoted, [p for p in promotions if _active_at(p, at) and holds_on(p, channel, tier)])
        if receipt.account is not None:
            total = receipt.total
            share = total / total if total else Decimal("0")
            receipt.points = points_for(
                paid_by_category=[(q.category, q.line_total * share) for q in receipt.quoted],
                channel=channel,
                tier=tier,
                at=at,
                terms=Terms(programme=current, earning_rules=[r for r in rules if _active_at(r, at)]),
            )


def _channel_price(variant: Variant) -> Decimal:
    on_channel = getattr(variant, "on_channel", [])  # prefetched by _check_rows
    return on_channel[0].price if on_channel else variant.price


def _free_numbers(count: int) -> list[str]:
    """`count` order numbers of the form record_order gives, none of them taken."""
    numbers: set[str] = set()
    while len(numbers) < count:
        wanted = {new_order_number() for _ in range(count - len(numbers))} - numbers
        taken: set[str] = set()
        for part in _chunks(sorted(wanted)):
            taken.update(Order.objects.filter(number__in=part).values_list("number", flat=True))
        numbers |= wanted - taken
    return list(numbers)


# --- The service -------------------------------------------------------------------------------------------------


def record_receipts(
    rows: Sequence[ReceiptRow],
    *,
    actor: Actor = SYSTEM,
    dry_run: bool = False,
    progress: Progress | None = None,
    allowed_locations: Iterable[int] | None = None,
) -> ReceiptImportResult:
    """Record a file of POS receipts, all or nothing; what `record_order` would record, receipt by receipt.

    `allowed_locations` (location ids) limits the stores the file may name:
    a store clerk imports their own store's receipts only. Raises
    ReceiptFileInvalid (nothing written) when any row is bad. With `dry_run`
    everything is checked and priced against the current stock, accounts and
    promotions, and nothing is written. `progress(done, total)` is told the
    lines done as the work goes on.

    Locks, in one transaction: the loyalty accounts of the identified
    customers and the stock rows of the (store, SKU) pairs sold, each in
    primary-key order. Stock is taken with one conditional UPDATE per stock
    row; every other write is a bulk insert (on PostgreSQL the orders, lines,
    payments, allocations, movements, ledger entries and events go in with
    COPY, ids reserved from their sequences where later rows point at them).
    """
    total_lines = len(rows)
    report = progress or (lambda done, total: None)
    channel = Channel.objects.get(code=ChannelCode.STORE)
    allowed = set(allowed_locations) if allowed_locations is not None else None
    receipts, skipped = _check_rows(rows, channel, allowed)
    report(0, total_lines)
    result = ReceiptImportResult(dry_run=dry_run)

    if dry_run:
        result.new_cards = _resolve_customers(receipts, actor=actor, write=False)
        _price(receipts, channel)
        result.shortfalls = _plan_stock(receipts, lock=False)[1]
    else:
        with transaction.atomic():
            result.new_cards = _resolve_customers(receipts, actor=actor, write=True)
            _price(receipts, channel)
            levels, result.shortfalls = _plan_stock(receipts, lock=True)
            report(total_lines // 10, total_lines)
            _write(receipts, channel=channel, levels=levels, actor=actor, report=report, total_lines=total_lines)
            webhooks.publish_many(
                "order.created",
                lambda: [order_event_data(r.order, previous_status=None) for r in receipts if r.order is not None],
            )
            for day in sorted({timezone.localdate(r.sold_at) for r in receipts}):
                outbox.enqueue("kpis.refresh_day", day=day.isoformat())
    result.receipts = [
        ReceiptOutcome(
            receipt=r.number,
            store=r.location.code,
            lines=[line.row.line for line in r.lines],
            sold_at=r.sold_at,
            total=r.total,
            units=sum(line.quantity for line in r.lines),
            card=r.card,
            points=r.points,
            order_number=r.order.number if r.order is not None else "",
        )
        for r in receipts
    ] + skipped
    result.receipts.sort(key=lambda outcome: outcome.lines[0])
    report(total_lines, total_lines)
    return result


@dataclass(frozen=True)
class _Level:
    """What the import needs of a stock row: its figures as planned (held: units held for customers and orders)."""

    on_hand: int
    held: int


def _stock_lines(receipts: list[_Receipt]) -> list[inventory.StockLine]:
    """The receipts' lines as inventory's neutral input, in file order (a sale's reason names its order once made)."""
    return [
        inventory.StockLine(
            location_id=receipt.location.pk,
            variant_id=line.variant.pk,
            quantity=line.quantity,
            reason=f"order {receipt.order.pk}" if receipt.order is not None else "",
            shortfall_reason=f"{inventory.TILL_SHORTFALL_REASON}: receipt {receipt.number}",
        )
        for receipt in receipts
        for line in receipt.lines
    ]


def _plan_stock(receipts: list[_Receipt], *, lock: bool) -> tuple[dict[tuple[int, int], _Level], list[Shortfall]]:
    """The stock rows sold from (made empty when missing, locked when writing) and the file's shortfalls.

    inventory.plan_till_sales decides; this only names the file's lines in its shortfalls.
    """
    plan = inventory.plan_till_sales(_stock_lines(receipts), lock=lock)
    where = [(receipt, line) for receipt in receipts for line in receipt.lines]
    shortfalls = [
        Shortfall(
            where[short.index][1].row.line,
            where[short.index][0].location.code,
            where[short.index][1].variant.sku,
            short.units,
            short.beyond_on_hand,
        )
        for short in plan.shortfalls
    ]
    return {key: _Level(on_hand, 0) for key, on_hand in plan.on_hand.items()}, shortfalls


def _write(
    receipts: list[_Receipt],
    *,
    channel: Channel,
    levels: dict[tuple[int, int], _Level],
    actor: Actor,
    report: Progress,
    total_lines: int,
) -> None:
    """Every insert and update of the import, inside the caller's transaction."""
    numbers = _free_numbers(len(receipts))
    orders = []
    for receipt, number in zip(receipts, numbers, strict=True):
        total = receipt.total
        receipt.order = Order(
            number=number,
            channel=channel,
            location=receipt.location,
            customer_id=receipt.customer_id,
            external_id=receipt.number,
            status=OrderStatus.COMPLETED,
            fulfilment_type=FulfilmentType.CARRY_OUT,
            pickup_location=None,
            shipping_address={},
            is_endless_aisle=False,
            currency=channel.currency,
            subtotal=sum((q.gross for q in receipt.quoted), Decimal("0.00")),
            discount_total=sum((q.discount for q in receipt.quoted), Decimal("0.00")),
            total=total,
            points_value=Decimal("0.00"),
            points_redeemed=0,
            points_earned=receipt.points,
            created_at=receipt.sold_at,
        )
        orders.append(receipt.order)
    _insert_objects(Order, orders)
    report(total_lines * 3 // 10, total_lines)

    line_rows = [
        (receipt.order.pk, q.variant.pk, q.quantity, q.unit_price, q.discount, q.line_total, q.omni_price)
        for receipt in receipts
        if receipt.order is not None
        for q in receipt.quoted
    ]
    line_ids = _insert(
        OrderLine,
        ("order_id", "variant_id", "quantity", "unit_price", "discount", "line_total", "omni_unit_price"),
        line_rows,
        ids=True,
    )
    _insert(Payment, ("order_id", "tender", "amount"), [(r.order.pk, r.tender, r.total) for r in receipts if r.order])
    locations = [receipt.location.pk for receipt in receipts for _ in receipt.quoted]
    _insert(
        Allocation,
        ("line_id", "location_id", "quantity"),
        [
            (line_id, location_id, row[2])
            for line_id, location_id, row in zip(line_ids, locations, line_rows, strict=True)
        ],
    )
    report(total_lines * 5 // 10, total_lines)

    _take_stock(receipts, levels=levels, actor=actor)
    report(total_lines * 7 // 10, total_lines)
    _earn_points(receipts, channel=channel, actor=actor)
    who = _attribution(actor)
    now = timezone.now()
    _insert(
        OrderEvent,
        ("order_id", "type", "to_status", "user_id", "api_client_id", "created_at"),
        [(r.order.pk, OrderEventType.PLACED, OrderStatus.COMPLETED, *who, now) for r in receipts if r.order],
    )


def _attribution(actor: Actor) -> tuple[Any, Any]:
    """(user_id, api_client_id) of an Attributed row written by `actor`."""
    user, client = actor.user, actor.api_client
    return (user.pk if user is not None else None, client.pk if client is not None else None)


def _insert_objects(model: Any, objects: Sequence[Any]) -> None:
    """bulk_create of `objects`, their ids set; on PostgreSQL through COPY (fields prepared as bulk_create does)."""
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objects, batch_size=1000)
        return
    fields = [f for f in model._meta.concrete_fields if not f.primary_key]
    rows = [[f.pre_save(obj, True) for f in fields] for obj in objects]
    if any(hasattr(value, "resolve_expression") for row in rows for value in row):
        raise ValueError(f"{model._meta.label}: expressions (a database default left unset) need bulk_create")
    # A Decimal goes to COPY as it is: preparing it (get_db_prep_save) costs more than the COPY of it.
    prepare = [None if isinstance(f, models.DecimalField) else f for f in fields]
    rows = [
        [
            value if f is None and isinstance(value, Decimal) else (f or fields[i]).get_db_prep_save(value, connection)
            for i, (f, value) in enumerate(zip(prepare, row, strict=True))
        ]
        for row in rows
    ]
    ids = _insert(model, [f.attname for f in fields], rows, ids=True)
    for obj, pk in zip(objects, ids, strict=True):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias


def _update(model: Any, names: Sequence[str], objects: Sequence[Any]) -> None:
    """bulk_update of the fields `names` of `objects`; on PostgreSQL one UPDATE ... FROM (VALUES ...) per chunk."""
    if not objects:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_update(objects, list(names), batch_size=1000)
        return
    meta = model._meta
    fields = [meta.pk, *(meta.get_field(name) for name in names)]
    quote = connection.ops.quote_name
    columns = [quote(f.column) for f in fields]
    row = "(" + ", ".join(f"%s::{f.cast_db_type(connection)}" for f in fields) + ")"
    sets = ", ".join(f"{column} = v.{column}" for column in columns[1:])
    with connection.cursor() as cursor:
        for part in _chunks(objects):
            cursor.execute(
                f"UPDATE {quote(meta.db_table)} AS t SET {sets} FROM (VALUES {', '.join([row] * len(part))}) "
                f"AS v({', '.join(columns)}) WHERE t.{columns[0]} = v.{columns[0]}",
                [f.get_db_prep_save(getattr(obj, f.attname), connection) for obj in part for f in fields],
            )


def _insert(
    model: Any, names: Sequence[str], rows: Sequence[Sequence[Any]], *, ids: bool = False, restamp: bool = False
) -> list[int]:
    """Insert `rows` (values of the fields whose attnames are `names`) into the model's table, in order.

    Fields not named get their default (those with a database default are left
    to the database). On PostgreSQL the rows are written with COPY, their ids
    reserved from the table's sequence first when `ids` is asked for; elsewhere
    model instances go through bulk_create. Returns the new ids when `ids`.
    A named auto_now_add field keeps the value given on PostgreSQL; elsewhere
    only with `restamp` (bulk_create stamps it, a bulk_update puts it back).
    """
    if not rows:
        return []
    if connection.vendor != "postgresql":
        objects = [model(**dict(zip(names, row, strict=True))) for row in rows]
        model.objects.bulk_create(objects, batch_size=2000)
        stamped = [n for n in names if restamp and getattr(model._meta.get_field(n), "auto_now_add", False)]
        if stamped:  # auto_now_add stamped the insert: put the given values back
            for obj, row in zip(objects, rows, strict=True):
                for name in stamped:
                    setattr(obj, name, row[names.index(name)])
            model.objects.bulk_update(objects, stamped, batch_size=1000)
        return [obj.pk for obj in objects] if ids else []
    meta = model._meta
    by_name = {f.attname: f for f in meta.concrete_fields}
    rest = [f for f in meta.concrete_fields if f.attname not in names and not f.primary_key and not f.has_db_default()]
    for f in rest:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            raise ValueError(f"{meta.label}.{f.name} must be given")
    defaults = tuple(f.get_db_prep_save(f.get_default(), connection) for f in rest)
    columns = [by_name[name].column for name in names] + [f.column for f in rest]
    quote = connection.ops.quote_name
    new_ids: list[int] = []
    with connection.cursor() as cursor:
        if ids:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [meta.db_table, meta.pk.column, len(rows)],
            )
            new_ids = sorted(row[0] for row in cursor.fetchall())
            columns.insert(0, meta.pk.column)
        sql = f"COPY {quote(meta.db_table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN"
        with cursor.cursor.copy(sql) as copy:
            if ids:
                for pk, row in zip(new_ids, rows, strict=True):
                    copy.write_row((pk, *row, *defaults))
            else:
                for row in rows:
                    copy.write_row((*row, *defaults))
    return new_ids


def _take_stock(receipts: list[_Receipt], *, levels: dict[tuple[int, int], _Level], actor: Actor) -> None:
    """The till sales through inventory's bulk take (rows already locked by _plan_stock): an adjustment for units
    sold beyond on hand, then the sale, one set-based update and one insert of movements."""
    plan = inventory.TillPlan(on_hand={key: level.on_hand for key, level in levels.items()}, shortfalls=[], locked=True)
    inventory.take_many(_stock_lines(receipts), actor=actor, at_the_till=True, plan=plan)


def _earn_points(receipts: list[_Receipt], *, channel: Channel, actor: Actor) -> None:
    """loyalty.services.earn for every identified receipt, in file order, as sets of rows.

    The accounts were locked by _resolve_customers. Per account the receipts
    are applied in order: debt from earlier reversals is paid off first, the
    rest goes to the balance and to the lot of the day the points lapse.
    """
    identified = [r for r in receipts if r.account is not None and (r.points > 0 or r.total > 0)]
    if not identified:
        return
    valid_days = programme().points_valid_days
    state = {
        r.account.pk: {"balance": r.account.balance, "debt": r.account.debt, "lifetime": r.account.lifetime_points}
        for r in identified
        if r.account is not None
    }
    entries: list[tuple[Any, ...]] = []
    who = _attribution(actor)
    credits: list[tuple[int, int, datetime]] = []  # (account, points, earned at), per entry
    for receipt in identified:
        account = receipt.account
        assert account is not None and receipt.order is not None
        now = state[account.pk]
        points = max(receipt.points, 0)
        paid_off = min(now["debt"], points)
        credit = points - paid_off
        now["balance"] += credit
        now["debt"] -= paid_off
        now["lifetime"] += points
        entries.append(
            (
                account.pk,
                EntryKind.EARN,
                credit,
                -paid_off,
                now["balance"],
                receipt.total,
                receipt.order.pk,
                channel.code,
                "",
                *who,
                receipt.sold_at,  # the ledger dates the sale
            )
        )
        credits.append((account.pk, credit, receipt.sold_at))
    entry_ids = _insert(
        LedgerEntry,
        (
            "account_id",
            "kind",
            "points",
            "debt_change",
            "balance_after",
            "spend",
            "order_id",
            "channel",
            "reason",
            "user_id",
            "api_client_id",
            "created_at",
        ),
        entries,
        ids=True,
        restamp=True,
    )
    moves = [(entry[0], entry[2], entry[4]) for entry in entries if entry[2]]  # (account, change, balance)
    webhooks.publish_many("loyalty.balance_changed", lambda: balance_event_data(moves))

    lots: dict[tuple[int, datetime], list[Any]] = {}  # (account, expires) -> [points, entry, earned_at]
    for entry, (account_id, credit, at) in zip(entry_ids, credits, strict=True):
        if not credit:
            continue
        expires_at = end_of_day(at + timedelta(days=valid_days))
        day = lots.setdefault((account_id, expires_at), [0, entry, at])
        day[0] += credit
    if lots:
        account_ids = sorted({account_id for account_id, _ in lots})
        existing = {}
        for part in _chunks(account_ids):
            for lot in (
                PointsLot.objects.select_for_update()
                .filter(account_id__in=part, expires_at__in={expires for _, expires in lots})
                .order_by("pk")
            ):
                existing[(lot.account_id, lot.expires_at)] = lot
        grown = []
        for key, (points, _entry, _at) in lots.items():
            found = existing.get(key)
            if found is not None:
                found.points += points
                found.remaining += points
                grown.append(found)
        _update(PointsLot, ("points", "remaining"), grown)
        PointsLot.objects.bulk_create(
            [
                PointsLot(
                    account_id=key[0], entry_id=entry, points=points, remaining=points, earned_at=at, expires_at=key[1]
                )
                for key, (points, entry, at) in lots.items()
                if key not in existing
            ],
            batch_size=1000,
        )
    accounts = []
    for account_id, now in state.items():
        accounts.append(
            LoyaltyAccount(pk=account_id, balance=now["balance"], debt=now["debt"], lifetime_points=now["lifetime"])
        )
    _update(LoyaltyAccount, ("balance", "debt", "lifetime_points"), accounts)


# --- Reading files -----------------------------------------------------------------------------------------------


def rows_from_table(headers: Sequence[Any], records: Iterable[Sequence[Any]]) -> list[ReceiptRow]:
    """Rows of a table whose first line was `headers`; line numbers count the header as line 1."""
    names = [_text(h).lower() for h in headers]
    missing = [name for name in REQUIRED_COLUMNS if name not in names]
    if missing:
        raise Invalid(
            f"The file needs the columns {', '.join(COLUMNS)}; missing: {', '.join(missing)}.",
            {"file": [f"Missing column(s): {', '.join(missing)}."]},
        )
    index = {name: names.index(name) for name in COLUMNS if name in names}
    width = len(names)
    rows = []
    for number, values in enumerate(records, start=2):
        if all(value in (None, "") for value in values):
            continue  # blank lines at the end of a spreadsheet
        values = list(values) + [None] * (width - len(values))
        rows.append(
            ReceiptRow(
                line=number,
                store=values[index["store"]],
                receipt=values[index["receipt"]],
                sold_at=values[index["sold_at"]],
                sku=values[index["sku"]],
                quantity=values[index["quantity"]],
                unit_price=values[index["unit_price"]],
                card=values[index["card"]] if "card" in index else "",
                tender=values[index["tender"]],
            )
        )
    return rows


def rows_from_bytes(content: bytes, file_format: str) -> list[ReceiptRow]:
    """Read a .csv (UTF-8, comma or semicolon separated) or .xlsx receipt file."""
    if file_format.lstrip(".").lower() == "xlsx":
        import tablib

        dataset = tablib.Dataset().load(content, format="xlsx")
        return rows_from_table(dataset.headers or [], dataset)
    headers, records = csv_table(content.decode("utf-8-sig"))
    if headers is None:
        raise Invalid("The file is empty.", {"file": ["The file is empty."]})
    return rows_from_table(headers, records)


def csv_table(text: str) -> tuple[list[str] | None, list[list[str]]]:
    """The header and the records of a CSV receipt file, comma or semicolon separated (the one reader of
    both the command and the admin import): the separator is the one the header line uses more."""
    import csv
    import io

    text = text.removeprefix("\ufeff")
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text), delimiter=delimiter)
    headers = next(reader, None)
    return headers, list(reader)
