"""Gift cards: sold at the tills over the year, given away, and spent later on other channels.

A card is sold on a receipt of its own through ``record_order`` (``gift_cards=[amount]``: the order line and
the card issued by loyalty's gift-card ledger). A few days later it is in someone else's hands, and some of
the online, call-center and endless-aisle orders placed from then on pay with it, part or all of the basket,
the rest by card: a ``gift_card`` payment naming the code, spent by ``record_order`` in the order's
transaction. Each card pays for two orders at most, or none: some end spent to the last cent, some with
money left, some untouched. The story only remembers what each card still holds, to choose a card and an
amount the ledger will accept; the ledger itself is loyalty's.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F

from loyalty import gift_cards as gift_card_ledger
from loyalty.models import GiftCard
from omni.demo.clock import _moment, clock
from omni.demo.data import (
    BASE_GIFT_CARDS,
    BASE_ORDERS,
    CARD,
    CASH,
    CHANNEL_SHARES,
    GIFT_CARD,
    GIFT_CARD_AMOUNTS,
    GIFT_CARD_GIVEN_AFTER_SECONDS,
    GIFT_CARD_KEEP_SHARE,
    GIFT_CARD_PAY_SHARE,
    GIFT_CARD_USES,
    IDENTIFIED_STORE_SHARE,
    MIN_GIFT_CARDS,
)
from omni.money import to_cents
from omni.orders import services as orders

ZERO = Decimal("0.00")


@dataclass
class _CardInHand:
    """A card sold by the demo, as its holder knows it: the code, what it still holds, when it can be spent."""

    code: str
    balance: Decimal
    spendable_from: int  # epoch: bought, then given away
    uses: int  # the orders it will pay for, part or all of what it holds


class GiftCardsStory:
    """A part of DemoBuilder: see the module."""

    def plan_gift_cards(self) -> None:
        """How often a till receipt comes with a gift card sold beside it, for about the cards wanted."""
        wanted = max(MIN_GIFT_CARDS, round(BASE_GIFT_CARDS * self.volumes.orders / BASE_ORDERS))
        receipts = self.volumes.orders * CHANNEL_SHARES["store"]
        self.gift_card_share = min(1.0, wanted / max(receipts, 1))
        self.gift_rng = self.rng("gift cards")  # its own draws: the rest of the year is what it was without cards
        self.cards_in_hand: list[_CardInHand] = []

    def sell_gift_card(self, store_index: int, receipts: list[int], stamp: str, epoch: int) -> None:
        """Now and then a customer at the till buys a gift card: a receipt of its own, paid by card or cash."""
        rng = self.gift_rng
        if rng.random() >= self.gift_card_share:
            return
        store = self.stores[store_index]
        receipts[store_index] += 1
        amount = Decimal(rng.choice(GIFT_CARD_AMOUNTS))
        buyer = None
        if rng.random() < IDENTIFIED_STORE_SHARE:
            customer_id = self.store_pools[store_index].pick(rng, epoch)
            buyer = self._customer(customer_id) if customer_id is not None else None
        with clock(_moment(epoch)):
            order = orders.record_order(
                channel=self.channel_rows["store"],
                location=self.location_rows[store.id],
                lines=[],
                gift_cards=[amount],
                payments=[orders.PaymentIn(tender=CARD if rng.random() < 0.7 else CASH, amount=amount)],
                customer=buyer,
                external_id=f"{store.site.code}-{stamp}-{receipts[store_index]:04d}",
                created_at=_moment(epoch),
            )
        self.result.gift_cards += 1
        uses = rng.choice(GIFT_CARD_USES)
        if uses:  # the others stay in a drawer, untouched
            card = order.gift_cards_sold.all()[0]  # the row record_order keeps on the order: no query
            self.cards_in_hand.append(_CardInHand(card.code, card.balance, epoch + GIFT_CARD_GIVEN_AFTER_SECONDS, uses))

    def tenders(self, due: Decimal, epoch: int) -> tuple[list[orders.PaymentIn], _CardInHand | None]:
        """How an order placed at `epoch` pays `due`: by card, or with a gift card given away (all it holds, up
        to `due`, or about half of it for a holder who keeps the rest for later) and the rest by card.
        Returns the payments and the gift card used; call `spent` once the order is recorded."""
        if due <= 0:
            return [], None
        card = self._card_to_spend(epoch, due)
        if card is None:
            return [orders.PaymentIn(tender=CARD, amount=due)], None
        take = min(card.balance, due)
        if take == card.balance >= 20 and self.gift_rng.random() < GIFT_CARD_KEEP_SHARE:
            take = to_cents(card.balance / 2 // 5 * 5)  # keeps about half the card for later, in whole fives
        payments = [orders.PaymentIn(tender=GIFT_CARD, amount=take, gift_card=card.code)]
        if due > take:
            payments.append(orders.PaymentIn(tender=CARD, amount=due - take))
        return payments, card

    def spent(self, card: _CardInHand, payments: list[orders.PaymentIn]) -> None:
        """The order that paid with `card` was recorded: the card holds that much less."""
        card.balance -= sum((p.amount for p in payments if p.gift_card == card.code), ZERO)
        card.uses -= 1
        if card.balance <= 0 or not card.uses:
            self.cards_in_hand.remove(card)
        self.result.gift_card_payments += 1

    def _card_to_spend(self, epoch: int, due: Decimal) -> _CardInHand | None:
        """A card given away by `epoch`, if its holder pays with it; half the time one holding more than `due`
        when there is one (a 200 euro card spent on a 60 euro basket), so that cards keep money left."""
        rng = self.gift_rng
        if not self.cards_in_hand or rng.random() >= GIFT_CARD_PAY_SHARE:
            return None
        ready = [card for card in self.cards_in_hand if card.spendable_from <= epoch]
        roomy = [card for card in ready if card.balance > due]
        if roomy and rng.random() < 0.5:
            return rng.choice(roomy)
        return rng.choice(ready) if ready else None

    def gift_card_for_the_tour(self) -> dict[str, str]:
        """A card partly spent (its ledger shows the sale and a payment), else any card still holding money."""
        holding = GiftCard.objects.filter(balance__gt=0).order_by("-balance", "pk")
        card = holding.filter(balance__lt=F("initial_amount")).first() or holding.first()
        if card is None:
            return {}
        return {"gift_card": gift_card_ledger.printed(card.code), "gift_card_balance": str(card.balance)}
