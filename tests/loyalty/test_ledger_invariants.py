"""Whatever mix of movements happens, the balance is what the ledger and the lots say."""

from datetime import timedelta

import pytest
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from loyalty import services
from loyalty.models import LoyaltyAccount
from omni.errors import InsufficientPoints
from tests.factories import CustomerFactory

moves = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 500), st.integers(0, 900)),
        st.tuples(st.just("redeem"), st.integers(1, 500), st.just(0)),
        st.tuples(st.just("reverse"), st.integers(1, 500), st.just(0)),
        st.tuples(st.just("adjust"), st.integers(-300, 300).filter(bool), st.just(0)),
        st.tuples(st.just("expire"), st.just(0), st.just(0)),
    ),
    min_size=1,
    max_size=25,
)


@pytest.mark.django_db
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(moves=moves)
def test_any_mix_of_movements_keeps_balance_ledger_and_lots_in_step(moves):
    account = services.open_account(customer=CustomerFactory())
    now = timezone.now()
    for kind, points, age_days in moves:
        try:
            if kind == "earn":
                services.earn(account=account, points=points, at=now - timedelta(days=age_days))
            elif kind == "redeem":
                services.redeem(account=account, points=points)
            elif kind == "reverse":
                services.reverse(account=account, points=points, reference="test")
            elif kind == "adjust":
                services.adjust(account=account, points=points, reason="test", actor=services.SYSTEM)
            else:
                services.expire_due()
        except InsufficientPoints:
            pass
        account.refresh_from_db()
        assert account.balance >= 0 and account.debt >= 0
    assert [d for d in services.recompute_balances() if d.account_id == account.pk] == []
    LoyaltyAccount.objects.filter(pk=account.pk).update(balance=account.balance)
