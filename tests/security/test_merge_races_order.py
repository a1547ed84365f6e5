"""A customer merged while an order of theirs is being recorded ends in one consistent state.

The till records a sale for customer B at the very moment B is merged into A
(the same person, recognised by an e-mail). Whichever commits first, the
order must end on A, the points it earned must be on A's balance once, and
nothing may be left on B.
"""

import threading
from decimal import Decimal

from django.db import connection
from django.db.models import Sum

from customers import services as customers
from customers.models import Customer
from inventory import services as inventory
from loyalty import services as loyalty
from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, PointsLot
from loyalty.pricing import LineIn
from omni.actor import SYSTEM
from omni.orders import services as orders
from omni.orders.models import Order
from tests.factories import CustomerFactory, LocationFactory, VariantFactory, channel

ROUNDS = 10


def race_once(store, shirt) -> None:
    survivor, merged = CustomerFactory(), CustomerFactory()
    mine = loyalty.open_account(customer=survivor)
    theirs = loyalty.open_account(customer=merged)
    loyalty.adjust(account=mine, points=100, reason="welcome", actor=SYSTEM)
    loyalty.adjust(account=theirs, points=50, reason="welcome", actor=SYSTEM)
    start = threading.Barrier(2)
    failures: list[BaseException] = []
    placed: list[Order] = []

    def merge():
        try:
            a, b = Customer.objects.get(pk=survivor.pk), Customer.objects.get(pk=merged.pk)
            start.wait(20)
            customers.merge_customers(survivor=a, merged=b)
        except BaseException as error:  # reported by the assertion below, not lost in the thread
            failures.append(error)
        finally:
            connection.close()

    def sell():
        try:
            b = Customer.objects.get(pk=merged.pk)  # as the till read it, before the merge
            till = channel("store")
            start.wait(20)
            placed.append(
                orders.record_order(
                    channel=till,
                    location=store,
                    customer=b,
                    lines=[LineIn(shirt.sku, 1)],
                    payments=[orders.PaymentIn("card", Decimal("39.90"))],
                )
            )
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=merge), threading.Thread(target=sell)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert failures == []

    order = Order.objects.get(pk=placed[0].pk)
    assert order.points_earned > 0
    assert order.customer_id == survivor.pk
    assert not Order.objects.filter(customer=merged).exists()
    assert not LoyaltyAccount.objects.filter(customer=merged).exists()

    account = LoyaltyAccount.objects.get(customer=survivor)
    ledger = LedgerEntry.objects.filter(account=account).aggregate(points=Sum("points"))["points"]
    lots = PointsLot.objects.filter(account=account).aggregate(remaining=Sum("remaining"))["remaining"]
    assert account.balance == ledger == lots == 100 + 50 + order.points_earned
    assert LedgerEntry.objects.filter(order=order, kind=EntryKind.EARN).count() == 1
    assert not LedgerEntry.objects.exclude(account__customer=survivor).filter(account__customer=merged).exists()
    assert Customer.objects.get(pk=merged.pk).merged_into_id == survivor.pk


def test_a_merge_racing_an_order_leaves_the_order_and_its_points_on_the_survivor_once(postgres):
    store = LocationFactory(code="MI-MERGE")
    shirt = VariantFactory(sku="MERGE-SHIRT", price=Decimal("39.90"))
    inventory.count(location=store, variant=shirt, on_hand=ROUNDS, reason="test count")
    for _round in range(ROUNDS):
        race_once(store, shirt)
    assert loyalty.recompute_balances() == []
