"""seed_demo runs that need an empty database each: the same seed writes the same rows, --scale, bad options."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from customers.models import Customer
from omni.catalog.models import Location
from omni.orders.models import Order, OrderLine
from tests.omni.test_seed_demo import UNTIL, run_and_roll_back, seed

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def test_the_same_seed_writes_the_same_rows_and_another_seed_other_rows():
    first = run_and_roll_back(seed=11)
    assert run_and_roll_back(seed=11) == first
    assert run_and_roll_back(seed=12) != first


def test_scale_multiplies_customers_and_orders_but_not_stores():
    def counts(scale: float) -> tuple[int, int, int]:
        with transaction.atomic():
            seed(scale=scale)
            found = (
                Order.objects.filter(channel__code="store").count(),
                Customer.objects.count(),
                Location.objects.count(),
            )
            transaction.set_rollback(True)
        return found

    small, large = counts(0.02), counts(0.04)

    assert 1.6 < large[0] / small[0] < 2.2
    assert 1.8 < large[1] / small[1] < 2.2
    assert large[2] == small[2]


def test_verbosity_zero_is_silent():
    assert seed(verbosity=0) == ""
    assert Order.objects.exists()


@pytest.mark.postgres_only("the keys and indexes are dropped for COPY on PostgreSQL only")
def test_postgresql_gets_back_every_key_and_index_dropped_for_the_load():
    count_sql = (
        "SELECT (SELECT count(*) FROM pg_constraint WHERE contype = 'f'), "
        "(SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid "
        "WHERE c.relnamespace = 'public'::regnamespace)"
    )
    with connection.cursor() as cursor:
        cursor.execute(count_sql)
        before = cursor.fetchone()
    seed()
    with connection.cursor() as cursor:
        cursor.execute(count_sql)
        assert cursor.fetchone() == before


@pytest.mark.postgres_only("planner statistics and parallel plans are PostgreSQL's")
def test_postgresql_plans_the_year_on_its_own_rows_and_without_parallel_workers():
    """The demo writes its year in one transaction, which autovacuum cannot see: it analyzes the tables itself
    each month. And a parallel query there keeps a copy of every savepoint's id until the transaction ends,
    so the demo runs none."""

    def planned() -> dict[str, float]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT relname, reltuples FROM pg_class WHERE relname IN ('orders_order', 'orders_orderline')"
            )
            return dict(cursor.fetchall())

    def workers() -> str:
        with connection.cursor() as cursor:
            cursor.execute("SHOW max_parallel_workers_per_gather")
            return cursor.fetchone()[0]

    with transaction.atomic():
        with connection.cursor() as cursor:  # what autovacuum could have left from earlier tests is forgotten
            cursor.execute("ANALYZE orders_order, orders_orderline")
        assert set(planned().values()) == {0}
        assert workers() != "0"

        seed()

        rows = planned()
        # Analyzed on the last month's first day: the orders and lines written up to then.
        assert rows["orders_order"] >= 0.8 * Order.objects.count()
        assert rows["orders_orderline"] >= 0.8 * OrderLine.objects.count()
        assert workers() == "0"  # for the rest of the seeding transaction
        transaction.set_rollback(True)


@pytest.mark.parametrize("options", [{"scale": 0}, {"scale": -1}, {"until": "yesterday"}])
def test_bad_options_are_refused(options):
    arguments = {"scale": 0.02, "seed": 1, "until": UNTIL, **options}
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=io.StringIO(), **arguments)
    assert not Location.objects.exists()


def test_a_week_of_till_sales_asking_more_points_than_an_account_holds_is_recorded_with_fewer(monkeypatch):
    """The demo counts each customer's points as its orders leave them, and at a large scale that count ran
    ahead of the account (a cancelled order takes back what it earned; earnings pay a debt first): a week's
    receipts then asked for more points than an account held, and record_orders refused the whole week. Here
    the count is made to run ahead on purpose; the week is recorded with what each account holds."""
    from loyalty.models import LedgerEntry, LoyaltyAccount
    from omni.demo.sales import SalesStory

    asked = []
    planned = SalesStory._points_to_pay_with

    def overcounting(self, rng, customer_id, gross_cents):
        if customer_id is not None:
            self.points[customer_id] = self.points.get(customer_id, 0) + 5_000  # more than any account holds
        points = planned(self, rng, customer_id, gross_cents)
        asked.append(points)
        return points

    monkeypatch.setattr(SalesStory, "_points_to_pay_with", overcounting)
    with transaction.atomic():
        seed()
        assert sum(asked) > 0
        assert not LoyaltyAccount.objects.filter(balance__lt=0).exists()
        redeemed = -sum(LedgerEntry.objects.filter(kind="redeem").values_list("points", flat=True))
        assert 0 < redeemed < sum(asked)  # some points were spent, fewer than asked
        for account in LoyaltyAccount.objects.all()[:200]:  # the ledger still explains every balance
            assert account.balance == sum(account.entries.values_list("points", flat=True)), account.pk
        transaction.set_rollback(True)
