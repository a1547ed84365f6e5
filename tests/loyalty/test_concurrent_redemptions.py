"""Two channels spending the same points at the same moment never overdraw the balance."""

import threading

from django.db import connection

from loyalty import services
from loyalty.models import LedgerEntry, LoyaltyAccount
from omni.errors import InsufficientPoints
from tests.factories import CustomerFactory


def test_ten_channels_redeeming_the_whole_balance_at_once_get_one_redemption(postgres):
    account = services.open_account(customer=CustomerFactory())
    services.earn(account=account, points=500)
    start = threading.Barrier(10)
    outcomes: list[str] = []

    def spend():
        try:
            start.wait(60)
            services.redeem(account=account, points=500, channel="web")
            outcomes.append("redeemed")
        except InsufficientPoints:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["redeemed"] + ["refused"] * 9
    assert LoyaltyAccount.objects.get(pk=account.pk).balance == 0
    assert LedgerEntry.objects.filter(kind="redeem").count() == 1
    assert services.recompute_balances() == []


def test_earning_and_redeeming_at_once_keep_the_ledger_exact(postgres):
    account = services.open_account(customer=CustomerFactory())
    services.earn(account=account, points=100)
    start = threading.Barrier(8)
    redeemed: list[int] = []

    def work(index: int):
        try:
            start.wait(60)
            if index % 2:
                services.earn(account=account, points=10)
            else:
                services.redeem(account=account, points=30)
                redeemed.append(30)
        except InsufficientPoints:
            pass
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert len(redeemed) >= 3  # 100 points cover three redemptions whatever the order
    assert LoyaltyAccount.objects.get(pk=account.pk).balance == 100 + 4 * 10 - sum(redeemed)
    assert LedgerEntry.objects.filter(kind="redeem").count() == len(redeemed)
    assert services.recompute_balances() == []
