"""Who the customer is: one profile, many identifiers, consents, merges, erasures.

This is the profile that orders and the other apps point at. Identification,
merging, consents, export and erasure are written in `customers.services`;
the other apps plug into them through `customers.registry`.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers.reference import source_label
from omni.catalog.models import ChannelCode
from omni.models import Attributed as FrameAttributed


class Customer(models.Model):
    """One person, whatever the channel; anonymous until an identifier links them.

    A customer merged into another keeps its row as an empty shell whose
    `merged_into` names the survivor, so its old id still answers (301). An
    erased customer keeps its row too, without any personal data, so orders
    and ledgers that point at it stay consistent for the books.
    """

    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_customers",
        verbose_name=_("merged into"),
        help_text=_("Set when this customer was merged into another: the other one is the person now."),
    )
    erased_at = models.DateTimeField(
        _("personal data erased"),
        null=True,
        blank=True,
        help_text=_("Set when the customer's personal data was erased on request."),
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        permissions = [
            ("export_personal_data", _("Can export a customer's personal data")),
            ("erase_personal_data", _("Can erase a customer's personal data")),
            ("merge_customers", _("Can merge customers")),
            ("import_customers", _("Can import customers from another system")),
        ]

    def __str__(self) -> str:
        if self.erased_at is not None:
            return f"#{self.pk} (erased)"
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or self.phone or f"#{self.pk}"

    @property
    def is_anonymous(self) -> bool:
        return not (self.first_name or self.last_name or self.email or self.phone)

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class IdentifierKind(models.TextChoices):
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone")
    CARD = "card", _("Loyalty card")
    WEB_ACCOUNT = "web_account", _("Web account")
    DEVICE = "device", _("Device")


class Identifier(models.Model):
    """A normalised value that points at one customer (an e-mail, a card, a device...)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="identifiers", verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=16, choices=IdentifierKind.choices)
    value = models.CharField(_("value"), max_length=200)
    is_verified = models.BooleanField(_("verified"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    stand_in = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="stands_in_for",
        verbose_name=_("stand-in"),
        help_text=_(
            "The anonymous customer given to visitors who type this value unverified with nothing else "
            "to identify them: they never get its holder, and repeated calls get this one customer."
        ),
    )

    class Meta:
        ordering = ["pk"]
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identifier_unique_value"),
        ]
        indexes = [models.Index(fields=["value"], name="identifier_value_idx")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.value}"


class ImportedCustomer(models.Model):
    """A customer brought in from another system, under that system's id (`customers.moving_in`).

    The key of a re-run: the same id names the same customer, and the row's
    fingerprint tells whether the file says anything new about them. A merge
    moves it to the survivor like every other row of the customer.
    """

    external_id = models.CharField(_("id in the other system"), max_length=64, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="imported_as", verbose_name=_("customer")
    )
    fingerprint = models.CharField(_("fingerprint"), max_length=64, help_text=_("Of the row as last imported."))
    imported_at = models.DateTimeField(_("first imported"), auto_now_add=True)
    updated_at = models.DateTimeField(_("last changed by an import"), auto_now=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("imported customer")
        verbose_name_plural = _("imported customers")

    def __str__(self) -> str:
        return self.external_id


class Attributed(FrameAttributed):
    """Who made a change (user or API client) and by which request."""

    request_key = models.CharField(
        _("request"),
        max_length=255,
        blank=True,
        help_text=_("The Idempotency-Key or X-Request-ID of the request that made the change, if any."),
    )

    class Meta:
        abstract = True

    @property
    def actor_label(self) -> str:
        if self.api_client_id is not None:
            return f"API client {self.api_client}"
        if self.user_id is not None:
            return f"user {self.user}"
        return "system"


class CustomerMerge(Attributed):
    """`merged` became `survivor`: everything that pointed at it was moved, at that moment."""

    survivor = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="merges_received", verbose_name=_("survivor")
    )
    merged = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="merges_given", verbose_name=_("merged customer")
    )
    merged_at = models.DateTimeField(_("merged at"), auto_now_add=True, db_index=True)
    moved = models.JSONField(
        _("moved rows"), default=dict, blank=True, help_text=_("How many rows of each kind followed the merge.")
    )

    class Meta:
        ordering = ["-merged_at", "-pk"]
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")

    def __str__(self) -> str:
        return f"#{self.merged_id} → #{self.survivor_id}"


