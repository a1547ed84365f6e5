from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Subscriptions of the site's URLs to Omni's events, the events sent and every delivery attempt."""

    name = "omni.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")
