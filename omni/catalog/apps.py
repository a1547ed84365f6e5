from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class CatalogConfig(AppConfig):
    """Channels, locations, products and variants, and channel prices."""

    name = "omni.catalog"
    label = "catalog"
    verbose_name = _("Catalog")

    def ready(self) -> None:
        from omni import versions
        from omni.catalog.models import Channel, ChannelPrice, Location, Product, Variant
        from omni.catalog.reference import ensure_channels
        from omni.catalog.selectors import PLACES, VARIANTS

        post_migrate.connect(ensure_channels, sender=self, dispatch_uid="catalog-reference-rows")
        # Every process keeps the channels and locations it read (selectors.places): a change gives a new token.
        versions.watch(PLACES, Channel, Location)
        # ... and the variants its orders priced (selectors.sellable): their product (its category, whether it
        # is active), the channels selling it and the channel prices are part of what is kept.
        versions.watch(VARIANTS, Variant, Product, ChannelPrice, m2m=(Product.channels.through,))
