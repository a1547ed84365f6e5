"""Earning is one statement on PostgreSQL, and the settlement it computes in SQL is the rule of settle_earning."""

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import services
from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount, PointsLot
from loyalty.pricing import programme
from tests.factories import CustomerFactory


@pytest.mark.django_db
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    figures=st.one_of(
        st.tuples(st.integers(0, 10**6), st.integers(0, 10**6)),
        # a debt about the size of the earning: where "pay it all off" turns into "pay off what comes in"
        st.integers(0, 1000).flatmap(
            lambda points: st.tuples(st.integers(max(points - 2, 0), points + 2), st.just(points))
        ),
    )
)
def test_the_sql_form_of_the_settlement_credits_and_pays_off_what_the_python_form_does(figures):
    debt, points = figures
    credit, paid_off = services.settle_earning_sql(debt="given.debt", points="given.points")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {credit}, {paid_off} FROM "
            "(SELECT CAST(%s AS integer) AS debt, CAST(%s AS integer) AS points) given",
            [debt, points],
        )
        in_sql = tuple(cursor.fetchone())
    assert in_sql == services.settle_earning(debt=debt, points=points)[:2]


@pytest.mark.postgres_only("data-modifying CTEs: SQLite runs the same pieces one by one")
@pytest.mark.django_db
def test_an_earning_into_an_existing_lot_is_one_statement_on_postgresql():
    account = services.open_account(customer=CustomerFactory())
    services.earn(account=account, points=10)  # today's lot exists: the next earning grows it
    terms = programme()  # read by the caller, as an order does

    with CaptureQueriesContext(connection) as statements:
        entry = services.earn(account=account, points=5, settings=terms)

    assert len(statements.captured_queries) == 1
    account.refresh_from_db()
    assert (entry.points, entry.balance_after, account.balance) == (5, 15, 15)
    assert list(PointsLot.objects.filter(account=account).values_list("points", "remaining")) == [(15, 15)]


@pytest.mark.django_db
def test_an_earning_after_a_reversal_pays_the_debt_first_and_credits_the_rest_into_the_lot():
    account = services.open_account(customer=CustomerFactory())
    services.earn(account=account, points=40)
    services.redeem(account=account, points=40)
    services.reverse(account=account, points=40, reference="R-1")  # spent already: 40 owed

    entry = services.earn(account=account, points=100, kind=EntryKind.ADJUST, reason="goodwill")

    account.refresh_from_db()
    assert (entry.points, entry.debt_change, entry.balance_after) == (60, -40, 60)
    assert (account.balance, account.debt, account.lifetime_points) == (60, 0, 0)
    assert LedgerEntry.objects.get(pk=entry.pk).reason == "goodwill"
    assert sum(PointsLot.objects.filter(account=account).values_list("remaining", flat=True)) == 60
    assert services.recompute_balances() == []


def test_earnings_at_once_on_an_account_in_debt_pay_it_off_exactly_once(postgres):
    account = services.open_account(customer=CustomerFactory())
    services.earn(account=account, points=100)
    services.redeem(account=account, points=100)
    services.reverse(account=account, points=100, reference="R-1")  # 100 owed
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def work():
        try:
            start.wait(60)
            services.earn(account=account, points=30)
        except BaseException as error:
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert failures == []
    account = LoyaltyAccount.objects.get(pk=account.pk)
    assert (account.balance, account.debt) == (8 * 30 - 100, 0)
    earnings = LedgerEntry.objects.filter(account=account, kind=EntryKind.EARN)
    assert sum(earnings.values_list("debt_change", flat=True)) == -100
    assert sum(PointsLot.objects.filter(account=account).values_list("remaining", flat=True)) == 8 * 30 - 100
    assert services.recompute_balances() == []


@pytest.mark.django_db
def test_opening_an_account_is_one_insert_without_a_savepoint_and_the_next_call_finds_it():
    customer = CustomerFactory()

    with CaptureQueriesContext(connection) as statements:
        account = services.open_account(customer=customer)

    assert [q["sql"].split()[0] for q in statements.captured_queries] == ["SELECT", "INSERT"]
    assert services.open_account(customer=customer).pk == account.pk
    assert LoyaltyAccount.objects.filter(customer=customer).count() == 1
    assert (account.balance, account.debt, account.tier) == (0, 0, None)
