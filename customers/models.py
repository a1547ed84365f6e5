"""Who the customer is: one profile, many identifiers.

This is the profile that orders and the other apps point at. Identification,
merging and consents are built on it (see the customers services).
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Customer(models.Model):
    """One person, whatever the channel; anonymous until an identifier links them."""

    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=32, blank=True)
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")

    def __str__(self) -> str:
        name = f"{self.first_name} {self.last_name}".strip()
        return name or self.email or f"#{self.pk}"

    @property
    def is_anonymous(self) -> bool:
        return not (self.first_name or self.last_name or self.email or self.phone)


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

    class Meta:
        ordering = ["pk"]
        verbose_name = _("identifier")
        verbose_name_plural = _("identifiers")
        constraints = [
            models.UniqueConstraint(fields=["kind", "value"], name="identifier_unique_value"),
        ]
        indexes = [models.Index(fields=["value"], name="identifier_value_idx")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"
