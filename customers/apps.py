from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    """Who the customer is: profiles, identifiers, merging, consents, segments."""

    name = "customers"
    verbose_name = _("Customers")

    def ready(self) -> None:
        from customers import contributions

        contributions.register()
