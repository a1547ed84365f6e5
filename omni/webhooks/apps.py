from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Subscriptions of the site's URLs to Omni's events, the events sent and every delivery attempt."""

    name = "omni.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from omni import versions
        from omni.webhooks.models import Subscription
        from omni.webhooks.services import LISTENED_TYPES

        # Every process keeps the event types listened to (services.listened_types): a save or delete of a
        # subscription gives a new token.
        versions.watch(LISTENED_TYPES, Subscription)
