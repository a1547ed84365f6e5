from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    """Subscriptions of the site's URLs to Omni's events, the events sent and every delivery attempt."""

    name = "omni.webhooks"
    label = "webhooks"
    verbose_name = _("Webhooks")

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from omni.webhooks.models import Subscription
        from omni.webhooks.services import subscriptions_changed

        # The event types listened to are cached (services.listened_types): every save and delete of a
        # subscription clears them, whoever makes it.
        post_save.connect(subscriptions_changed, sender=Subscription, dispatch_uid="webhooks-listened-types-save")
        post_delete.connect(subscriptions_changed, sender=Subscription, dispatch_uid="webhooks-listened-types-delete")