class ConsentPurpose(models.TextChoices):
    MARKETING_EMAIL = "marketing_email", _("Marketing e-mail")
    MARKETING_SMS = "marketing_sms", _("Marketing SMS")
    PROFILING = "profiling", _("Profiling")


# What a customer is asked, per purpose, where Omni itself asks (the counter's enrolment form).
CONSENT_WORDING = {
    ConsentPurpose.MARKETING_EMAIL: _("I want to receive offers and news by e-mail."),
    ConsentPurpose.MARKETING_SMS: _("I want to receive offers and news by SMS."),
    ConsentPurpose.PROFILING: _("My purchases may be analysed to send me offers that suit me."),
}


class ConsentChange(Attributed):
    """One consent given or withdrawn. Insert-only: the current state is the latest row per purpose."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="consent_changes", verbose_name=_("customer")
    )
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    is_granted = models.BooleanField(_("granted"))
    changed_at = models.DateTimeField(_("changed at"), auto_now_add=True)
    channel = models.CharField(
        _("channel"), max_length=20, choices=ChannelCode.choices, help_text=_("Where it was given or withdrawn.")
    )
    source = models.CharField(
        _("source"), max_length=100, blank=True, help_text=_('What collected it, e.g. "checkout form", "till".')
    )
    wording = models.TextField(
        _("wording"), blank=True, help_text=_("The text the customer agreed to or declined, as it was shown.")
    )

    class Meta:
        ordering = ["-changed_at", "-pk"]
        verbose_name = _("consent change")
        verbose_name_plural = _("consent changes")
        indexes = [
            models.Index(fields=["customer", "purpose", "-changed_at"], name="consent_latest_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_purpose_display()}: {gettext('given') if self.is_granted else gettext('withdrawn')}"

    @property
    def source_shown(self) -> str:
        """Where it was collected, in the staff's language (`reference.source_label`)."""
        return source_label(self.source)


class PersonalDataAction(models.TextChoices):
    EXPORT = "export", _("Export")
    ERASE = "erase", _("Erasure")
    MERGE = "merge", _("Merge")


class Door(models.TextChoices):
    ADMIN = "admin", _("Admin")
    API_SESSION = "api_session", _("API, staff session")
    API_KEY = "api_key", _("API key")
    SYSTEM = "system", _("System")


