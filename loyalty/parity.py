"""Where channels differ: every price, promotion or earning rule that does not hold everywhere.

A manager sees at once where "the same deal on every channel" is broken on
purpose, and what it does to a sample basket on each channel.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from loyalty.models import EarningRule, Promotion, PromotionTarget
from loyalty.pricing import LineIn, Quote, quote_basket
from omni.catalog.models import Channel, ChannelPrice, Variant
from omni.errors import DomainError


@dataclass
class Difference:
    kind: str  # "price", "promotion" or "earning rule"
    subject: str
    channels: list[str]
    sample: str
    totals: dict[str, Decimal | None]  # channel -> basket total (None: not sold there)
    points: dict[str, int | None]

    @property
    def spread(self) -> Decimal:
        values = [v for v in self.totals.values() if v is not None]
        return max(values) - min(values) if values else Decimal("0")


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


def channel_differences(*, limit: int = 50) -> list[Difference]:
    """Up to `limit` rules that do not hold on every channel, each priced on a sample basket per channel."""
    now = timezone.now()
    channels = list(Channel.objects.filter(is_active=True).order_by("pk"))
    found: list[Difference] = []

    overrides = ChannelPrice.objects.select_related("variant__product", "channel").order_by("variant__sku", "channel")
    for override in overrides[:limit]:
        lines = [LineIn(sku=override.variant.sku, quantity=1)]
        totals, points = quotes_on(channels, lines)
        found.append(
            Difference(
                kind="price",
                subject=f"{override.variant.sku}: {override.price} instead of {override.variant.price}",
                channels=[override.channel.code],
                sample=f"1 × {override.variant.sku}",
                totals=totals,
                points=points,
            )
        )

    promotions = Promotion.objects.filter(is_active=True).prefetch_related("channels").order_by("code")
    for promotion in promotions:
        named = [c.code for c in promotion.channels.all()]
        if not named or (promotion.ends_at and promotion.ends_at < now) or len(found) >= limit:
            continue
        variant = sample_variant_for(promotion)
        if variant is None:
            continue
        quantity = 1
        if promotion.target == PromotionTarget.BASKET and promotion.min_basket > variant.price:
            quantity = int(promotion.min_basket // variant.price) + 1
        totals, points = quotes_on(channels, [LineIn(sku=variant.sku, quantity=quantity)])
        found.append(
            Difference(
                "promotion", f"{promotion.code}: {promotion.name}", named, f"{quantity} × {variant.sku}", totals, points
            )
        )

    rules = EarningRule.objects.filter(is_active=True).prefetch_related("channels").order_by("name")
    for rule in rules:
        named = [c.code for c in rule.channels.all()]
        if not named or len(found) >= limit:
            continue
        variants = Variant.objects.filter(is_active=True).order_by("pk")
        variant = (variants.filter(product__category=rule.category) if rule.category else variants).first()
        if variant is None:
            continue
        totals, points = quotes_on(channels, [LineIn(sku=variant.sku, quantity=1)])
        found.append(Difference("earning rule", rule.name, named, f"1 × {variant.sku}", totals, points))
    return found[:limit]
