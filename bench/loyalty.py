"""A balance read costs the same at 10 and at 1,000,000 ledger rows."""

from __future__ import annotations

from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from bench.client import api_client
from bench.harness import Result, measure_pair, timed_result
from customers.models import Customer
from loyalty import services
from loyalty.models import LedgerEntry, LoyaltyAccount, PointsLot

SMALL, LARGE = 10, 1_000_000
# The history is spread over the two years points stay valid: about 1,370 lots a day, all still open.
SPREAD_SECONDS = 730 * 86400


def account_with_history(card: str, entries: int) -> LoyaltyAccount:
    """An account with `entries` earn entries of one point, and their open lots: one per day, lapsing at
    the end of a day, as `earn` keeps them (bulk SQL on PostgreSQL)."""
    with transaction.atomic():
        customer = Customer.objects.create(first_name="Bench", last_name=card)
        account = services.open_account(customer=customer)
        services.add_card(account=account, number=card)
        now = timezone.now()
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "INSERT INTO loyalty_ledgerentry (account_id, kind, points, debt_change, balance_after, spend, "
                    "reference, channel, reason, created_at) "
                    "SELECT %s, 'earn', 1, 0, g, 1, '', 'web', '', %s - make_interval(secs => (%s - g) * %s) "
                    "FROM generate_series(1, %s) AS g",
                    [account.pk, now, entries, SPREAD_SECONDS / entries, entries],
                )
                cursor.execute(
                    "INSERT INTO loyalty_pointslot (account_id, entry_id, points, remaining, earned_at, expires_at) "
                    "SELECT account_id, MIN(id), COUNT(*), COUNT(*), MIN(created_at), "
                    "date_trunc('day', created_at) + interval '731 days' - interval '1 microsecond' "
                    "FROM loyalty_ledgerentry WHERE account_id = %s GROUP BY account_id, date_trunc('day', created_at)",
                    [account.pk],
                )
        else:
            made = LedgerEntry.objects.bulk_create(
                [
                    LedgerEntry(account=account, kind="earn", points=1, balance_after=i + 1, spend=1, channel="web")
                    for i in range(entries)
                ],
                batch_size=2000,
            )
            PointsLot.objects.create(
                account=account,
                entry=made[0],
                points=entries,
                remaining=entries,
                earned_at=now,
                expires_at=now + timedelta(days=730),
            )
        LoyaltyAccount.objects.filter(pk=account.pk).update(balance=entries, lifetime_points=entries)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE loyalty_ledgerentry; ANALYZE loyalty_pointslot; ANALYZE loyalty_loyaltyaccount")
    return account


def run(*, repeat: int, smoke: bool) -> list[Result]:
    large = 1_000 if smoke else LARGE
    client = api_client()
    small_card, large_card = "BENCH-SMALL", "BENCH-LARGE"
    if not LoyaltyAccount.objects.filter(cards__number=small_card).exists():
        account_with_history(small_card, SMALL)
    if not LoyaltyAccount.objects.filter(cards__number=large_card).exists():
        account_with_history(large_card, large)

    def read(card: str):
        def call():
            response = client.get(f"/api/v1/loyalty/accounts/{card}/")
            assert response.status_code == 200, response.content

        return call

    return [
        timed_result(
            f"loyalty balance read, {large:,} ledger rows (API)",
            *measure_pair(read(large_card), read(small_card), repeat=repeat),
            f"the same read at {SMALL} ledger rows",
            target="within 10% (ratio <= 1.10)",
        )
    ]
