"""The loyalty programme: accounts and cards, the points ledger, tiers, rules and promotions.

One account per customer, whatever the channel. The account's balance is a
running total of its ledger, changed only in the same transaction as the
entry that explains it, with a conditional UPDATE; `recompute_loyalty`
rebuilds it from the ledger to prove it.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.validators import MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from omni.catalog.models import ChannelCode
from omni.models import Attributed


class Programme(models.Model):
    """The one programme: how points are earned, what they are worth, when they expire."""

    name = models.CharField(_("name"), max_length=100, default="Omni Club")
    points_per_euro = models.DecimalField(
        _("points per euro paid"),
        max_digits=6,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    point_value = models.DecimalField(
        _("value of one point (EUR)"),
        max_digits=8,
        decimal_places=4,
        default=Decimal("0.01"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("What one point is worth when it is spent."),
    )
    points_valid_days = models.PositiveIntegerField(
        _("points valid for (days)"), default=730, help_text=_("Earned points expire after this many days.")
    )
    tier_window_days = models.PositiveIntegerField(
        _("tier spend window (days)"), default=365, help_text=_("Tiers follow the spend of this many days.")
    )
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programme")

    def __str__(self) -> str:
        return self.name


class Tier(models.Model):
    """A level reached by rolling spend (Silver, Gold...), with its earning multiplier."""

    code = models.SlugField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=60)
    min_spend = models.DecimalField(
        _("minimum spend in the window"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    earn_multiplier = models.DecimalField(
        _("earning multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )

    class Meta:
        ordering = ["min_spend"]
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")

    def __str__(self) -> str:
        return self.name


class LoyaltyAccount(models.Model):
    """A customer's one balance of points, whatever the channel."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="loyalty_account", verbose_name=_("customer")
    )
    balance = models.IntegerField(_("balance"), default=0)
    debt = models.IntegerField(
        _("points owed"),
        default=0,
        help_text=_("Points taken back after they were spent; paid off by the next earnings."),
    )
    lifetime_points = models.IntegerField(_("lifetime points"), default=0)
    tier = models.ForeignKey(Tier, on_delete=models.PROTECT, null=True, blank=True, verbose_name=_("tier"))
    rolling_spend = models.DecimalField(
        _("spend in the tier window"), max_digits=12, decimal_places=2, default=Decimal("0")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("loyalty account")
        verbose_name_plural = _("loyalty accounts")
        permissions = [("adjust_points", _("Can adjust loyalty points"))]
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="loyalty_balance_not_negative"),
            models.CheckConstraint(condition=models.Q(debt__gte=0), name="loyalty_debt_not_negative"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} ({self.balance} pt)"


class Card(models.Model):
    """A loyalty card; a lost card is replaced and the balance stays on the account."""

    account = models.ForeignKey(
        LoyaltyAccount, on_delete=models.PROTECT, related_name="cards", verbose_name=_("loyalty account")
    )
    number = models.CharField(_("number"), max_length=64, unique=True)
    is_active = models.BooleanField(_("active"), default=True)
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True)

    class Meta:
        ordering = ["-is_active", "-issued_at", "-pk"]
        verbose_name = _("card")
        verbose_name_plural = _("cards")

    def __str__(self) -> str:
        return self.number


class EntryKind(models.TextChoices):
    EARN = "earn", _("Earned")
    REDEEM = "redeem", _("Redeemed")
    REVERSE = "reverse", _("Reversed")
    EXPIRE = "expire", pgettext_lazy("points", "Expired")
    ADJUST = "adjust", _("Adjusted")
    OPENING = "opening", _("Opening balance")


