"""Today at the stores: click & collect orders in every state of the hand-over."""

from __future__ import annotations

from django.db.models import F

from inventory.models import StockLevel
from omni.demo.clock import (
    _moment,
    clock,
)
from omni.demo.data import (
    CLICK_AND_COLLECT,
    PICKUP_STORES_TODAY,
)
from omni.orders import services as orders
from omni.orders.models import OrderEventType


class PickupsStory:
    """Today at the stores: click & collect orders in every state of the hand-over."""

    def pickups_today(self) -> None:
        """At the first stores (the demo clerk's first), click & collect orders in every state on `until`:
        to prepare, ready, overdue (ready for more than PICKUP_OVERDUE_DAYS) and collected yesterday."""
        rng = self.rng("pickups")
        web = self.channel_rows["web"]
        anchor = self.until_epoch - 15 * 60
        # (state, hours before `until` it was placed, then the hours before `until` of each step taken)
        plan = [
            ("to prepare", 5, ()), ("to prepare", 2, ()),
            ("ready", 30, ((OrderEventType.READY_FOR_PICKUP, 26),)),
            ("ready", 20, ((OrderEventType.READY_FOR_PICKUP, 16),)),
            ("overdue", 12 * 24, ((OrderEventType.READY_FOR_PICKUP, 11 * 24),)),
            ("overdue", 10 * 24, ((OrderEventType.READY_FOR_PICKUP, 9 * 24),)),
            ("collected", 60, ((OrderEventType.READY_FOR_PICKUP, 55), (OrderEventType.COLLECTED, 20))),
        ]  # fmt: skip
        made = 0
        for store in self.pickup_stores[:PICKUP_STORES_TODAY]:
            shelf = list(
                StockLevel.objects.filter(location_id=store.id, on_hand__gte=F("reserved") + F("safety_stock") + 2)
                .order_by("variant_id")
                .values_list("variant_id", flat=True)
            )
            sold_online = set(self.assortments["web"].variant_ids)
            shelf = [pk for pk in shelf if pk in sold_online]
            for _state, placed, steps in plan:
                if not shelf:
                    break
                customer_id = self.email_pool.pick(rng, anchor)
                lines = [(v, 1, 0) for v in rng.sample(shelf, min(len(shelf), rng.choice((1, 1, 2))))]
                fulfilment = orders.FulfilmentIn(type=CLICK_AND_COLLECT, pickup_location=self.location_rows[store.id])
                made += 1
                number = f"W-{store.site.code}-{made:03d}"
                order = self._place(rng, web.code, number, lines, anchor - placed * 3600, customer_id, fulfilment)
                if order is None:
                    continue
                for event, hours_before in steps:
                    with clock(_moment(anchor - hours_before * 3600)):
                        order = orders.apply_event(order=order, event=event)
        self.result.pickups_today = made
        self.say(f"pick-ups: {made} click & collect orders at {PICKUP_STORES_TODAY} stores, in every state")
