from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    """The orders of every channel: lines, payments, fulfilment and states."""

    name = "omni.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from omni.orders import customer_view

        customer_view.register()
