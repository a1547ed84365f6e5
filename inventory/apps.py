from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InventoryConfig(AppConfig):
    """Stock per location, the stock ledger, reservations and availability."""

    name = "inventory"
    verbose_name = _("Inventory")
