"""Webhooks: who listens (subscriptions), what was said (events), and every attempt to say it (deliveries)."""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _

from omni.models import ApiClient


class EventType(models.TextChoices):
    ORDER_CREATED = "order.created", _("Order created")
    ORDER_STATUS_CHANGED = "order.status_changed", _("Order status changed")
    RETURN_CREATED = "return.created", _("Return created")
    RETURN_RECEIVED = "return.received", _("Return received")
    CUSTOMER_MERGED = "customer.merged", _("Customers merged")
    CUSTOMER_ERASED = "customer.erased", _("Customer erased")
    LOYALTY_BALANCE_CHANGED = "loyalty.balance_changed", _("Loyalty balance changed")
    AVAILABILITY_CHANGED = "availability.changed", _("Availability changed")


EVERY_EVENT = "*"


class Subscription(models.Model):
    """A URL of the site that wants some events, with the secret its deliveries are signed with."""

    owner = models.ForeignKey(
        ApiClient,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="webhook_subscriptions",
        verbose_name=_("API client"),
        help_text=_("The client that subscribed; empty when staff made it in the admin."),
    )
    url = models.URLField(_("URL"), max_length=2000)
    events = models.JSONField(_("events"), default=list, help_text=_('Event types to send, or ["*"] for every event.'))
    description = models.CharField(_("description"), max_length=200, blank=True)
    secret = models.CharField(_("signing secret"), max_length=100, editable=False)
    is_active = models.BooleanField(_("active"), default=True)
    failing_since = models.DateTimeField(
        _("failing since"),
        null=True,
        blank=True,
        help_text=_("The first failed attempt since the last delivered one; empty while deliveries succeed."),
    )
    is_failing = models.BooleanField(
        _("failing"), default=False, help_text=_("Deliveries have failed for a day; admins were told by e-mail.")
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("webhook subscription")
        verbose_name_plural = _("webhook subscriptions")

    def __str__(self) -> str:
        return self.url

    def wants(self, event_type: str) -> bool:
        return EVERY_EVENT in self.events or event_type in self.events


class Event(models.Model):
    """One thing that happened, as sent: its id is the `webhook-id` of every delivery and redelivery."""

    id = models.CharField(_("id"), max_length=40, primary_key=True)
    type = models.CharField(_("type"), max_length=40, choices=EventType.choices)
    data = models.JSONField(_("data"), default=dict)
    created_at = models.DateTimeField(_("created"), db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("webhook event")
        verbose_name_plural = _("webhook events")

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class Dispatch(models.Model):
    """One event owed to one subscription: sent until delivered, retried with growing delays, or given up.

    `next_attempt_at` is when the next attempt is due (empty once delivered or
    given up). A sender claims a dispatch by moving it forward by a lease, in
    one conditional UPDATE, so two workers never send it at once; a worker
    that dies leaves it due again when the lease ends.
    """

    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="dispatches", verbose_name=_("subscription")
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="dispatches", verbose_name=_("event"))
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("delivered"), null=True, blank=True)
    given_up_at = models.DateTimeField(_("given up"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("webhook dispatch")
        verbose_name_plural = _("webhook dispatches")
        indexes = [models.Index(fields=["next_attempt_at"], name="webhook_dispatch_due_idx")]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id}"


class Delivery(models.Model):
    """One attempt to deliver an event: what the site answered, how long it took, what went wrong."""

    dispatch = models.ForeignKey(
        Dispatch, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("dispatch")
    )
    subscription = models.ForeignKey(
        Subscription, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("subscription")
    )
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="deliveries", verbose_name=_("event"))
    status_code = models.PositiveSmallIntegerField(_("status code"), null=True, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    error = models.TextField(_("error"), blank=True)
    at = models.DateTimeField(_("at"), db_index=True)

    class Meta:
        ordering = ["-at", "-pk"]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.event_id} → {self.subscription_id}: {self.status_code or self.error[:40]}"

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300
