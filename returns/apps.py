from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class ReturnsConfig(AppConfig):
    """Returns from any channel at any location: receipt, refund, store credit."""

    name = "returns"
    verbose_name = _("Returns")

    def ready(self) -> None:
        from returns import customer_view
        from returns.reference import ensure_defaults

        customer_view.register()
        post_migrate.connect(ensure_defaults, sender=self, dispatch_uid="returns-reference-rows")
