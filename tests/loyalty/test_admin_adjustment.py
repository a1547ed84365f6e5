"""Staff adjust points from the admin: with a reason, and only with the permission."""

import pytest
from django.contrib.auth.models import Permission, User

from loyalty import services
from loyalty.models import LedgerEntry
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def account(db):
    account = services.open_account(customer=CustomerFactory())
    services.earn(account=account, points=100)
    return account


def clerk(client, *, may_adjust: bool):
    user = User.objects.create_user("clerk", password="pw-Secret-1", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_loyaltyaccount"))
    if may_adjust:
        user.user_permissions.add(Permission.objects.get(codename="adjust_points"))
    client.force_login(user)
    return user


def test_an_adjustment_with_a_reason_is_written_to_the_ledger_with_who_made_it(client, account):
    user = clerk(client, may_adjust=True)
    url = f"/admin/loyalty/loyaltyaccount/{account.pk}/adjust/"
    response = client.post(url, {"points": "-30", "reason": "Punti accreditati due volte"})
    assert response.status_code == 302
    entry = LedgerEntry.objects.get(kind="adjust")
    assert (entry.points, entry.user, entry.reason) == (-30, user, "Punti accreditati due volte")
    account.refresh_from_db()
    assert account.balance == 70


def test_an_adjustment_without_a_reason_or_beyond_the_balance_writes_nothing(client, account):
    clerk(client, may_adjust=True)
    url = f"/admin/loyalty/loyaltyaccount/{account.pk}/adjust/"
    assert client.post(url, {"points": "10", "reason": ""}).status_code == 200
    assert client.post(url, {"points": "-500", "reason": "too many"}).status_code == 200
    assert not LedgerEntry.objects.filter(kind="adjust").exists()


def test_staff_without_the_permission_cannot_adjust(client, account):
    clerk(client, may_adjust=False)
    response = client.post(f"/admin/loyalty/loyaltyaccount/{account.pk}/adjust/", {"points": "5", "reason": "x"})
    assert response.status_code == 403
    assert not LedgerEntry.objects.filter(kind="adjust").exists()
