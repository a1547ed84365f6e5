"""The night before `until`: what the scheduled jobs do, and what the tour points at."""

from __future__ import annotations

from django.db.models import F

from customers import services as customer_services
from customers.models import Segment
from inventory import services as inventory
from inventory.models import StockLevel
from loyalty import services as loyalty
from loyalty.models import LoyaltyAccount
from omni.demo.clock import (
    _moment,
    clock,
)


class JobsStory:
    """The night before `until`: what the scheduled jobs do, and what the tour points at."""

    def nightly_jobs(self) -> None:
        """Points past their date expire, tiers follow the year's spend, replenishment reads the sales, and the
        segments are counted."""
        with clock(_moment(self.until_epoch - 30 * 60)):
            expired = loyalty.expire_due()
            loyalty.recompute_tiers()
            run = inventory.propose_replenishment(today=self.until)
            for segment in Segment.objects.order_by("pk"):
                customer_services.count_members(segment=segment)
        self.result.points_expired = expired
        self.result.proposals = run.proposals
        self.say(f"nightly jobs: {expired} points expired, tiers computed, {run.proposals} replenishment proposals")

    def tour(self) -> dict[str, str]:
        """The card of the customer with the most points, the clerk's store, a SKU on its shelves and a gift card
        with money on it."""
        account = LoyaltyAccount.objects.filter(cards__is_active=True).order_by("-balance", "pk").first()
        store = self.stores[0]
        sku = (
            StockLevel.objects.filter(location_id=store.id, on_hand__gt=F("reserved") + F("safety_stock"))
            .order_by("-on_hand", "variant_id")
            .values_list("variant__sku", flat=True)
            .first()
        )
        found = {"store": store.site.code, "sku": sku or ""}
        if account is not None:
            found["card"] = account.cards.filter(is_active=True).values_list("number", flat=True)[0]
            found["customer"] = str(account.customer_id)
            found["points"] = str(account.balance)
        found.update(self.gift_card_for_the_tour())
        return found
