"""The frame's own tables: API clients, idempotency records, the outbox."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Scope(models.TextChoices):
    CATALOG = "catalog", _("Catalog, locations and prices")
    STOCK = "stock", _("Stock and availability")
    CUSTOMERS = "customers", _("Customers")
    ORDERS = "orders", _("Orders and reservations")
    LOYALTY = "loyalty", _("Loyalty")
    RETURNS = "returns", _("Returns")
    EVENTS = "events", _("Events and social figures")
    KPIS = "kpis", _("KPIs")
    WEBHOOKS = "webhooks", _("Webhook subscriptions")


ALL_SCOPES = [choice.value for choice in Scope]


class ApiClient(models.Model):
    """A system that calls the API (the site, the app, a till). Only a hash of its key is kept."""

    name = models.CharField(_("name"), max_length=100, unique=True)
    key_prefix = models.CharField(_("key prefix"), max_length=16, unique=True, editable=False)
    key_hash = models.CharField(_("key hash"), max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    rate_limit = models.CharField(
        _("rate limit"),
        max_length=20,
        blank=True,
        help_text=_('Requests allowed, e.g. "600/min". Empty: the default rate.'),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("API client")
        verbose_name_plural = _("API clients")

    def __str__(self) -> str:
        return self.name

    # The DRF throttles and permissions ask these of request.user.
    is_authenticated = True
    is_staff = False

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


class IdempotencyState(models.TextChoices):
    IN_PROGRESS = "in_progress", _("In progress")
    DONE = "done", _("Done")


class IdempotencyRecord(models.Model):
    """The first answer to a POST with an Idempotency-Key, kept to answer repeats."""

    owner = models.CharField(max_length=80)
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64)
    state = models.CharField(max_length=16, choices=IdempotencyState.choices)
    status_code = models.PositiveSmallIntegerField(null=True)
    content_type = models.CharField(max_length=100, blank=True)
    body = models.BinaryField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = _("idempotency record")
        verbose_name_plural = _("idempotency records")
        constraints = [models.UniqueConstraint(fields=["owner", "key"], name="idempotency_owner_key_unique")]


class OutboxMessage(models.Model):
    """A task to send to Celery once the transaction that wrote it has committed."""

    task = models.CharField(_("task"), max_length=200)
    kwargs = models.JSONField(_("arguments"), default=dict)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True, db_index=True)
    task_id = models.CharField(_("Celery task id"), max_length=64, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")

    def __str__(self) -> str:
        return f"{self.task} #{self.pk}"


class OutboxPending(models.Model):
    """A coalesced task handed to Celery and not started yet.

    While it waits, later messages with the same task and arguments are not
    sent again: the waiting run will read their rows, which committed before
    it starts. The worker deletes the row as the task starts (see
    `omni.outbox.task_starting`).
    """

    key = models.CharField(_("task and arguments"), max_length=255, unique=True)
    sent_at = models.DateTimeField(_("sent"))

    class Meta:
        verbose_name = _("pending coalesced task")
        verbose_name_plural = _("pending coalesced tasks")

    def __str__(self) -> str:
        return self.key


class Attributed(models.Model):
    """Who made a change: a staff user, an API client, or the system (both empty).

    Every row that records a change of stock, points, money or personal data
    inherits these two columns, so each change is attributable.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("user"),
    )
    api_client = models.ForeignKey(
        ApiClient,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("API client"),
    )

    class Meta:
        abstract = True


class JobStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    """A long admin action run by a worker (a KPI recompute, an import), with its progress and outcome.

    The admin writes the row and sends its task through the outbox in one
    transaction; the task moves `done` towards `total` as it goes, each step
    committed on its own so the progress page sees it, and ends with a
    result or an error (`omni.jobs`).
    """

    kind = models.CharField(_("kind"), max_length=60, db_index=True)
    title = models.CharField(_("title"), max_length=200)
    task = models.CharField(_("task"), max_length=200)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    content = models.BinaryField(_("file"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=JobStatus.choices, default=JobStatus.QUEUED, db_index=True
    )
    done = models.PositiveIntegerField(_("done"), default=0)
    total = models.PositiveIntegerField(_("total"), default=0)
    result = models.JSONField(_("result"), default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    error = models.TextField(_("error"), blank=True)
    result_url = models.CharField(_("result page"), max_length=300, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("started by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("background job")
        verbose_name_plural = _("background jobs")

    def __str__(self) -> str:
        return self.title

    @property
    def is_finished(self) -> bool:
        return self.status in (JobStatus.DONE, JobStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0


class Version(models.Model):
    """A token per thing each process keeps between requests (`omni.versions`): the loyalty rules, the channels
    and locations. It changes, in the same transaction, whenever what it stands for is saved or deleted, so
    every process reads that thing again at its next use. 0, or no row, means unknown: the next reader sets
    one."""

    name = models.CharField(primary_key=True, max_length=64)
    value = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return self.name
