"""A year of sales on the demo's clock.

Till receipts go through record_orders; online and endless-aisle orders through record_order and their transitions.
"""

from __future__ import annotations

import bisect
import random
import time
from datetime import timedelta
from decimal import Decimal

from customers.models import Customer
from loyalty import services as loyalty
from loyalty.models import LoyaltyAccount
from loyalty.pricing import LineIn, programme, quote_basket
from omni.catalog.models import (
    Channel,
    Location,
    Variant,
)
from omni.demo.clock import (
    _moment,
    _rome_midnight,
    clock,
)
from omni.demo.data import (
    CALL_CENTER_HOURS,
    CANCELLED_SHARE,
    CARD,
    CARRY_OUT,
    CASH,
    CHANNEL_SHARES,
    CHANNELS,
    CLICK_AND_COLLECT,
    DAILY_BATCH_DAYS,
    DAY_SECONDS,
    ENDLESS_AISLE_SHARE,
    FIRST_NAMES,
    FULFILMENTS,
    IDENTIFIED_STORE_SHARE,
    LAST_NAMES,
    MIN_POINTS_TO_REDEEM,
    MONTHS,
    ONLINE_HOURS,
    ONLINE_LINES,
    ONLINE_PREFIX,
    ONLINE_WEEKDAYS,
    REDEEM_SHARE,
    RETURN_WINDOW_SECONDS,
    SHIP_TO_HOME,
    SHIP_TO_STORE,
    STORE_HOLIDAYS,
    STORE_HOURS,
    STORE_LINES,
    STORE_WEEKDAYS,
    STREETS,
)
from omni.demo.pieces import (
    _black_friday,
    _ChannelPlan,
    _cumulative,
    _pick,
    _Store,
)
from omni.demo.writing import settle
from omni.errors import DomainError, InsufficientPoints
from omni.orders import services as orders
from omni.orders.models import Order, OrderEventType, OrderLine, OrderStatus


