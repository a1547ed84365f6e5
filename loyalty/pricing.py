"""The price of a basket, the same on every channel unless a channel says otherwise.

`quote_basket` is the one pricing function: the quote endpoint answers with
it and the order flow records what it returns, so a quote and an order never
disagree. Rules, in order:

1. The unit price is the channel's override for the variant if one is set,
   else the list price. A line whose caller gives a `unit_price` (a till or a
   marketplace that priced the sale itself) is *charged*: that price is what
   the customer paid for one unit after every discount, and no promotion is
   applied on top of it. Omni's own price for the unit (the channel price
   after the best line promotion) is kept beside it as `omni_price`, so the
   parity report can show where a till drifts from Omni.
2. Each line Omni prices gets the best single line promotion that applies to
   it (product or category, active now, for the channel and the customer's
   tier); line promotions do not stack.
3. Then the best basket promotion whose minimum the discounted basket (of the
   lines Omni prices) reaches is spread over those lines in proportion to
   their value.
4. Points to earn are computed on what is paid (`points_for`).

A promotion, a price or an earning rule holds on every channel unless it
names channels: that is the only way channels can differ.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from math import floor

from django.utils import timezone

from loyalty.models import (
    EarningRule,
    LoyaltyAccount,
    Programme,
    Promotion,
    PromotionKind,
    PromotionTarget,
    Tier,
)
from omni import versions
from omni.catalog import selectors as catalog
from omni.catalog.models import Channel, ChannelPrice, Variant
from omni.errors import Invalid, NotSoldOnChannel
from omni.money import to_cents

MAX_QUANTITY = 10_000
PRICE_CHUNK = 5000  # variant ids per IN (...) list


@dataclass(frozen=True)
class LineIn:
    sku: str
    quantity: int
    unit_price: Decimal | None = None


@dataclass
class QuotedLine:
    variant: Variant
    quantity: int
    list_price: Decimal
    unit_price: Decimal
    discount: Decimal = Decimal("0")
    promotions: list[str] = field(default_factory=list)
    # A price charged by the caller (a till): recorded as it is, no promotion on top.
    is_charged: bool = False
    # Omni's price for one unit on the channel (after its best line promotion), kept for charged lines only.
    omni_price: Decimal | None = None

    @property
    def sku(self) -> str:
        return self.variant.sku

    @property
    def category(self) -> str:
        return self.variant.product.category

    @property
    def gross(self) -> Decimal:
        return to_cents(self.unit_price * self.quantity)

    @property
    def line_total(self) -> Decimal:
        return self.gross - self.discount


class BasketTotals:
    """The figures of a priced basket, from its lines: one definition for a quote and a basket priced in bulk."""

    lines: list[QuotedLine]

    @property
    def subtotal(self) -> Decimal:
        return sum((line.gross for line in self.lines), Decimal("0.00"))

    @property
    def discount_total(self) -> Decimal:
        return sum((line.discount for line in self.lines), Decimal("0.00"))

    @property
    def total(self) -> Decimal:
        return self.subtotal - self.discount_total


@dataclass
class Quote(BasketTotals):
    channel: Channel
    lines: list[QuotedLine]
    tier: Tier | None
    balance: int
    points_to_earn: int
    points_value: Decimal
    basket_promotions: list[str] = field(default_factory=list)
    terms: Terms | None = None


def programme() -> Programme:
    """The programme (made by a migration; recreated with defaults if someone deleted it)."""
    found = Programme.objects.first()
    return found if found is not None else Programme.objects.create()


@dataclass(frozen=True)
class Terms:
    """The programme and the earning rules in force at one moment.

    Taken once per quote or order from the process's rulebook and handed down
    to every step that needs them, so an order reads them once.
    """

    programme: Programme
    earning_rules: list[EarningRule]


@dataclass(frozen=True)
class Rulebook:
    """The programme, the active earning rules and the active promotions (with their channels), as one process
    keeps them between orders. Shared by every call of the process: read, never changed."""

    programme: Programme
    earning_rules: list[EarningRule]
    promotions: list[Promotion]

    def terms(self, at) -> Terms:
        return Terms(
            programme=self.programme, earning_rules=[rule for rule in self.earning_rules if active_at(rule, at)]
        )


RULES = "loyalty.rules"  # the token of the rulebook (omni.versions)


def rules_changed() -> int:
    """Give the rules a new token, in the caller's transaction: every process reads them again at its next
    order once this commits. Every save and delete of the programme, an earning rule or a promotion (and their
    channels) does it (loyalty.apps); a writer that bypasses the ORM's signals calls it itself."""
    return versions.changed(RULES)


