from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig
from django.utils.translation import gettext_lazy as _


class OmniConfig(AppConfig):
    """The shared frame: API clients, idempotency records and the outbox."""

    name = "omni"
    label = "omni"
    verbose_name = _("Omni platform")

    def ready(self) -> None:
        # Registers the OpenAPI authentication extensions.
        from omni import versions
        from omni.api import schema  # noqa: F401
        from omni.api.keys import API_CLIENTS
        from omni.models import ApiClient

        # Every process keeps the active API clients (omni.api.keys): a save or delete gives a new token.
        versions.watch(API_CLIENTS, ApiClient)


class OmniAdminConfig(AdminConfig):
    """Django's admin with Omni's site: the user's store shown, logins limited against guessing."""

    default_site = "omni.admin_site.OmniAdminSite"
