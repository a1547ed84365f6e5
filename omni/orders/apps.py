from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    """The orders of every channel: lines, payments, fulfilment and states."""

    name = "omni.orders"
    label = "orders"
    verbose_name = _("Orders")

    def ready(self) -> None:
        from loyalty import parity
        from omni.orders import customer_view, selectors

        customer_view.register()
        parity.register_source(selectors.till_drift)  # the parity report lists till drift beside the rules
