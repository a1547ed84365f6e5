from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    """The programme, accounts and cards, the points ledger and basket pricing."""

    name = "loyalty"
    verbose_name = _("Loyalty")

    def ready(self) -> None:
        from loyalty import customer_view
        from loyalty.models import EarningRule, Programme, Promotion
        from loyalty.pricing import rules_changed
        from loyalty.reference import ensure_programme

        customer_view.register()
        post_migrate.connect(ensure_programme, sender=self, dispatch_uid="loyalty-reference-rows")
        # Every process keeps the rules it read (loyalty.pricing.rulebook): a change gives them a new token.
        for model in (Programme, EarningRule, Promotion):
            post_save.connect(rules_changed, sender=model, dispatch_uid=f"rules-changed-save-{model.__name__}")
            post_delete.connect(rules_changed, sender=model, dispatch_uid=f"rules-changed-delete-{model.__name__}")
        for through in (EarningRule.channels.through, Promotion.channels.through):
            m2m_changed.connect(rules_changed, sender=through, dispatch_uid=f"rules-changed-m2m-{through.__name__}")
