from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """The programme, accounts and cards, the points ledger and basket pricing."""

    name = "loyalty"
    verbose_name = _("Loyalty")