class SalesStory:
    """A part of DemoBuilder: see the module."""

    def _day_weights(self) -> tuple[list[float], list[float]]:
        """Relative sales per day for the stores and for the online channels: seasons, weekdays, Black Friday."""
        store, online = [], []
        for offset, day in enumerate(self.days):
            month = MONTHS[day.month]
            black_friday = _black_friday(day.year)
            boost = 1.0
            if day == black_friday:
                boost = 3.0
            elif black_friday < day <= black_friday + timedelta(days=3):
                boost = 1.8
            elif day.month == 12 and 8 <= day.day <= 24:
                boost = 1.3
            closed = (day.month, day.day) in STORE_HOLIDAYS
            store.append(0.0 if closed else month * STORE_WEEKDAYS[day.weekday()] * boost)
            growth = 0.85 + 0.3 * offset / len(self.days)  # online grows over the year
            online.append(month * ONLINE_WEEKDAYS[day.weekday()] * (boost * 1.3 if boost > 1.0 else 1.0) * growth)
        return store, online

    def _daily_counts(self, rng: random.Random) -> list[list[int]]:
        """Orders per day and channel; fractions are rounded at random so the totals stay right on average."""
        store_weights, online_weights = self._day_weights()
        store_sum, online_sum = sum(store_weights), sum(online_weights)
        counts = []
        for offset in range(len(self.days)):
            row = []
            for channel in CHANNELS:
                weights, weight_sum = (store_weights, store_sum) if channel == "store" else (online_weights, online_sum)
                if channel == "store":
                    volume = self.volumes.orders * CHANNEL_SHARES["store"]
                else:  # the online channels share the orders that go one by one through record_order
                    volume = self.volumes.online_orders * CHANNEL_SHARES[channel] / (1 - CHANNEL_SHARES["store"])
                expected = volume * weights[offset] / weight_sum
                whole = int(expected)
                row.append(whole + (1 if rng.random() < expected - whole else 0))
            counts.append(row)
        return counts

    def _channel_plans(self) -> list[_ChannelPlan]:
        plans = []
        for channel in CHANNELS:
            hours = (
                STORE_HOURS if channel == "store" else CALL_CENTER_HOURS if channel == "call_center" else ONLINE_HOURS
            )
            fulfilments = FULFILMENTS.get(channel, {CARRY_OUT: 1})
            plans.append(
                _ChannelPlan(
                    code=channel,
                    id=self.channel_ids[channel],
                    prefix=ONLINE_PREFIX.get(channel, ""),
                    assortment=self.assortments[channel],
                    hours=list(hours),
                    hour_cumulative=_cumulative(list(hours.values())),
                    lines_cumulative=_cumulative(STORE_LINES if channel == "store" else ONLINE_LINES),
                    fulfilments=list(fulfilments),
                    fulfilment_cumulative=_cumulative(list(fulfilments.values())),
                )
            )
        return plans

    def history(self) -> None:
        """A year of orders, day by day on the demo's clock.

        The day's till receipts go to `record_orders` at once (the bulk form of the order: cards identified,
        baskets priced with the promotions of that day, stock taken with sale movements, points earned and
        redeemed); the online and endless-aisle orders go one by one through `record_order` and move on
        (shipped, ready, collected) through the order's transitions. Tiers are recomputed every month, as the
        nightly job would have.
        """
        settle()  # the customers and the stock written in bulk before
        rng = self.rng("orders")
        counts = self._daily_counts(rng)
        total = sum(map(sum, counts))
        plans = self._channel_plans()
        self.channel_rows = {channel.code: channel for channel in Channel.objects.all()}
        self.location_rows = Location.objects.in_bulk()
        self.variant_rows = Variant.objects.select_related("product").in_bulk(self.variant_ids)
        self.customer_rows_by_id: dict[int, Customer] = {}
        self.points: dict[int, int] = {}  # customer id -> points they can spend, as the orders so far left them
        self.redeemers: list[tuple[orders.SaleIn, int]] = []  # the till sales not yet recorded that redeem, by customer
        self.handed_over: list[tuple[int, int, str]] = []  # (order id, epoch handed over, channel) for the returns
        self.point_value = programme().point_value
        self.plan_gift_cards()
        started, done = time.monotonic(), 0
        sales: list[orders.SaleIn] = []
        for offset, day in enumerate(self.days):
            day_start = int(_rome_midnight(day).timestamp())
            if day.day == 1 and offset:  # the nightly jobs, as they ran at each month's start
                if sales:
                    self._record_till_sales(sales)
                    sales = []
                with clock(_moment(day_start + 3 * 3600)):
                    loyalty.expire_due()
                    loyalty.recompute_tiers()
                settle()  # the tables the month grew
                self.points = dict(LoyaltyAccount.objects.values_list("customer_id", "balance"))
            hour_starts = [day_start + hour * 3600 for hour in range(24)]
            moments: list[tuple[int, int]] = []
            for channel_index, plan in enumerate(plans):
                for _ in range(counts[offset][channel_index]):
                    hour = plan.hours[_pick(rng, plan.hour_cumulative)]
                    moments.append((hour_starts[hour] + int(rng.random() * 3600), channel_index))
            moments.sort()  # numbers follow time, as a real order sequence does
            stamp, receipts = day.strftime("%Y%m%d"), [0] * len(self.stores)
            for epoch, channel_index in moments:
                plan = plans[channel_index]
                plan.sequence += 1
                if plan.code == "store":
                    self._till_sale(rng, sales, receipts, stamp, epoch, plan)
                else:
                    self._online_order(rng, epoch, plan)
            # The till receipts go to record_orders a week at a time, a day at a time in the last weeks (whose
            # sale movements replenishment reads): the batch's movements are dated at its last sale.
            recent = len(self.days) - offset <= DAILY_BATCH_DAYS
            if sales and (recent or day.weekday() == 6 or offset == len(self.days) - 1):
                self._record_till_sales(sales)
                sales = []
            done += len(moments)
            if day.day == 1 or offset == len(self.days) - 1:
                seconds = time.monotonic() - started
                self.say(f"orders: {done}/{total} ({done * 100 // max(total, 1)}%) up to {day}, {seconds:.0f} s")
        self.say(
            f"gift cards: {self.result.gift_cards} sold at the tills, "
            f"{self.result.gift_card_payments} orders paid with them so far"
        )
        self.result.orders = Order.objects.count()
        self.result.lines = OrderLine.objects.count()

    def _record_till_sales(self, sales: list[orders.SaleIn]) -> None:
        try:
            with clock(sales[-1].sold_at + timedelta(minutes=1)):
                orders.record_orders(channel=self.channel_rows["store"], sales=sales)
        except InsufficientPoints:  # nothing was written
            self._redeem_what_the_accounts_hold(sales)
            with clock(sales[-1].sold_at + timedelta(minutes=1)):
                orders.record_orders(channel=self.channel_rows["store"], sales=sales)
        self.redeemers.clear()
        for sale in sales:
            if sale.customer_id is not None and sale.order is not None:
                self.points[sale.customer_id] = self.points.get(sale.customer_id, 0) + sale.points
                if self.until_epoch - sale.sold_at.timestamp() < RETURN_WINDOW_SECONDS:
                    self.handed_over.append((sale.order.pk, int(sale.sold_at.timestamp()), "store"))
        self.result.store_sales += len(sales)

    def _redeem_what_the_accounts_hold(self, sales: list[orders.SaleIn]) -> None:
        """The batch's redemptions trimmed, in receipt order, to what each account holds before it (one query).

        `self.points` counts what each customer can spend from the orders placed so far, and can count too
        much: a cancelled order takes back the points it earned, and points earned while the account owed
        some paid the debt first. At a large scale a batch then asks for more than an account holds, and
        `record_orders` refuses all of it; a till would refuse the points, so the receipt uses fewer."""
        for sale in sales:  # what record_orders fills in, from the refused attempt
            sale.first_line, sale.customer_id, sale.account, sale.priced, sale.order = 0, None, None, None, None
        holders = {owner for _sale, owner in self.redeemers}
        left = dict(LoyaltyAccount.objects.filter(customer_id__in=holders).values_list("customer_id", "balance"))
        for sale, owner in self.redeemers:
            sale.points_to_redeem = min(sale.points_to_redeem, max(left.get(owner, 0), 0) // 100 * 100)
            left[owner] = left.get(owner, 0) - sale.points_to_redeem

    def _basket(self, rng: random.Random, plan: _ChannelPlan) -> list[tuple[int, int, int]]:
        """(variant id, units, list price in cents) of each line: popular variants more often, mostly one unit."""
        assortment = plan.assortment
        cumulative, top, last = assortment.cumulative, assortment.cumulative[-1], len(assortment.cumulative) - 1
        wanted = 1 + _pick(rng, plan.lines_cumulative)
        chosen: dict[int, tuple[int, int, int]] = {}
        for _ in range(wanted):
            index = bisect.bisect(cumulative, rng.random() * top, 0, last)
            if index in chosen:  # the same variant twice is one line; draw again once, else drop the line
                index = bisect.bisect(cumulative, rng.random() * top, 0, last)
                if index in chosen:
                    continue
            roll = rng.random()
            units = 1 if roll < 0.86 else 2 if roll < 0.97 else 3
            chosen[index] = (assortment.variant_ids[index], units, assortment.prices[index] * units)
        return list(chosen.values())

    def _points_to_pay_with(self, rng: random.Random, customer_id: int | None, gross_cents: int) -> int:
        """Some customers with points pay part of a basket with them (never more than a third of it)."""
        if customer_id is None:
            return 0
        have = self.points.get(customer_id, 0)
        if have < MIN_POINTS_TO_REDEEM or rng.random() > REDEEM_SHARE:
            return 0
        worth = int(Decimal(100) * self.point_value)  # cents per point
        points = min(have, gross_cents // (3 * max(worth, 1))) // 100 * 100
        if points < 100:
            return 0
        self.points[customer_id] = have - points
        return points

    def _till_sale(
        self,
        rng: random.Random,
        sales: list[orders.SaleIn],
        receipts: list[int],
        stamp: str,
        epoch: int,
        plan: _ChannelPlan,
    ) -> None:
        store_index = _pick(rng, self.store_cumulative)
        store = self.stores[store_index]
        self.sell_gift_card(store_index, receipts, stamp, epoch)
        receipts[store_index] += 1
        customer_id = None
        if rng.random() < IDENTIFIED_STORE_SHARE:
            pool = self.store_pools[store_index] if rng.random() < 0.85 else self.till_pool
            customer_id = pool.pick(rng, epoch)
        lines = self._basket(rng, plan)
        number = f"{store.site.code}-{stamp}-{receipts[store_index]:04d}"
        if customer_id is not None and rng.random() < ENDLESS_AISLE_SHARE:
            self._endless_aisle(rng, store, customer_id, lines, epoch, number)
            return
        redeem = self._points_to_pay_with(rng, customer_id, sum(gross for _v, _u, gross in lines))
        sale = orders.SaleIn(
            number=number,
            location=self.location_rows[store.id],
            sold_at=_moment(epoch),
            tender=CARD if rng.random() < 0.7 else CASH,
            lines=[orders.SaleLineIn(variant=self.variant_rows[v], quantity=units) for v, units, _g in lines],
            card=self.cards[customer_id] if customer_id is not None else "",
            points_to_redeem=redeem,
        )
        sales.append(sale)
        if redeem and customer_id is not None:
            self.redeemers.append((sale, customer_id))

    def _endless_aisle(
        self,
        rng: random.Random,
        store: _Store,
        customer_id: int,
        lines: list[tuple[int, int, int]],
        epoch: int,
        number: str,
    ) -> None:
        """Sold out here, ordered here: shipped home from the region's warehouse, or to this store."""
        if store.site.pickup and rng.random() < 0.4:
            fulfilment = orders.FulfilmentIn(type=SHIP_TO_STORE, pickup_location=self.location_rows[store.id])
        else:
            fulfilment = orders.FulfilmentIn(type=SHIP_TO_HOME, address=self._address(rng, customer_id))
        location = self.location_rows[store.id]
        order = self._place(rng, "store", number, lines, epoch, customer_id, fulfilment, location=location)
        if order is not None:
            self.result.endless_aisle += 1
            self._move_on(rng, order, epoch)

    def _online_order(self, rng: random.Random, epoch: int, plan: _ChannelPlan) -> None:
        if plan.code == "call_center":
            customer_id = (self.phone_pool if rng.random() < 0.8 else self.email_pool).pick(rng, epoch)
        elif plan.code != "marketplace" or rng.random() < 0.5:
            customer_id = self.email_pool.pick(rng, epoch)
        else:
            customer_id = None
        if customer_id is None:
            home = self.stores[_pick(rng, self.store_cumulative)]
        else:
            home = self.stores[self.customer_home[customer_id - self.first_customer_id]]
        kind = plan.fulfilments[_pick(rng, plan.fulfilment_cumulative)]
        if kind == SHIP_TO_HOME:
            fulfilment = orders.FulfilmentIn(type=SHIP_TO_HOME, address=self._address(rng, customer_id))
        else:
            pickup = home if home.site.pickup else self.pickup_stores[_pick(rng, self.pickup_cumulative)]
            fulfilment = orders.FulfilmentIn(type=kind, pickup_location=self.location_rows[pickup.id])
        number = f"{plan.prefix}{plan.sequence:09d}"  # the site's order number
        order = self._place(rng, plan.code, number, self._basket(rng, plan), epoch, customer_id, fulfilment)
        if order is not None:
            self._move_on(rng, order, epoch)

    def _place(
        self,
        rng: random.Random,
        channel_code: str,
        external_id: str,
        lines: list[tuple[int, int, int]],
        epoch: int,
        customer_id: int | None,
        fulfilment: orders.FulfilmentIn,
        location: Location | None = None,
    ) -> Order | None:
        """One order through `record_order`, paid by card (partly with points); None if the network cannot serve it."""
        channel = self.channel_rows[channel_code]
        at = _moment(epoch)
        line_ins = [LineIn(sku=self.variant_rows[v].sku, quantity=units) for v, units, _g in lines]
        redeem = self._points_to_pay_with(rng, customer_id, sum(gross for _v, _u, gross in lines))
        customer = self._customer(customer_id) if customer_id is not None else None
        gift_card = None
        try:
            with clock(at):
                quote = quote_basket(channel=channel, lines=line_ins, at=at)
                payments, gift_card = self.tenders(quote.total - redeem * self.point_value, epoch)
                order = orders.record_order(
                    channel=channel,
                    lines=line_ins,
                    payments=payments,
                    location=location,
                    customer=customer,
                    external_id=external_id,
                    fulfilment=fulfilment,
                    points_to_redeem=redeem,
                    created_at=at,
                )
        except DomainError:  # out of stock everywhere, a product not sold on the channel: the sale did not happen
            if redeem and customer_id is not None:
                self.points[customer_id] += redeem
            return None
        if gift_card is not None:
            self.spent(gift_card, payments)
        if customer_id is not None:
            self.points[customer_id] = self.points.get(customer_id, 0) + order.points_earned
        self.result.online_orders += channel_code != "store"
        return order

    def _customer(self, customer_id: int) -> Customer:
        customer = self.customer_rows_by_id.get(customer_id)
        if customer is None:
            customer = self.customer_rows_by_id[customer_id] = Customer.objects.get(pk=customer_id)
        return customer

    def _move_on(self, rng: random.Random, order: Order, epoch: int, *, forgotten: bool | None = None) -> None:
        """The order's life after it was placed, each step at its moment while that moment is before `until`."""
        if rng.random() < CANCELLED_SHARE:
            steps = [(OrderEventType.CANCELLED, int(rng.uniform(0.5, 6) * 3600))]
        elif order.fulfilment_type == SHIP_TO_HOME:
            steps = [(OrderEventType.SHIPPED, int(rng.uniform(0.3, 2) * DAY_SECONDS))]
        elif order.fulfilment_type == CLICK_AND_COLLECT:
            steps = [
                (OrderEventType.READY_FOR_PICKUP, int(rng.uniform(1, 8) * 3600)),
                (OrderEventType.COLLECTED, int(rng.uniform(0.3, 4) * DAY_SECONDS)),
            ]
        else:
            steps = [
                (OrderEventType.SHIPPED, int(rng.uniform(0.3, 1.5) * DAY_SECONDS)),
                (OrderEventType.READY_FOR_PICKUP, int(rng.uniform(1, 3) * DAY_SECONDS)),
                (OrderEventType.COLLECTED, int(rng.uniform(0.3, 4) * DAY_SECONDS)),
            ]
        if forgotten is None:  # a few recent pick-ups wait on the shelf: the overdue ones
            forgotten = self.until_epoch - epoch < 20 * DAY_SECONDS and rng.random() < 0.08
        if forgotten and steps[-1][0] == OrderEventType.COLLECTED:
            steps.pop()
        moment = epoch
        for event, delay in steps:
            moment += delay
            if moment >= self.until_epoch - 60:
                return
            with clock(_moment(moment)):
                order = orders.apply_event(order=order, event=event)
        handed = order.status == OrderStatus.COLLECTED or (
            order.status == OrderStatus.SHIPPED and order.fulfilment_type == SHIP_TO_HOME
        )
        if handed and order.customer_id is not None and self.until_epoch - moment < RETURN_WINDOW_SECONDS:
            self.handed_over.append((order.pk, moment, order.channel.code))

    def _address(self, rng: random.Random, customer_id: int | None) -> dict[str, str]:
        """A delivery address in the customer's city (the city of their home store)."""
        if customer_id is None:
            first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
            home = self.stores[_pick(rng, self.store_cumulative)]
        else:
            index = customer_id - self.first_customer_id
            first, last = FIRST_NAMES[self.customer_first[index]], LAST_NAMES[self.customer_last[index]]
            home = self.stores[self.customer_home[index]]
        return {
            "name": f"{first} {last}",
            "street": f"{rng.choice(STREETS)} {rng.randint(1, 180)}",
            "postcode": home.site.postcode,
            "city": home.site.city,
            "country": "IT",
        }
