import pytest

from loyalty import services
from tests.factories import CustomerFactory


@pytest.fixture
def account(db):
    """A customer's account with card 0420000000017."""
    account = services.open_account(customer=CustomerFactory())
    services.add_card(account=account, number="0420000000017")
    return account


def balance_of(account) -> int:
    account.refresh_from_db()
    return account.balance
