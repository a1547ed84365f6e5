from django.apps import AppConfig
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """The programme, accounts and cards, the points ledger and basket pricing."""

    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from loyalty import customer_view
        from loyalty.models import EarningRule, Programme, Promotion
        from loyalty.pricing import RULES
        from loyalty.reference import ensure_programme
        from omni import versions

        customer_view.register()
        post_migrate.connect(ensure_programme, sender=self, dispatch_uid="loyalty-reference-rows")
        # Every process keeps the rules it read (loyalty.pricing.rulebook): a change gives them a new token.
        versions.watch(
            RULES,
            Programme,
            EarningRule,
            Promotion,
            m2m=(EarningRule.channels.through, Promotion.channels.through),
        )
