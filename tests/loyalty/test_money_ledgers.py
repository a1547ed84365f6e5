"""The money ledgers (gift cards, store credit) add up to their balances to the cent, on either database.

SQLite computes with decimals as floats: 25.00 sold, 2.01 and 22.99 spent sum to 3.55e-15, not zero, and
25.00 - 2.24 is 22.759999999999998, less than the 22.76 the card holds. A card or a credit spent to the last
cent must be spendable to it, read as empty and in step with its ledger, and a payment refunded in full
leaves no room for another refund.
"""

from decimal import Decimal

import pytest

from loyalty import gift_cards, store_credit
from loyalty.models import GiftCard, GiftCardEntry, StoreCreditBalance
from tests.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


# 25 - 2.24 is 22.759999999999998 in floats; 25 - 2.01 - 22.99 is 3.55e-15.
SPENT_TO_THE_LAST_CENT = pytest.mark.parametrize("first, last", [("2.24", "22.76"), ("2.01", "22.99")])


@SPENT_TO_THE_LAST_CENT
def test_what_a_gift_card_holds_can_be_spent_to_the_last_cent_and_it_is_then_empty(first, last):
    card = gift_cards.issue(amount=Decimal("25.00"))
    gift_cards.spend(card=card, amount=Decimal(first))
    gift_cards.spend(card=card, amount=Decimal(last))
    assert not GiftCard.objects.filter(pk=card.pk, balance__gt=0).exists()
    assert gift_cards.differences() == []


@SPENT_TO_THE_LAST_CENT
def test_what_a_customer_holds_in_store_credit_can_be_spent_to_the_last_cent_and_it_is_then_empty(first, last):
    customer = CustomerFactory()
    store_credit.issue(customer=customer, amount=Decimal("25.00"))
    store_credit.spend(customer=customer, amount=Decimal(first))
    store_credit.spend(customer=customer, amount=Decimal(last))
    assert not StoreCreditBalance.objects.filter(customer=customer, balance__gt=0).exists()
    assert store_credit.differences() == []


def test_a_payment_refunded_in_full_leaves_nothing_more_to_refund(order):
    card = gift_cards.issue(amount=Decimal("25.00"))
    gift_cards.spend(card=card, amount=Decimal("0.10"), order=order)
    gift_cards.spend(card=card, amount=Decimal("0.20"), order=order)
    first = gift_cards.refund_order(order=order, amount=Decimal("0.30"), reference="RMA-1", reason="refund")
    assert first == Decimal("0.30")
    # -0.10 - 0.20 + 0.30 is -5.6e-17 in floats: no room left, so nothing is written.
    assert gift_cards.refund_order(order=order, amount=Decimal("0.30"), reference="RMA-2", reason="refund") == 0
    assert list(GiftCardEntry.objects.filter(card=card, reason="refund").values_list("amount", flat=True)) == [
        Decimal("0.30")
    ]
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("25.00")
    assert gift_cards.differences() == []


@pytest.fixture
def order(db):
    return OrderFactory()