class PersonalDataAudit(Attributed):
    """Who exported, erased or merged a customer's personal data, when, and through which door.

    Append-only; only users who may erase personal data read it in the admin.
    """

    action = models.CharField(_("action"), max_length=10, choices=PersonalDataAction.choices)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="personal_data_audits", verbose_name=_("customer")
    )
    door = models.CharField(_("door"), max_length=12, choices=Door.choices)
    at = models.DateTimeField(_("when"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("personal data audit entry")
        verbose_name_plural = _("personal data audit")


class Erasure(Attributed):
    """The record that a customer's personal data was erased, by whom and when. It holds no personal data."""

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="erasures", verbose_name=_("customer")
    )
    erased_at = models.DateTimeField(_("erased at"), auto_now_add=True)
    summary = models.JSONField(_("what was done"), default=dict, blank=True)

    class Meta:
        ordering = ["-erased_at", "-pk"]
        verbose_name = _("erasure")
        verbose_name_plural = _("erasures")

    def __str__(self) -> str:
        return f"#{self.customer_id} erased {self.erased_at:%Y-%m-%d}"


class SegmentReach(models.TextChoices):
    ANY = "any", _("Any")
    OMNICHANNEL = "omnichannel", _("Omnichannel (bought on two channels or more)")
    SINGLE_CHANNEL = "single_channel", _("Single channel (bought on one channel only)")


class Segment(models.Model):
    """A saved group of customers for e-mail marketing, defined by rules; members are computed when asked.

    Every empty rule matches everyone. Members are live, not erased customers
    who gave the segment's consent (the latest change for that purpose says
    granted), so an export never holds someone who said no.
    """

    name = models.CharField(_("name"), max_length=100, unique=True)
    description = models.TextField(_("description"), blank=True)
    channels = models.JSONField(
        _("channels used"),
        default=list,
        blank=True,
        help_text=_('Channel codes; members bought on at least one of them, e.g. ["store", "web"].'),
    )
    reach = models.CharField(_("reach"), max_length=20, choices=SegmentReach.choices, default=SegmentReach.ANY)
    last_order_within_days = models.PositiveIntegerField(
        _("last order within (days)"), null=True, blank=True, help_text=_("Recency: bought in the last N days.")
    )
    no_order_for_days = models.PositiveIntegerField(
        _("no order for (days)"), null=True, blank=True, help_text=_("Lapsed: no order in the last N days.")
    )
    min_orders = models.PositiveIntegerField(_("at least N orders"), null=True, blank=True)
    max_orders = models.PositiveIntegerField(_("at most N orders"), null=True, blank=True)
    min_revenue = models.DecimalField(_("spent at least"), max_digits=12, decimal_places=2, null=True, blank=True)
    max_revenue = models.DecimalField(_("spent at most"), max_digits=12, decimal_places=2, null=True, blank=True)
    tiers = models.JSONField(
        _("loyalty tiers"), default=list, blank=True, help_text=_('Tier codes, e.g. ["gold"]. Empty: any tier or none.')
    )
    consent = models.CharField(
        _("consent required"),
        max_length=20,
        choices=ConsentPurpose.choices,
        default=ConsentPurpose.MARKETING_EMAIL,
    )
    member_count = models.PositiveIntegerField(_("members"), null=True, blank=True, editable=False)
    counted_at = models.DateTimeField(_("counted at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("segment")
        verbose_name_plural = _("segments")

    def __str__(self) -> str:
        return self.name


class MessageChannel(models.TextChoices):
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class MessageKind(models.TextChoices):
    ORDER_RECEIPT = "order_receipt", _("Order receipt")
    RETURN_RECEIPT = "return_receipt", _("Return receipt")
    READY_FOR_PICKUP = "ready_for_pickup", _("Ready for pick-up")


class MessageStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    SENT = "sent", _("Sent")
    RETRYING = "retrying", _("Failed, will retry")
    FAILED = "failed", _("Failed")


class Message(models.Model):
    """One e-mail or SMS to a customer (a receipt, "ready for pick-up"), with its delivery attempts.

    Written in the transaction of what it tells (the order, the return) and
    sent by a worker after the commit (`customers.messaging`); a failed send
    is retried and never undoes what it tells. The order's admin page lists
    its messages.
    """

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="messages", verbose_name=_("customer")
    )
    order = models.ForeignKey(
        "orders.Order",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="messages",
        verbose_name=_("order"),
    )
    reference = models.CharField(_("reference"), max_length=64, blank=True, help_text=_("e.g. the RMA of a return"))
    kind = models.CharField(_("kind"), max_length=20, choices=MessageKind.choices)
    channel = models.CharField(_("channel"), max_length=8, choices=MessageChannel.choices)
    to = models.CharField(_("to"), max_length=254)
    subject = models.CharField(_("subject"), max_length=200, blank=True)
    body = models.TextField(_("text"))
    status = models.CharField(
        _("status"), max_length=10, choices=MessageStatus.choices, default=MessageStatus.QUEUED, db_index=True
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("message to a customer")
        verbose_name_plural = _("messages to customers")

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_channel_display()})"