class LedgerEntry(Attributed):
    """One movement of points. Insert-only: corrections are new entries."""

    account = models.ForeignKey(
        LoyaltyAccount, on_delete=models.PROTECT, related_name="entries", verbose_name=_("loyalty account")
    )
    kind = models.CharField(_("kind"), max_length=10, choices=EntryKind.choices)
    points = models.IntegerField(_("points"), help_text=_("Positive when points are added, negative when taken."))
    debt_change = models.IntegerField(_("debt change"), default=0)
    balance_after = models.IntegerField(_("balance after"))
    spend = models.DecimalField(
        _("spend"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Amount paid behind an earning (negative when refunded): tiers follow it."),
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loyalty_entries",
        verbose_name=_("order"),
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True, help_text=_("e.g. the RMA of a return"))
    channel = models.CharField(_("channel"), max_length=20, blank=True, choices=ChannelCode.choices)
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger entries")
        indexes = [models.Index(fields=["account", "-created_at"], name="loyalty_entry_account_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.points:+d}"


class PointsLot(models.Model):
    """The points of an account that lapse on one day: spent and expired oldest first."""

    account = models.ForeignKey(
        LoyaltyAccount, on_delete=models.PROTECT, related_name="lots", verbose_name=_("loyalty account")
    )
    entry = models.ForeignKey(
        LedgerEntry,
        on_delete=models.PROTECT,
        related_name="lots",
        verbose_name=_("ledger entry"),
        help_text=_("The earning that opened the lot."),
    )
    points = models.PositiveIntegerField(_("points earned"))
    remaining = models.PositiveIntegerField(_("points remaining"))
    earned_at = models.DateTimeField(_("earned"))
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    class Meta:
        ordering = ["expires_at", "pk"]
        verbose_name = _("points lot")
        verbose_name_plural = _("points lots")
        indexes = [
            models.Index(
                fields=["account", "expires_at"], condition=models.Q(remaining__gt=0), name="loyalty_lot_open_idx"
            )
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("points")), name="lot_remaining_le_points"
            ),
            models.UniqueConstraint(fields=["account", "expires_at"], name="lot_one_per_account_and_day"),
        ]

    def __str__(self) -> str:
        return gettext("%(points)d points until %(day)s") % {
            "points": self.points,
            "day": date_format(timezone.localtime(self.expires_at), "SHORT_DATE_FORMAT"),
        }


class EarningRule(models.Model):
    """Extra points: a multiplier for a category, or a bonus campaign between dates."""

    name = models.CharField(_("name"), max_length=100)
    category = models.CharField(_("category"), max_length=80, blank=True, help_text=_("Empty: every category."))
    multiplier = models.DecimalField(
        _("multiplier"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    bonus_points = models.PositiveIntegerField(_("bonus points per order"), default=0)
    tier = models.ForeignKey(
        Tier,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        verbose_name=_("tier"),
        help_text=_("Empty: every tier."),
    )
    channels = models.ManyToManyField(
        "catalog.Channel",
        blank=True,
        related_name="+",
        verbose_name=_("channels"),
        help_text=_("Empty: every channel. Name channels only to make an explicit exception."),
    )
    starts_at = models.DateTimeField(_("from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("earning rule")
        verbose_name_plural = _("earning rules")

    def __str__(self) -> str:
        return self.name


class PromotionKind(models.TextChoices):
    PERCENT = "percent", _("Percentage off")
    AMOUNT = "amount", _("Amount off")


class PromotionTarget(models.TextChoices):
    PRODUCT = "product", _("A product")
    CATEGORY = "category", _("A category")
    BASKET = "basket", _("The basket")


class Promotion(models.Model):
    """A discount defined once; it holds on every channel unless channels are named."""

    code = models.SlugField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=PromotionKind.choices)
    value = models.DecimalField(
        _("value"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01"))],
        help_text=_("Percent (e.g. 20) or euro amount, by kind."),
    )
    target = models.CharField(_("applies to"), max_length=10, choices=PromotionTarget.choices)
    product = models.ForeignKey(
        "catalog.Product",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("product"),
    )
    category = models.CharField(_("category"), max_length=80, blank=True)
    min_basket = models.DecimalField(
        _("minimum basket"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("0"),
        help_text=_("Basket promotions apply from this total."),
    )
    tier = models.ForeignKey(
        Tier, on_delete=models.CASCADE, null=True, blank=True, verbose_name=_("tier"), help_text=_("Empty: everyone.")
    )
    channels = models.ManyToManyField(
        "catalog.Channel",
        blank=True,
        related_name="+",
        verbose_name=_("channels"),
        help_text=_("Empty: every channel. Name channels only to make an explicit exception."),
    )
    starts_at = models.DateTimeField(_("from"), null=True, blank=True)
    ends_at = models.DateTimeField(_("until"), null=True, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("promotion")
        verbose_name_plural = _("promotions")
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(kind="percent") | models.Q(value__lte=100), name="promotion_percent_at_most_100"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class StoreCreditBalance(models.Model):
    """Money a customer holds with the retailer (refunds as store credit), spendable on any channel."""

    customer = models.OneToOneField(
        "customers.Customer", on_delete=models.PROTECT, related_name="store_credit", verbose_name=_("customer")
    )
    balance = models.DecimalField(_("balance"), max_digits=12, decimal_places=2, default=Decimal("0"))
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("store credit")
        verbose_name_plural = _("store credit")
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="store_credit_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.balance}"


class StoreCreditEntry(Attributed):
    """One movement of store credit. Insert-only; the balance is what these add up to."""

    balance = models.ForeignKey(
        StoreCreditBalance, on_delete=models.PROTECT, related_name="entries", verbose_name=_("store credit")
    )
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    balance_after = models.DecimalField(_("balance after"), max_digits=12, decimal_places=2)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True, help_text=_("e.g. the RMA of a return"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("store credit movement")
        verbose_name_plural = _("store credit movements")

    def __str__(self) -> str:
        return f"{self.amount:+}"


class GiftCard(models.Model):
    """A prepaid card sold as an order line: a code and a balance in money, spendable on every channel.

    Like store credit, the balance changes only together with an insert-only
    entry, by one conditional UPDATE, and never goes below zero. It belongs to
    whoever holds the code, not to a customer.
    """

    code = models.CharField(_("code"), max_length=32, unique=True)
    initial_amount = models.DecimalField(_("amount sold"), max_digits=12, decimal_places=2)
    balance = models.DecimalField(_("balance"), max_digits=12, decimal_places=2, default=Decimal("0"))
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="gift_cards_sold",
        verbose_name=_("sold with order"),
    )
    issued_at = models.DateTimeField(_("issued"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-issued_at", "-pk"]
        verbose_name = _("gift card")
        verbose_name_plural = _("gift cards")
        constraints = [
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="gift_card_not_negative"),
        ]

    def __str__(self) -> str:
        return self.code


class GiftCardEntry(Attributed):
    """One movement of a gift card's balance: issued, spent, refunded. Insert-only."""

    card = models.ForeignKey(GiftCard, on_delete=models.PROTECT, related_name="entries", verbose_name=_("gift card"))
    amount = models.DecimalField(_("amount"), max_digits=12, decimal_places=2)
    balance_after = models.DecimalField(_("balance after"), max_digits=12, decimal_places=2)
    order = models.ForeignKey(
        "orders.Order", on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("order")
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True, help_text=_("e.g. the RMA of a return"))
    reason = models.CharField(_("reason"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("gift card movement")
        verbose_name_plural = _("gift card movements")

    def __str__(self) -> str:
        return f"{self.amount:+}"
