from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Channels, locations, products and variants, and channel prices."""

    name = "omni.catalog"
    label = "catalog"
    verbose_name = _("Catalog")
