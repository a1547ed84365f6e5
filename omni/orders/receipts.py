"""POS receipts in bulk: the set-based form of `record_order` for a file of till receipts.

A file has one row per receipt line (store, receipt, sold_at, sku, quantity,
unit_price, card, tender). This module reads and checks the file; the rows of
one receipt become one sale for `orders.services.record_orders`, the bulk form
of `record_order`, which records it as a carry-out order of the store channel
at that store exactly as `record_order` would (the same pricing and points
through loyalty's shared rule functions, the same lines, payment, allocation,
`sale` movements, ledger entries and order event), with a few queries per
file instead of a few dozen per receipt.

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
  till) is identified through `customers.services.identify_many`, which
  hands it to `identify` as `record_order` would: the customer is created
  and the card attached.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils import timezone

from customers.models import IdentifierKind
from customers.normalise import normalise_identifier
from loyalty.pricing import MAX_QUANTITY
from omni.actor import SYSTEM, Actor
from omni.bulk import chunks as _chunks
from omni.catalog.models import Channel, ChannelCode, Location, LocationKind, Variant
from omni.errors import Invalid
from omni.money import to_cents
from omni.orders.models import (
    Order,
    Tender,
)
from omni.orders.services import MAX_LINES, SaleIn, SaleLineIn, record_orders
from omni.uploads import whole_number

COLUMNS = ("store", "receipt", "sold_at", "sku", "quantity", "unit_price", "card", "tender")
REQUIRED_COLUMNS = ("store", "receipt", "sold_at", "sku", "quantity", "unit_price", "tender")
MAX_UNIT_PRICE = Decimal("100000")
RECEIPT_MAX_LENGTH = 64
IMPORT_TENDERS = (Tender.CASH, Tender.CARD, Tender.GIFT_CARD)
TENDER_WORDS = {"contanti": Tender.CASH, "carta": Tender.CARD, "bancomat": Tender.CARD, "buono": Tender.GIFT_CARD}
DATE_FORMATS = ("%d/%m/%Y %H:%M", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y")

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


def _moment(value: Any, zone: tzinfo | None = None) -> datetime | None:
    """ISO date-time (with or without offset), or Italian dd/mm/yyyy hh:mm; naive times are in `zone` (by
    default the current time zone, Rome's unless a request chose another)."""
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
        moment = timezone.make_aware(moment, zone)
    return moment


# --- The plan ----------------------------------------------------------------------------------------------------


# The plan of a file is the sales of `record_orders`: a receipt is a sale, a row is a line of it.
_Receipt = SaleIn
_Line = SaleLineIn


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
            Variant.objects.filter(sku__in=part).select_related("product").prefetch_related("product__channels")
        ):
            variants[fetched.sku] = fetched
    sold_here = {
        sku
        for sku, v in variants.items()
        if v.is_active and v.product.is_active and channel.pk in {c.pk for c in v.product.channels.all()}
    }
    latest = timezone.now() + timedelta(days=1)

    receipts: dict[str, _Receipt] = {}
    # A receipt's lines repeat its time of sale: each distinct value is read once, in the zone read once.
    zone = timezone.get_current_timezone()
    moments: dict[Any, datetime | None] = {}
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
        if row.sold_at in moments:
            sold_at = moments[row.sold_at]
        else:
            sold_at = moments[row.sold_at] = _moment(row.sold_at, zone)
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
            receipt = receipts[number] = _Receipt(number, location, sold_at, tender, card=card, first_line=row.line)
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
        receipt.lines.append(_Line(variant, quantity, to_cents(price), row=row))

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

    The receipts that pass are recorded by `orders.services.record_orders`,
    the bulk form of `record_order`, in one transaction (its docstring says
    what it locks): this module reads and checks the file and names the
    file's lines in the stock shortfalls.
    """
    total_lines = len(rows)
    report = progress or (lambda done, total: None)
    channel = Channel.objects.get(code=ChannelCode.STORE)
    allowed = set(allowed_locations) if allowed_locations is not None else None
    receipts, skipped = _check_rows(rows, channel, allowed)
    report(0, total_lines)
    result = ReceiptImportResult(dry_run=dry_run)

    recorded = record_orders(
        channel=channel, sales=receipts, actor=actor, dry_run=dry_run, progress=report, total_lines=total_lines
    )
    result.new_cards = recorded.new_cards
    where = [(receipt, line) for receipt in receipts for line in receipt.lines]
    result.shortfalls = [
        Shortfall(
            where[short.index][1].row.line,
            where[short.index][0].location.code,
            where[short.index][1].variant.sku,
            short.units,
            short.beyond_on_hand,
        )
        for short in recorded.shortfalls
    ]
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
