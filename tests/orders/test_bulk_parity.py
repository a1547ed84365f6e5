"""record_orders is the bulk form of record_order: the same sales write the same rows, whatever the rules.

Hypothesis draws the baskets (Omni's prices or a till's, several lines),
the buyers (anonymous, card holders of each tier, one in debt, a card new to
Omni), points paid with, the promotions (line, category and basket; percent
and amount; by tier, channel and time window) and the earning rules
(multipliers, bonuses, by category, tier, channel and window). The sales are
recorded once through `record_order`, sale by sale, and once through
`record_orders`; both outcomes are compared row by row (orders, lines,
payments, allocations, ledger entries, lots, balances), keyed by what a
user sees (the receipt number, the card), not by primary keys.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers import services as customer_services
from customers.models import Identifier
from loyalty import services as loyalty
from loyalty.models import EarningRule, LedgerEntry, LoyaltyAccount, PointsLot, Promotion, Tier
from loyalty.pricing import LineIn, points_worth, programme, quote_basket
from omni.catalog.models import ChannelPrice, Location, Product, Variant
from omni.orders import services
from omni.orders.models import Allocation, Order, OrderLine, Payment
from tests.factories import ProductFactory, VariantFactory, channel
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db

START = timezone.make_aware(datetime(2025, 3, 14, 9, 0))
SKUS = ("CAM-M", "CAM-L", "GON-S", "BOR-U")
CARDS = ("0420000000017", "0420000000024", "0420000000031", "0420000000048")  # bronze, silver, gold, in debt
NEW_CARD = "0420000000999"
DEBTOR = CARDS[3]


@pytest.fixture
def shop(network):
    """Two stores with every SKU on the shelf (a sale never fails on stock), two tiers, four card holders."""
    shirt = ProductFactory(code="CAM", category="camicie")
    skirt = ProductFactory(code="GON", category="gonne")
    bag = ProductFactory(code="BOR", category="borse")
    variants = [
        VariantFactory(sku="CAM-M", price=Decimal("39.90"), product=shirt),
        VariantFactory(sku="CAM-L", price=Decimal("42.50"), product=shirt),
        VariantFactory(sku="GON-S", price=Decimal("59.00"), product=skirt),
        VariantFactory(sku="BOR-U", price=Decimal("120.00"), product=bag),
    ]
    ChannelPrice.objects.create(variant=variants[1], channel=channel("store"), price=Decimal("35.00"))
    for place in (network["milano"], network["roma"]):
        for variant in variants:
            stock(place, variant, 10_000)
    silver = Tier.objects.update_or_create(code="silver", defaults={"earn_multiplier": Decimal("1.5")})[0]
    gold = Tier.objects.update_or_create(code="gold", defaults={"earn_multiplier": Decimal("2")})[0]
    long_ago = START - timedelta(days=400)
    for card, tier in zip(CARDS, (None, silver, gold, None), strict=True):
        customer = customer_services.identify(identifiers=[{"kind": "card", "value": card}]).customer
        account = loyalty.open_account(customer=customer)
        LoyaltyAccount.objects.filter(pk=account.pk).update(tier=tier)
        loyalty.earn(account=account, points=3000, at=long_ago, spend=Decimal("100"))
        loyalty.earn(account=account, points=2000, at=long_ago + timedelta(days=30), spend=Decimal("80"))
    debtor = LoyaltyAccount.objects.get(customer__identifiers__value=DEBTOR)
    loyalty.redeem(account=debtor, points=5000)
    loyalty.reverse(account=debtor, points=150, reason="a return after the points were spent")
    return {**network, "tiers": {"silver": silver, "gold": gold}}


# --- What hypothesis draws -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sale:
    number: str
    store: str
    at: datetime
    card: str
    tender: str
    lines: tuple[tuple[str, int, Decimal | None], ...]
    points: int


windows = st.sampled_from([(None, None), (None, 90), (60, None), (30, 200), (300, None)])  # minutes from START
tiers = st.sampled_from([None, "silver", "gold"])
channels = st.sampled_from([(), ("store",), ("web",)])


@st.composite
def promotions(draw):
    target = draw(st.sampled_from(["product", "category", "basket"]))
    percent = draw(st.booleans())
    if target == "basket":
        value = Decimal(draw(st.integers(1, 20))) if percent else Decimal(draw(st.integers(1, 200))) / 100
    else:
        value = Decimal(draw(st.integers(1, 50))) if percent else Decimal(draw(st.integers(1, 200))) / 100
    return {
        "kind": "percent" if percent else "amount",
        "value": value,
        "target": target,
        "product": draw(st.sampled_from(["CAM", "GON", "BOR"])) if target == "product" else None,
        "category": draw(st.sampled_from(["camicie", "gonne", "borse"])) if target == "category" else "",
        "min_basket": Decimal(draw(st.sampled_from([0, 50, 100, 200]))) if target == "basket" else Decimal("0"),
        "tier": draw(tiers),
        "channels": draw(channels),
        "window": draw(windows),
    }


earning_rules = st.fixed_dictionaries(
    {
        "category": st.sampled_from(["", "camicie", "gonne", "borse"]),
        "multiplier": st.sampled_from([Decimal("1"), Decimal("1.5"), Decimal("2"), Decimal("3")]),
        "bonus_points": st.sampled_from([0, 0, 5, 20]),
        "tier": tiers,
        "channels": channels,
        "window": windows,
    }
)

till_price = st.one_of(st.none(), st.integers(500, 6000).map(lambda cents: Decimal(cents) / 100))
basket = st.lists(
    st.tuples(st.sampled_from(SKUS), st.integers(1, 5), till_price),
    min_size=1,
    max_size=4,
    unique_by=lambda line: line[0],
)


@st.composite
def sales(draw):
    drawn = []
    for index in range(draw(st.integers(1, 7))):
        card = draw(st.sampled_from(["", "", *CARDS, NEW_CARD]))
        can_pay_with_points = card and card not in (DEBTOR, NEW_CARD)
        drawn.append(
            Sale(
                number=f"R-{index + 1}",
                store=draw(st.sampled_from(["MI01", "RM01"])),
                at=START + timedelta(minutes=draw(st.integers(0, 24 * 60 * 3))),
                card=card,
                tender=draw(st.sampled_from(["cash", "card", "gift_card"])),
                lines=tuple(draw(basket)),
                # Up to 2 euros of points: never more than a basket is worth (the cheapest is over 2 euros).
                points=draw(st.integers(0, 200)) if can_pay_with_points else 0,
            )
        )
    return drawn


# --- The two paths ---------------------------------------------------------------------------------------------


def make_rules(drawn_promotions, drawn_rules, shop) -> None:
    def window(minutes):
        start, end = minutes
        return (
            START + timedelta(minutes=start) if start is not None else None,
            START + timedelta(minutes=end) if end is not None else None,
        )

    for index, spec in enumerate(drawn_promotions):
        starts_at, ends_at = window(spec["window"])
        promotion = Promotion.objects.create(
            code=f"promo-{index}",
            name=f"Promo {index}",
            kind=spec["kind"],
            value=spec["value"],
            target=spec["target"],
            product=Product.objects.get(code=spec["product"]) if spec["product"] else None,
            category=spec["category"],
            min_basket=spec["min_basket"],
            tier=shop["tiers"].get(spec["tier"]) if spec["tier"] else None,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        promotion.channels.set([channel(code) for code in spec["channels"]])
    for index, spec in enumerate(drawn_rules):
        starts_at, ends_at = window(spec["window"])
        rule = EarningRule.objects.create(
            name=f"Rule {index}",
            category=spec["category"],
            multiplier=spec["multiplier"],
            bonus_points=spec["bonus_points"],
            tier=shop["tiers"].get(spec["tier"]) if spec["tier"] else None,
            starts_at=starts_at,
            ends_at=ends_at,
        )
        rule.channels.set([channel(code) for code in spec["channels"]])


def one_by_one(drawn: list[Sale]) -> None:
    """The reference: record_order, sale by sale, paying what its own quote says is due."""
    store = channel("store")
    for sale in drawn:
        lines = [LineIn(sku, quantity, price) for sku, quantity, price in sale.lines]
        account = None
        if sale.card:
            holder = Identifier.objects.filter(kind="card", value=sale.card).first()
            account = LoyaltyAccount.objects.filter(customer_id=holder.customer_id).first() if holder else None
        quote = quote_basket(channel=store, lines=lines, account=account, at=sale.at)
        due = quote.total - points_worth(sale.points, programme())
        services.record_order(
            channel=store,
            location=Location.objects.get(code=sale.store),
            lines=lines,
            payments=[services.PaymentIn(tender=sale.tender, amount=due)] if due > 0 else [],
            identifiers=[{"kind": "card", "value": sale.card}] if sale.card else None,
            external_id=sale.number,
            points_to_redeem=sale.points,
            created_at=sale.at,
        )


def in_bulk(drawn: list[Sale]) -> None:
    variants = {v.sku: v for v in Variant.objects.select_related("product")}
    services.record_orders(
        channel=channel("store"),
        sales=[
            services.SaleIn(
                number=sale.number,
                location=Location.objects.get(code=sale.store),
                sold_at=sale.at,
                tender=sale.tender,
                lines=[services.SaleLineIn(variants[sku], quantity, price) for sku, quantity, price in sale.lines],
                card=sale.card,
                points_to_redeem=sale.points,
            )
            for sale in drawn
        ],
    )


def rows_written() -> dict:
    """Every row the sales wrote, keyed by receipt number and card instead of primary keys."""
    card = dict(Identifier.objects.filter(kind="card").values_list("customer_id", "value"))
    account_card = {a.pk: card.get(a.customer_id) for a in LoyaltyAccount.objects.all()}
    entry_of = {
        e.pk: (e.kind, e.order.external_id if e.order else None, e.created_at)
        for e in LedgerEntry.objects.select_related("order")
    }
    return {
        "orders": sorted(
            (
                o.external_id,
                o.location.code,
                card.get(o.customer_id),
                o.status,
                o.fulfilment_type,
                o.subtotal,
                o.discount_total,
                o.total,
                o.points_value,
                o.points_redeemed,
                o.points_earned,
                o.created_at,
            )
            for o in Order.objects.select_related("location")
        ),
        "lines": sorted(
            (x.order.external_id, x.variant.sku, x.quantity, x.unit_price, x.discount, x.line_total, x.omni_unit_price)
            for x in OrderLine.objects.select_related("order", "variant")
        ),
        "payments": sorted((p.order.external_id, p.tender, p.amount) for p in Payment.objects.select_related("order")),
        "allocations": sorted(
            (a.line.order.external_id, a.line.variant.sku, a.location.code, a.quantity)
            for a in Allocation.objects.select_related("line__order", "line__variant", "location")
        ),
        # In id order per account: the running balance must run the same way.
        "ledger": [
            (
                account_card[e.account_id],
                e.kind,
                e.points,
                e.debt_change,
                e.balance_after,
                e.spend,
                e.channel,
                e.reason,
                e.created_at,
                e.order.external_id if e.order else None,
            )
            for e in LedgerEntry.objects.select_related("order").order_by("account__customer_id", "pk")
        ],
        "lots": sorted(
            (
                account_card[lot.account_id],
                lot.points,
                lot.remaining,
                lot.earned_at,
                lot.expires_at,
                entry_of[lot.entry_id],
            )
            for lot in PointsLot.objects.all()
        ),
        "accounts": sorted(
            (account_card[a.pk], a.tier_id, a.balance, a.debt, a.lifetime_points) for a in LoyaltyAccount.objects.all()
        ),
    }


class Undo(Exception):
    pass


def outcome_of(write) -> dict:
    try:
        with transaction.atomic():
            write()
            seen = rows_written()
            raise Undo
    except Undo:
        return seen


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    drawn=sales(), drawn_promotions=st.lists(promotions(), max_size=3), drawn_rules=st.lists(earning_rules, max_size=2)
)
def test_record_orders_writes_the_rows_record_order_writes_sale_by_sale(shop, drawn, drawn_promotions, drawn_rules):
    try:
        with transaction.atomic():
            make_rules(drawn_promotions, drawn_rules, shop)
            one = outcome_of(lambda: one_by_one(drawn))
            many = outcome_of(lambda: in_bulk(drawn))
            raise Undo
    except Undo:
        pass
    assert len(one["orders"]) == len(drawn)
    for part in one:
        assert many[part] == one[part], part
