from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ReturnsConfig(AppConfig):
    """Returns from any channel at any location: receipt, refund, store credit."""

    name = "returns"
    verbose_name = _("Returns")
