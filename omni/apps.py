from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OmniConfig(AppConfig):
    """The shared frame: API clients, idempotency records and the outbox."""

    name = "omni"
    label = "omni"
    verbose_name = _("Omni platform")

    def ready(self) -> None:
        # Registers the OpenAPI authentication extensions.
        from omni.api import schema  # noqa: F401