def _read_rulebook() -> Rulebook:
    return Rulebook(
        programme=programme(),
        earning_rules=list(EarningRule.objects.filter(is_active=True).prefetch_related("channels")),
        promotions=list(Promotion.objects.filter(is_active=True).prefetch_related("channels")),
    )


def rulebook() -> Rulebook:
    """The rules of the programme, one query (the tokens, `omni.versions`) when this process already holds
    them under the current token; none inside a `versions.one_read()` block that already read the tokens."""
    return versions.kept(RULES, _read_rulebook)


def earning_rules(at) -> list[EarningRule]:
    """The earning rules active at `at`, with their channels."""
    return rulebook().terms(at).earning_rules


def terms_at(at=None) -> Terms:
    return rulebook().terms(at or timezone.now())


def active_at(rule: Promotion | EarningRule, at) -> bool:
    """A promotion or an earning rule is in force from its start (included) to its end (excluded).

    The one form of the rule: rules are fetched once (a quote, an order or a
    whole file of receipts) and each moment of sale picks its own from them.
    """
    return (
        rule.is_active
        and (rule.starts_at is None or rule.starts_at <= at)
        and (rule.ends_at is None or rule.ends_at > at)
    )


def in_force(rules: Iterable[Promotion], channel: Channel, tier: Tier | None, at) -> list[Promotion]:
    """The promotions of `rules` that hold for a sale at `at` on `channel` to a customer of `tier`."""
    return [rule for rule in rules if active_at(rule, at) and holds_on(rule, channel, tier)]


def holds_on(rule: Promotion | EarningRule, channel: Channel, tier: Tier | None) -> bool:
    """A rule holds on every channel unless it names channels; tier rules hold for that tier only."""
    named = [c.pk for c in rule.channels.all()]
    if named and channel.pk not in named:
        return False
    return rule.tier_id is None or (tier is not None and rule.tier_id == tier.pk)


def resolve_lines(lines: Sequence[LineIn], channel: Channel) -> list[QuotedLine]:
    """Variants with their channel price; Invalid for unknown SKUs or bad quantities, NotSoldOnChannel."""
    errors: dict[str, list[str]] = {}
    for index, line in enumerate(lines):
        if not isinstance(line.quantity, int) or line.quantity < 1 or line.quantity > MAX_QUANTITY:
            errors[f"lines.{index}.quantity"] = [f"A whole number from 1 to {MAX_QUANTITY}."]
        if line.unit_price is not None and line.unit_price < 0:
            errors[f"lines.{index}.unit_price"] = ["Cannot be negative."]
    if not lines:
        errors["lines"] = ["At least one line."]
    # What each SKU is on the channel (the variant and its product, whether the channel sells it, the channel's
    # price), kept by the process between orders: no query for SKUs it already holds (omni.catalog.selectors).
    held = catalog.sellable([line.sku for line in lines], channel)
    for index, line in enumerate(lines):
        if line.sku not in held:
            errors.setdefault(f"lines.{index}.sku", []).append(f"Unknown SKU {line.sku}.")
    if errors:
        raise Invalid("Some lines cannot be priced.", errors)

    variants: dict[str, Variant] = {}  # new instances (`Sellable.variant()`), one per SKU of this basket
    quoted = []
    for line in lines:
        entry = held[line.sku]
        if not entry.is_sold:
            raise NotSoldOnChannel(f"{entry.sku} is not sold on {channel.code}.", sku=entry.sku)
        variant = variants.get(entry.sku)
        if variant is None:
            variant = variants[entry.sku] = entry.variant()
        quoted.append(quoted_line(variant, line.quantity, override=entry.channel_price, charged=line.unit_price))
    return quoted


