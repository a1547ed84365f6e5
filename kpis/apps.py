from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class KpisConfig(AppConfig):
    """Touchpoint events, social figures, KPI rollups and dashboards."""

    name = "kpis"
    verbose_name = _("KPIs")

    def ready(self) -> None:
        from kpis import customer_view

        customer_view.register()
