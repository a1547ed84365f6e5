"""Where channels differ: every price, promotion or earning rule that does not hold everywhere, and till drift.

A manager sees at once where "the same deal on every channel" is broken on
purpose (a channel price, a promotion or an earning rule that names
channels) and where it is broken by accident (till drift: sales recorded at
another price than Omni's for that channel). The list is complete; the page
and the API paginate it, and each page's rows are priced on a sample basket
per channel only when shown (`priced`).

Till drift is read from the orders, which sit above loyalty: the orders app
registers its source here from its `AppConfig.ready()` (`register_source`),
so loyalty imports nothing above it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from loyalty.models import EarningRule, Promotion, PromotionKind, PromotionTarget
from loyalty.pricing import LineIn, Quote, quote_basket
from omni.catalog.models import Channel, ChannelPrice, Variant
from omni.errors import DomainError

PRICE, PROMOTION, EARNING_RULE, TILL_DRIFT = "price", "promotion", "earning_rule", "till_drift"
KINDS = {
    PRICE: _("channel price"),
    PROMOTION: _("promotion"),
    EARNING_RULE: _("earning rule"),
    TILL_DRIFT: _("till drift"),
}


@dataclass
class Difference:
    kind: str  # one of KINDS
    subject: str
    channels: list[str]
    detail: str
    # What `priced` fills in for the rows shown: a sample basket and its total and points per channel.
    rule: Any = None
    sample: str = ""
    totals: dict[str, Decimal | None] = field(default_factory=dict)
    points: dict[str, int | None] = field(default_factory=dict)

    @property
    def kind_label(self) -> str:
        return str(KINDS.get(self.kind, self.kind))

    @property
    def spread(self) -> Decimal:
        values = [v for v in self.totals.values() if v is not None]
        return max(values) - min(values) if values else Decimal("0")

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "subject": self.subject, "channels": self.channels, "detail": self.detail}


Source = Callable[[str | None], Iterable[Difference]]
_sources: list[Source] = []


def register_source(source: Source) -> None:
    """Add a source of differences (till drift, from the orders). Registering twice keeps one."""
    if source not in _sources:
        _sources.append(source)


def sample_variant_for(promotion: Promotion) -> Variant | None:
    variants = Variant.objects.select_related("product").filter(is_active=True).order_by("pk")
    if promotion.target == PromotionTarget.PRODUCT:
        return variants.filter(product_id=promotion.product_id).first()
    if promotion.target == PromotionTarget.CATEGORY:
        return variants.filter(product__category=promotion.category).first()
    return variants.filter(price__gt=0).order_by("-price").first()


def quotes_on(channels: list[Channel], lines: list[LineIn]) -> tuple[dict, dict]:
    totals: dict[str, Decimal | None] = {}
    points: dict[str, int | None] = {}
    for channel in channels:
        try:
            quote: Quote = quote_basket(channel=channel, lines=lines)
        except DomainError:
            totals[channel.code] = points[channel.code] = None
        else:
            totals[channel.code], points[channel.code] = quote.total, quote.points_to_earn
    return totals, points


def _promotion_detail(promotion: Promotion) -> str:
    off = f"{promotion.value}%" if promotion.kind == PromotionKind.PERCENT else f"€ {promotion.value}"
    if promotion.target == PromotionTarget.PRODUCT:
        on = f"product {promotion.product.code if promotion.product else promotion.product_id}"
    elif promotion.target == PromotionTarget.CATEGORY:
        on = f"category {promotion.category}"
    else:
        on = f"the basket from € {promotion.min_basket}"
    return f"{off} off {on}" + (f", tier {promotion.tier_id} only" if promotion.tier_id else "")


def _rule_detail(rule: EarningRule) -> str:
    parts = [f"× {rule.multiplier}"] if rule.multiplier != 1 else []
    if rule.bonus_points:
        parts.append(f"+{rule.bonus_points} bonus points")
    on = f"category {rule.category}" if rule.category else "every category"
    return f"{', '.join(parts) or 'no change'} on {on}"


def channel_differences(*, channel: str | None = None) -> list[Difference]:
    """Every difference between channels, in a stable order: prices, promotions, earning rules, till drift.

    With `channel`, only the differences that concern that channel. A fixed
    number of queries, whatever the number of rules (the samples are priced
    later, for the rows shown).
    """
    now = timezone.now()
    found: list[Difference] = []

    overrides = ChannelPrice.objects.select_related("variant", "channel").order_by("variant__sku", "channel__pk")
    if channel:
        overrides = overrides.filter(channel__code=channel)
    for override in overrides:
        found.append(
            Difference(
                kind=PRICE,
                subject=f"{override.variant.sku}: {override.price} instead of {override.variant.price}",
                channels=[override.channel.code],
                detail=f"{override.channel.code} sells {override.variant.sku} at {override.price}; "
                f"the list price is {override.variant.price}",
                rule=override,
            )
        )

    # Running now or still to come: a promotion that has ended makes no difference any more.
    live = Q(is_active=True) & (Q(ends_at__isnull=True) | Q(ends_at__gt=now))
    promotions = Promotion.objects.filter(live, channels__isnull=False).distinct().select_related("product")
    for promotion in promotions.prefetch_related("channels").order_by("code", "pk"):
        named = sorted(c.code for c in promotion.channels.all())
        if not channel or channel in named:
            found.append(
                Difference(
                    PROMOTION, f"{promotion.code}: {promotion.name}", named, _promotion_detail(promotion), promotion
                )
            )
    rules = EarningRule.objects.filter(live, channels__isnull=False).distinct().prefetch_related("channels")
    for rule in rules.order_by("name", "pk"):
        named = sorted(c.code for c in rule.channels.all())
        if not channel or channel in named:
            found.append(Difference(EARNING_RULE, rule.name, named, _rule_detail(rule), rule))

    for source in _sources:
        found.extend(source(channel))
    return _in_order(found)


def _in_order(found: list[Difference]) -> list[Difference]:
    order = list(KINDS)
    return sorted(found, key=lambda d: order.index(d.kind) if d.kind in order else len(order))


def priced(differences: Sequence[Difference], channels: list[Channel]) -> None:
    """Price a sample basket on every channel for each difference given (the rows of one page)."""
    for difference in differences:
        lines = _sample_lines(difference)
        if lines is None:
            continue
        difference.sample = ", ".join(f"{line.quantity} × {line.sku}" for line in lines)
        difference.totals, difference.points = quotes_on(channels, lines)


def _sample_lines(difference: Difference) -> list[LineIn] | None:
    rule = difference.rule
    if difference.kind == PRICE and rule is not None:
        return [LineIn(sku=rule.variant.sku, quantity=1)]
    if difference.kind == PROMOTION and rule is not None:
        variant = sample_variant_for(rule)
        if variant is None:
            return None
        quantity = 1
        if rule.target == PromotionTarget.BASKET and variant.price and rule.min_basket > variant.price:
            quantity = int(rule.min_basket // variant.price) + 1
        return [LineIn(sku=variant.sku, quantity=quantity)]
    if difference.kind == EARNING_RULE and rule is not None:
        variants = Variant.objects.filter(is_active=True).order_by("pk")
        variant = (variants.filter(product__category=rule.category) if rule.category else variants).first()
        return [LineIn(sku=variant.sku, quantity=1)] if variant is not None else None
    if difference.kind == TILL_DRIFT and isinstance(rule, str):
        return [LineIn(sku=rule, quantity=1)]
    return None