def quoted_line(variant: Variant, quantity: int, *, override: Decimal | None, charged: Decimal | None) -> QuotedLine:
    """A line before promotions: the channel's override of the price if one is set, else the list price;
    a price the caller charged (a till) is kept as charged, to the cent."""
    list_price = override if override is not None else variant.price
    return QuotedLine(
        variant=variant,
        quantity=quantity,
        list_price=list_price,
        unit_price=to_cents(charged) if charged is not None else list_price,
        is_charged=charged is not None,
    )


def discount_of(promotion: Promotion, amount: Decimal) -> Decimal:
    if promotion.kind == PromotionKind.PERCENT:
        return min(amount, to_cents(amount * promotion.value / Decimal(100)))
    return min(amount, to_cents(promotion.value))


def active_promotions() -> list[Promotion]:
    """The promotions switched on, with their channels: each sale picks those in force (`in_force`)."""
    return rulebook().promotions


def applicable_promotions(channel: Channel, tier: Tier | None, at) -> list[Promotion]:
    return in_force(active_promotions(), channel, tier, at)


def apply_promotions(lines: list[QuotedLine], promotions: Iterable[Promotion]) -> list[str]:
    """Best line promotion per line, then the best basket promotion spread over the lines.

    Charged lines (a price the caller charged) get no promotion: their `omni_price`
    is set to what Omni would have charged for one unit, and the basket
    promotion is spread over the other lines only.
    """
    promotions = list(promotions)
    for line in lines:
        matching = [
            p
            for p in promotions
            if (p.target == PromotionTarget.PRODUCT and p.product_id == line.variant.product_id)
            or (p.target == PromotionTarget.CATEGORY and p.category and p.category == line.category)
        ]
        if line.is_charged:
            at_list = to_cents(line.list_price * line.quantity)
            best_off = max((discount_of(p, at_list) for p in matching), default=Decimal("0"))
            line.omni_price = to_cents((at_list - best_off) / line.quantity)
            continue
        if matching:
            best = max(matching, key=lambda p: (discount_of(p, line.gross), p.code))
            line.discount = discount_of(best, line.gross)
            line.promotions.append(best.code)

    lines = [line for line in lines if not line.is_charged]
    basket_total = sum((line.line_total for line in lines), Decimal("0.00"))
    basket = [p for p in promotions if p.target == PromotionTarget.BASKET and basket_total >= p.min_basket]
    if not basket or basket_total <= 0:
        return []
    best = max(basket, key=lambda p: (discount_of(p, basket_total), p.code))
    to_spread = discount_of(best, basket_total)
    spread = Decimal("0.00")
    for index, line in enumerate(lines):
        share = to_spread - spread if index == len(lines) - 1 else to_cents(to_spread * line.line_total / basket_total)
        line.discount += share
        spread += share
        line.promotions.append(best.code)
    return [best.code]


def points_for(
    *,
    paid_by_category: Sequence[tuple[str, Decimal]],
    channel: Channel,
    tier: Tier | None,
    at,
    rules=None,
    terms: Terms | None = None,
) -> int:
    """Points earned on amounts paid: per euro, times the tier and the best category multiplier, plus bonuses.

    `terms` (or `rules`) already read by the caller are used as they are; otherwise they are read now.
    """
    settings = terms.programme if terms is not None else programme()
    if rules is None:
        rules = terms.earning_rules if terms is not None else earning_rules(at)
    rules = [rule for rule in rules if holds_on(rule, channel, tier)]
    tier_multiplier = tier.earn_multiplier if tier is not None else Decimal("1")
    points = Decimal("0")
    for category, paid in paid_by_category:
        multipliers = [r.multiplier for r in rules if r.multiplier != 1 and (not r.category or r.category == category)]
        category_multiplier = max(multipliers) if multipliers else Decimal("1")
        points += max(paid, Decimal("0")) * settings.points_per_euro * tier_multiplier * category_multiplier
    earned = floor(points)
    if earned > 0 or any(paid > 0 for _, paid in paid_by_category):
        earned += sum(rule.bonus_points for rule in rules)
    return earned


def points_worth(points: int, settings: Programme) -> Decimal:
    """What `points` pay for, in euros."""
    return to_cents(points * settings.point_value)


