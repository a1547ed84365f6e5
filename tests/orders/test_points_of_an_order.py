"""An order's points read as they were applied: its redeem, then its earn; a cancelled order's earn leaves
the points earned in the account's lifetime."""

import pytest

from loyalty import services as loyalty
from loyalty.models import LoyaltyAccount
from tests.factories import CustomerFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db

CARD = "0420000000017"


@pytest.fixture
def member(network):
    customer = CustomerFactory()
    account = loyalty.open_account(customer=customer)
    loyalty.add_card(account=account, number=CARD)
    loyalty.earn(account=account, points=1000)
    stock(network["milano"], network["shirt"], 3)
    return customer


def order_paid_partly_with_points(api, customer, **changes):
    body = {
        "channel": "web",
        "customer": customer.pk,
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": {"type": "click_and_collect", "pickup_location": "MI01"},
        "points_to_redeem": 990,
        "payments": [{"tender": "card", "amount": "30.00"}],
        **changes,
    }
    response = api.post("/api/v1/orders/", body, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def test_the_ledger_newest_first_agrees_with_each_entrys_balance_after(api, member):
    order_paid_partly_with_points(api, member)
    entries = api.get(f"/api/v1/loyalty/accounts/{CARD}/ledger/").json()["results"]
    assert [e["kind"] for e in entries] == ["earn", "redeem", "earn"]
    balance = api.get(f"/api/v1/loyalty/accounts/{CARD}/").json()["balance"]
    assert entries[0]["balance_after"] == balance == 1000 - 990 + 30
    for newer, older in zip(entries, entries[1:], strict=False):
        assert newer["balance_after"] - newer["points"] == older["balance_after"], entries


def test_cancelling_an_order_takes_its_points_out_of_the_lifetime_points(api, member):
    account = LoyaltyAccount.objects.get(customer=member)
    before = account.lifetime_points
    order = order_paid_partly_with_points(api, member)
    account.refresh_from_db()
    assert account.lifetime_points == before + order["points_earned"]
    response = api.post(f"/api/v1/orders/{order['number']}/events/", {"type": "cancelled"}, format="json")
    assert response.status_code == 200, response.json()
    account.refresh_from_db()
    assert (account.lifetime_points, account.balance) == (before, 1000)
