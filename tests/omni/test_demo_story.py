"""The demo's year went through the real rules: points, tiers, consents, returns, pick-ups, stock, parity and
gift cards.

One small demo is written for the whole module (it takes a while) and rolled back after it; every test only
reads it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import transaction
from django.db.models import Count, F, Sum
from django.test.utils import override_settings

from customers.models import ConsentChange, Identifier, Segment
from customers.selectors import segment_members
from inventory.models import ReplenishmentProposal, StockLevel, StockMovement
from loyalty import gift_cards
from loyalty import services as loyalty
from loyalty.models import (
    EntryKind,
    GiftCard,
    GiftCardEntry,
    LedgerEntry,
    LoyaltyAccount,
    PointsLot,
    Promotion,
    StoreCreditBalance,
)
from loyalty.selectors import account_by_card
from omni import demo
from omni.catalog.models import ChannelPrice, Location
from omni.orders import selectors as order_selectors
from omni.orders.models import Order, OrderLine, OrderStatus, Payment
from returns.models import Return, ReturnStatus

pytestmark = pytest.mark.django_db

UNTIL = date(2026, 11, 1)
TODAY = datetime(2026, 11, 1, tzinfo=ZoneInfo("Europe/Rome"))  # the demo's `until`, as the pages would see it


@pytest.fixture(scope="module", autouse=True)
def story(django_db_setup, django_db_blocker):
    with (
        django_db_blocker.unblock(),
        override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]),
        transaction.atomic(),
    ):
        result = demo.seed(scale=0.04, seed=3, until=UNTIL)
        yield result
        transaction.set_rollback(True)


def test_every_card_holder_has_a_loyalty_account_that_a_scan_of_the_card_finds():
    cards = list(Identifier.objects.filter(kind="card").values_list("value", "customer_id"))
    assert cards
    assert LoyaltyAccount.objects.filter(customer_id__in=[customer for _card, customer in cards]).count() == len(cards)
    for number, customer_id in cards[:50]:
        account = account_by_card(number)
        assert account is not None and account.customer_id == customer_id


def test_points_were_earned_and_redeemed_on_several_channels_and_every_balance_is_its_ledger():
    earned = set(LedgerEntry.objects.filter(kind=EntryKind.EARN, points__gt=0).values_list("channel", flat=True))
    redeemed = set(LedgerEntry.objects.filter(kind=EntryKind.REDEEM).values_list("channel", flat=True))
    assert {"store", "web"} <= earned
    assert "store" in redeemed and len(redeemed) >= 2
    assert loyalty.recompute_balances() == []
    # The points of each order are the ledger's: what the order says it earned is what was written.
    per_order = dict(
        LedgerEntry.objects.filter(kind=EntryKind.EARN, order__isnull=False)
        .values_list("order_id")
        .annotate(points=Sum("points"))
    )
    for order_id, points in Order.objects.filter(points_earned__gt=0).values_list("pk", "points_earned")[:500]:
        assert per_order.get(order_id) == points
    # Entries are dated across the year, as the sales were.
    first, last = LedgerEntry.objects.order_by("created_at")[0], LedgerEntry.objects.order_by("-created_at")[0]
    assert last.created_at - first.created_at > timedelta(days=300)


def test_tiers_are_computed_some_points_expired_and_some_expire_soon():
    assert LoyaltyAccount.objects.filter(tier__isnull=False, rolling_spend__gt=0).exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.EXPIRE).exists()
    soon = PointsLot.objects.filter(remaining__gt=0, expires_at__gte=TODAY, expires_at__lt=TODAY + timedelta(days=45))
    assert soon.exists()


def test_consents_were_given_and_withdrawn_on_several_channels_so_segments_have_members():
    granted = set(ConsentChange.objects.filter(is_granted=True).values_list("channel", flat=True))
    assert {"store", "web", "app"} <= granted
    assert ConsentChange.objects.filter(is_granted=False).exists()
    withdrawn = ConsentChange.objects.filter(is_granted=False, source="preference centre")
    assert withdrawn.exists()
    assert all(
        change.changed_at > ConsentChange.objects.filter(customer=change.customer).order_by("changed_at")[0].changed_at
        for change in withdrawn[:20]
    )
    newsletter = Segment.objects.get(name="Newsletter: clienti omnicanale")
    assert segment_members(newsletter, now=TODAY).exists()


def test_returns_of_every_kind_went_through_the_returns_services():
    returned_online_in_store = Return.objects.filter(
        order__channel__code__in=["web", "app", "call_center", "social"],
        location__kind="store",
        status=ReturnStatus.RECEIVED,
    )
    assert returned_online_in_store.exists()
    assert Return.objects.filter(status=ReturnStatus.REQUESTED).exists()  # asked online, on its way
    assert Return.objects.filter(location__kind="warehouse", status=ReturnStatus.RECEIVED).exists()  # received later
    assert Return.objects.filter(refund_to="store_credit").exists()
    assert StoreCreditBalance.objects.filter(balance__gt=0).exists()
    assert Return.objects.filter(refunds__tender="exchange").exists()
    # Returned units came back into stock and their points were taken back.
    assert StockMovement.objects.filter(kind="return").exists()
    assert LedgerEntry.objects.filter(kind=EntryKind.REVERSE).exists()


def test_the_clerks_store_has_click_and_collect_orders_in_every_state_today():
    store = Location.objects.filter(kind="store").order_by("pk")[0]  # the demo clerk's store
    orders = Order.objects.all()
    assert order_selectors.pickups_to_prepare(orders, store).exists()
    overdue = order_selectors.pickups_overdue(orders, store, now=TODAY)
    assert overdue.exists()
    ready = orders.filter(pickup_location=store, status=OrderStatus.READY_FOR_PICKUP).exclude(pk__in=overdue)
    assert ready.exists()
    collected = orders.filter(pickup_location=store, status=OrderStatus.COLLECTED)
    assert collected.filter(updated_at__gte=TODAY - timedelta(days=3)).exists()


def test_till_sales_took_stock_with_sale_movements_and_replenishment_proposes_transfers():
    sales = StockMovement.objects.filter(kind="sale")
    assert sales.filter(created_at__gte=TODAY - timedelta(days=28)).exists()
    assert sales.filter(created_at__lt=TODAY - timedelta(days=200)).exists()
    assert ReplenishmentProposal.objects.filter(status="proposed").exists()
    sums = {
        (row["location_id"], row["variant_id"]): row["units"]
        for row in StockMovement.objects.values("location_id", "variant_id")
        .order_by()
        .annotate(units=Sum("on_hand_delta"))
    }
    for location_id, variant_id, on_hand in StockLevel.objects.values_list("location_id", "variant_id", "on_hand"):
        assert sums[(location_id, variant_id)] == on_hand


def test_some_prices_and_promotions_hold_on_one_channel_only_and_promotions_priced_the_sales():
    assert ChannelPrice.objects.exists()
    assert Promotion.objects.annotate(n=Count("channels")).filter(n__gt=0).exists()
    assert Promotion.objects.annotate(n=Count("channels")).filter(n=0).exists()
    assert OrderLine.objects.filter(discount__gt=0, order__channel__code="store").exists()


def test_gift_cards_were_sold_at_the_tills_and_spent_on_later_orders_of_several_channels():
    cards = {card.pk: card for card in GiftCard.objects.select_related("order__channel", "order__location")}
    assert len(cards) >= 5
    for card in cards.values():  # each sold on a till receipt of its own, a line at the card's amount
        assert card.order.channel.code == "store" and card.order.location.kind == "store"
        assert card.order.total == card.initial_amount == card.order.lines.get().line_total
    sold = GiftCardEntry.objects.filter(reason=gift_cards.REASON_SOLD)
    assert dict(sold.values_list("card_id", "amount")) == {pk: card.initial_amount for pk, card in cards.items()}
    spent = list(GiftCardEntry.objects.filter(reason=gift_cards.REASON_PAYMENT).select_related("order__channel"))
    assert len(spent) >= 5
    assert len({entry.order.channel.code for entry in spent}) >= 2
    for entry in spent:  # spent by whoever was given the card, days after it was sold
        assert entry.created_at - cards[entry.card_id].issued_at >= timedelta(days=2)
        assert entry.order.created_at == entry.created_at
    # Each order paid with a gift card says so among its payments, for what the cards' ledger took.
    taken = defaultdict(Decimal)
    for entry in spent:
        taken[entry.order_id] -= entry.amount
    paid = (
        Payment.objects.filter(tender="gift_card", order_id__in=taken).values_list("order_id").annotate(Sum("amount"))
    )
    assert dict(paid) == taken


def test_gift_cards_have_balances_left_that_their_ledger_adds_up_to_and_the_api_reads(story, api):
    assert gift_cards.differences() == []
    for card in GiftCard.objects.prefetch_related("entries"):
        entries = sorted(card.entries.all(), key=lambda entry: entry.pk)
        assert entries[-1].balance_after == card.balance == sum(entry.amount for entry in entries)
    assert GiftCard.objects.filter(balance=0).exists()  # spent to the last cent
    assert GiftCard.objects.filter(balance__gt=0, balance__lt=F("initial_amount")).exists()  # partly spent
    assert GiftCard.objects.filter(balance=F("initial_amount")).exists()  # not spent yet
    # The command prints one with money left for the tour; the API finds it by its printed code.
    code, balance = story.tour["gift_card"], Decimal(story.tour["gift_card_balance"])
    assert balance > 0
    answer = api.get(f"/api/v1/gift-cards/{code}/")
    assert answer.status_code == 200, answer.content
    assert Decimal(answer.json()["balance"]) == balance < Decimal(answer.json()["initial_amount"])