def basket_points(
    lines: Sequence[QuotedLine],
    *,
    channel: Channel,
    tier: Tier | None,
    at,
    terms: Terms,
    due: Decimal | None = None,
) -> int:
    """Points earned on a basket of which `due` is paid in money (the whole basket when not given).

    Points paid with points earn nothing: each line counts for its share of
    what is paid, `due / total`. The one computation of the points of a
    sale, for a quote, an order and a file of receipts alike.
    """
    total = sum((line.line_total for line in lines), Decimal("0.00"))  # the lines of a basket, after promotions
    share = (due if due is not None else total) / total if total else Decimal("0")
    return points_for(
        paid_by_category=[(line.category, line.line_total * share) for line in lines],
        channel=channel,
        tier=tier,
        at=at,
        terms=terms,
    )


def quote_basket(
    *,
    channel: Channel,
    lines: Sequence[LineIn],
    account: LoyaltyAccount | None = None,
    at=None,
    terms: Terms | None = None,
) -> Quote:
    """Price a basket for a customer on a channel. Raises Invalid or NotSoldOnChannel.

    The programme and earning rules used are on the quote (`quote.terms`), so the
    caller that records the sale does not read them again.
    """
    at = at or timezone.now()
    tier = account.tier if account is not None else None
    with versions.one_read():  # the tokens of the variants and of the rules, read in one query
        quoted = resolve_lines(lines, channel)
        book = rulebook()
    basket_codes = apply_promotions(quoted, in_force(book.promotions, channel, tier, at))
    terms = terms or book.terms(at)
    points = basket_points(quoted, channel=channel, tier=tier, at=at, terms=terms)
    balance = account.balance if account is not None else 0
    return Quote(
        channel=channel,
        lines=quoted,
        tier=tier,
        balance=balance,
        points_to_earn=points,
        points_value=points_worth(balance, terms.programme),
        basket_promotions=basket_codes,
        terms=terms,
    )


# --- Many baskets at once ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BasketLineIn:
    """A line of a basket priced in bulk: the variant (its product loaded), units, the price charged if any."""

    variant: Variant
    quantity: int
    unit_price: Decimal | None = None


@dataclass(frozen=True)
class BasketIn:
    """A basket priced in bulk: its lines, its moment, the buyer's account (if known), points to pay with."""

    lines: Sequence[BasketLineIn]
    at: datetime
    account: LoyaltyAccount | None = None
    points_to_redeem: int = 0


@dataclass
class PricedBasket(BasketTotals):
    lines: list[QuotedLine]
    basket_promotions: list[str]
    points_value: Decimal
    points_to_earn: int

    @property
    def due(self) -> Decimal:
        return self.total - self.points_value


def price_baskets(baskets: Sequence[BasketIn], *, channel: Channel) -> list[PricedBasket]:
    """The bulk form of `quote_basket` plus the points of `record_order`, for baskets already checked.

    The programme, the promotions, the earning rules and the channel's prices
    are read once for all the baskets (a few queries whatever their number);
    each basket is then priced by the same functions as one order: the line
    prices (`quoted_line`), the promotions in force at its moment
    (`in_force`, `apply_promotions`), the worth of the points paid with
    (`points_worth`) and the points earned on what is paid in money
    (`basket_points`, for a known account only, as an order earns).
    """
    book = rulebook()
    settings, promotions, rules = book.programme, book.promotions, book.earning_rules
    variant_ids = sorted({line.variant.pk for basket in baskets for line in basket.lines})
    overrides: dict[int, Decimal] = {}
    for start in range(0, len(variant_ids), PRICE_CHUNK):
        overrides.update(
            ChannelPrice.objects.filter(
                channel=channel, variant_id__in=variant_ids[start : start + PRICE_CHUNK]
            ).values_list("variant_id", "price")
        )
    priced = []
    for basket in baskets:
        tier = basket.account.tier if basket.account is not None else None
        quoted = [
            quoted_line(line.variant, line.quantity, override=overrides.get(line.variant.pk), charged=line.unit_price)
            for line in basket.lines
        ]
        codes = apply_promotions(quoted, in_force(promotions, channel, tier, basket.at))
        result = PricedBasket(quoted, codes, points_worth(basket.points_to_redeem, settings), 0)
        if basket.account is not None:
            terms = Terms(programme=settings, earning_rules=[r for r in rules if active_at(r, basket.at)])
            result.points_to_earn = basket_points(
                quoted, channel=channel, tier=tier, at=basket.at, terms=terms, due=result.due
            )
        priced.append(result)
    return priced
