"""Returns of every kind from the last weeks, through the returns services."""

from __future__ import annotations

import random

from django.db.models import F

from inventory.models import StockLevel
from loyalty.pricing import LineIn
from omni.catalog.models import (
    Variant,
)
from omni.demo.clock import (
    _moment,
    clock,
)
from omni.demo.data import (
    BASE_ORDERS,
    DAY_SECONDS,
    MIN_RETURNS_OF_A_KIND,
    RETURN_KINDS,
    RETURNS_OF_A_KIND,
)
from omni.errors import DomainError, InvalidTransition
from omni.orders.models import Order, OrderLine
from returns import services as returns
from returns.models import RefundTarget, ReturnReason


class ReturnsStory:
    """Returns of every kind from the last weeks, through the returns services."""

    def returns(self) -> None:
        """Returns of the last weeks, through the returns services on the demo's clock: online orders brought back
        to a store, returns asked for online and received later at the warehouse (or still on their way),
        refunds to store credit, and exchanges at the till."""
        rng = self.rng("returns")
        reasons = list(ReturnReason.objects.filter(is_active=True).order_by("position").values_list("code", flat=True))
        candidates = sorted(self.handed_over)
        rng.shuffle(candidates)
        online = [c for c in candidates if c[2] != "store"]
        store = [c for c in candidates if c[2] == "store"]
        wanted = max(MIN_RETURNS_OF_A_KIND, round(RETURNS_OF_A_KIND * self.volumes.orders / BASE_ORDERS))
        done: dict[str, int] = {kind: 0 for kind in RETURN_KINDS}
        pools = {"in store": online, "asked online": online, "store credit": store, "exchange": store}
        for _round in range(wanted):  # a kind at a time, so that every kind gets its share of a small pool
            for kind in RETURN_KINDS:
                pool = pools[kind]
                while pool:
                    order_id, handed, _channel = pool.pop()
                    when = handed + int(rng.uniform(0.5, 4) * DAY_SECONDS)
                    if when >= self.until_epoch - 60:
                        continue
                    order = Order.objects.select_related("channel", "customer", "pickup_location").get(pk=order_id)
                    line = rng.choice(list(order.lines.select_related("variant__product")))
                    asked = [returns.ReturnLineIn(sku=line.variant.sku, quantity=1, reason=rng.choice(reasons))]
                    try:
                        with clock(_moment(when)):
                            self._return(rng, kind, order, line, asked, when, done[kind])
                    except DomainError:
                        continue
                    done[kind] += 1
                    break
        self.result.returns = sum(done.values())
        self.say("returns: " + ", ".join(f"{count} {kind}" for kind, count in done.items()))

    def _return(
        self,
        rng: random.Random,
        kind: str,
        order: Order,
        line: OrderLine,
        asked: list[returns.ReturnLineIn],
        when: int,
        earlier: int,
    ) -> None:
        home = (
            self.stores[self.customer_home[order.customer_id - self.first_customer_id]] if order.customer_id else None
        )
        store = self.location_rows[(home or self.stores[0]).id]
        if kind == "in store":
            returns.accept_return(order=order, lines=asked, location=order.pickup_location or store)
        elif kind == "asked online":
            # Every other one is announced to a store and still on its way; the others reach the warehouse.
            announced_to = store if earlier % 2 == 0 else None
            ret = returns.accept_return(order=order, lines=asked, location=announced_to, receive=False)
            later = when + int(rng.uniform(2, 5) * DAY_SECONDS)
            if announced_to is None and later < self.until_epoch - 60:
                warehouse = self.location_rows[(home or self.stores[0]).warehouse_id]
                with clock(_moment(later)):
                    returns.receive_return(ret=ret, location=warehouse)
        elif kind == "store credit":
            returns.accept_return(
                order=order, lines=asked, location=order.location, refund_to=RefundTarget.STORE_CREDIT
            )
        else:
            variant = line.variant
            sizes = [
                v
                for v in Variant.objects.filter(product_id=variant.product_id, color=variant.color).exclude(
                    pk=variant.pk
                )
                if StockLevel.objects.filter(
                    location_id=order.location_id, variant=v, on_hand__gte=F("reserved") + F("safety_stock") + 1
                ).exists()
            ]
            if not sizes:
                raise InvalidTransition("no other size on the shelf")
            new = rng.choice(sizes)
            returns.exchange(
                order=order,
                lines=asked,
                new_lines=[LineIn(sku=new.sku, quantity=1)],
                location=order.location,
            )
