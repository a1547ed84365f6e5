"""The counter basket: one sale at a store, whose lines are carried out, shipped home or shipped to the store.

`record_order` takes one fulfilment per order. Rather than teach it a
fulfilment per line (its allocation, statuses and hand-over all follow the
order's one fulfilment), a basket is recorded as one order per way of
delivery, in one transaction: the carry-out part (completed at once, with
the gift cards sold), the part shipped home and the part shipped to this
store (each moving on as such orders do). The orders share the basket's
reference as their external id (`BASKET-<code>-<n>`), so the receipt, the
search and the hand-over find them together.

The tenders the clerk took (points, store credit, gift cards, card, cash)
must add up to the basket's due; they are spread over the parts in a fixed
order by `split_tenders`. A new customer may be enrolled in the same
transaction (loyalty.enrolment). Anything that fails writes nothing.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from customers.models import Customer
from loyalty import enrolment
from loyalty import gift_cards as gift_card_ledger
from loyalty.models import LoyaltyAccount
from loyalty.pricing import LineIn, Quote, points_worth, programme, quote_basket
from loyalty.services import open_account
from omni.actor import SYSTEM, Actor
from omni.catalog.models import Channel, ChannelCode, Location
from omni.concurrency import retry_on_conflict
from omni.errors import Invalid
from omni.orders.models import FulfilmentType, Order, Tender
from omni.orders.services import FulfilmentIn, PaymentIn, record_order

ZERO = Decimal("0.00")
# The ways a line of the basket reaches the customer, in the order the parts are recorded and paid.
DELIVERIES = [FulfilmentType.CARRY_OUT, FulfilmentType.SHIP_TO_HOME, FulfilmentType.SHIP_TO_STORE]


@dataclass(frozen=True)
class BasketLine:
    sku: str
    quantity: int
    delivery: str = FulfilmentType.CARRY_OUT


@dataclass(frozen=True)
class Tenders:
    """What the customer hands over: points, store credit, Omni gift cards (code, amount), card, cash."""

    points: int = 0
    store_credit: Decimal = ZERO
    gift_cards: Sequence[tuple[str, Decimal]] = ()
    card: Decimal = ZERO
    cash: Decimal = ZERO

    @property
    def money(self) -> Decimal:
        return self.store_credit + sum((a for _c, a in self.gift_cards), ZERO) + self.card + self.cash


@dataclass
class Part:
    """The lines of one way of delivery, priced, and (once split) what pays for it."""

    delivery: str
    lines: list[LineIn]
    quote: Quote | None
    gift_cards: list[Decimal] = field(default_factory=list)
    points: int = 0
    points_value: Decimal = ZERO
    payments: list[PaymentIn] = field(default_factory=list)

    @property
    def goods(self) -> Decimal:
        return self.quote.total if self.quote is not None else ZERO

    @property
    def total(self) -> Decimal:
        return self.goods + sum(self.gift_cards, ZERO)

    @property
    def due(self) -> Decimal:
        return self.total - self.points_value


@dataclass
class PricedBasket:
    parts: list[Part]

    @property
    def total(self) -> Decimal:
        return sum((p.total for p in self.parts), ZERO)


def price(
    *,
    lines: Sequence[BasketLine],
    gift_cards: Sequence[Decimal] = (),
    account: LoyaltyAccount | None = None,
    channel: Channel | None = None,
) -> PricedBasket:
    """The basket cut into its parts, each priced as its order will be (the quote `record_order` uses)."""
    channel = channel or Channel.objects.get(code=ChannelCode.STORE)
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        if line.delivery not in DELIVERIES:
            errors[f"lines.{index}.delivery"] = [f"One of {', '.join(DELIVERIES)}."]
    if not lines and not gift_cards:
        errors["lines"] = [_("The basket is empty.")]
    if errors:
        raise Invalid(_("The basket cannot be sold this way."), errors)
    parts = []
    for delivery in DELIVERIES:
        mine = [LineIn(sku=line.sku, quantity=line.quantity) for line in lines if line.delivery == delivery]
        cards = list(gift_cards) if delivery == FulfilmentType.CARRY_OUT else []
        if not mine and not cards:
            continue
        quote = quote_basket(channel=channel, lines=mine, account=account) if mine else None
        parts.append(Part(delivery=delivery, lines=mine, quote=quote, gift_cards=cards))
    return PricedBasket(parts=parts)


def split_tenders(basket: PricedBasket, tenders: Tenders) -> None:
    """Spread the tenders over the parts, in order: points on goods first, then store credit, gift cards, card,
    cash, each part filled before the next. A part that sells gift cards takes no gift card payment.

    Raises Invalid when the tenders do not add up to the basket's due, or when only gift cards are left to
    pay for gift cards.
    """
    point_value = programme().point_value
    points_left = tenders.points
    for part in basket.parts:
        use = min(points_left, int(part.goods / point_value)) if point_value > 0 else 0
        while use > 0 and points_worth(use, programme()) > part.goods:
            use -= 1
        part.points, part.points_value = use, points_worth(use, programme()) if use else ZERO
        points_left -= use
    if points_left:
        raise Invalid(
            _("The points are worth more than the goods in the basket."), {"points": [_("Use fewer points.")]}
        )
    due = sum((p.due for p in basket.parts), ZERO)
    if tenders.money != due:
        raise Invalid(
            _("The payments add up to %(paid)s, the amount due is %(due)s.") % {"paid": tenders.money, "due": due},
            {"payments": [_("The amount due is %(due)s.") % {"due": due}]},
        )
    pools: list[list[Any]] = [[Tender.STORE_CREDIT, "", tenders.store_credit]]
    pools += [[Tender.GIFT_CARD, code, amount] for code, amount in tenders.gift_cards]
    pools += [[Tender.CARD, "", tenders.card], [Tender.CASH, "", tenders.cash]]
    for part in basket.parts:
        owed = part.due
        for pool in pools:
            tender, code, left = pool
            if owed <= 0:
                break
            if left <= 0 or (tender == Tender.GIFT_CARD and part.gift_cards):
                continue
            take = min(owed, left)
            part.payments.append(PaymentIn(tender=tender, amount=take, gift_card=code))
            pool[2] -= take
            owed -= take
        if owed > 0:
            raise Invalid(
                _("A gift card is not paid for with another gift card: take card or cash for it."),
                {"payments": [_("Card or cash must cover the gift cards sold.")]},
            )


@dataclass(frozen=True)
class NewCustomer:
    first_name: str
    last_name: str
    card: str
    email: str = ""
    phone: str = ""
    consents: dict[str, bool] = field(default_factory=dict)
    wording: dict[str, str] = field(default_factory=dict)


@dataclass
class BasketSale:
    reference: str
    orders: list[Order]
    customer: Customer | None
    enrolled: bool = False


def new_reference() -> str:
    return f"BASKET-{secrets.token_hex(4).upper()}"


@retry_on_conflict
@transaction.atomic
def sell_basket(
    *,
    store: Location,
    lines: Sequence[BasketLine],
    tenders: Tenders,
    customer: Customer | None = None,
    new_customer: NewCustomer | None = None,
    address: dict[str, str] | None = None,
    gift_cards: Sequence[Decimal] = (),
    actor: Actor = SYSTEM,
) -> BasketSale:
    """Record the basket sold at `store`: enrol the new customer if any, then one order per way of delivery
    through `record_order`, paid with the tenders spread by `split_tenders`. All or nothing.

    Raises what `enrolment.enrol` and `record_order` raise, and Invalid (tenders, address, a customer both
    found and enrolled).
    """
    if customer is not None and new_customer is not None:
        raise Invalid(_("Choose the customer or enrol a new one, not both."), {"customer": [_("Not both.")]})
    enrolled = False
    if new_customer is not None:
        customer = enrolment.enrol(
            first_name=new_customer.first_name,
            last_name=new_customer.last_name,
            card=new_customer.card,
            email=new_customer.email,
            phone=new_customer.phone,
            consents=new_customer.consents,
            wording=new_customer.wording,
            channel=ChannelCode.STORE,
            source=store.code,
            actor=actor,
        ).customer
        enrolled = True
    if (tenders.points or tenders.store_credit) and customer is None:
        raise Invalid(
            _("Points and store credit are the customer's: find or enrol the customer first."),
            {"customer": [_("Needed to pay with points or store credit.")]},
        )
    for code, _amount in tenders.gift_cards:
        if gift_card_ledger.card_by_code(code) is None:
            raise Invalid(_("No gift card with the code %(code)s.") % {"code": code}, {"gift_card": [code]})
    account = open_account(customer=customer) if customer is not None else None
    basket = price(lines=lines, gift_cards=gift_cards, account=account)
    split_tenders(basket, tenders)
    reference = new_reference()
    orders = []
    for number, part in enumerate(basket.parts, start=1):
        fulfilment = FulfilmentIn(type=part.delivery)
        if part.delivery == FulfilmentType.SHIP_TO_HOME:
            fulfilment = FulfilmentIn(type=part.delivery, address=address or {})
        elif part.delivery == FulfilmentType.SHIP_TO_STORE:
            fulfilment = FulfilmentIn(type=part.delivery, pickup_location=store)
        orders.append(
            record_order(
                channel=Channel.objects.get(code=ChannelCode.STORE),
                location=store,
                customer=customer,
                lines=part.lines,
                gift_cards=part.gift_cards,
                payments=part.payments,
                points_to_redeem=part.points,
                fulfilment=fulfilment,
                external_id=f"{reference}-{number}",
                actor=actor,
            )
        )
    return BasketSale(reference=reference, orders=orders, customer=customer, enrolled=enrolled)
