"""Store credit: refunds kept as money, spendable on every channel, never spent twice."""

from decimal import Decimal

import pytest

from customers import services as customer_services
from loyalty import store_credit
from loyalty.models import StoreCreditBalance
from omni.orders.models import Order
from tests.factories import CustomerFactory, IdentifierFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db
URL = "/api/v1/orders/"


def web_order(customer, payments, **changes) -> dict:
    return {
        "channel": "web",
        "customer": customer.pk,
        "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
        "fulfilment": {"type": "click_and_collect", "pickup_location": "MI01"},
        "payments": payments,
        **changes,
    }


def credit_of(customer) -> Decimal:
    return StoreCreditBalance.objects.get(customer=customer).balance


def test_store_credit_pays_part_of_an_order_on_another_channel(api, network):
    customer = CustomerFactory()
    store_credit.issue(customer=customer, amount=Decimal("25.00"), reference="RMA-1")
    stock(network["milano"], network["shirt"], 1)
    payments = [{"tender": "store_credit", "amount": "25.00"}, {"tender": "card", "amount": "14.90"}]
    response = api.post(URL, web_order(customer, payments), format="json")
    assert response.status_code == 201, response.json()
    assert credit_of(customer) == Decimal("0.00")
    assert api.get(f"/api/v1/customers/{customer.pk}/").json()["store_credit"] == "0.00"


def test_more_credit_than_the_customer_has_is_a_409_and_writes_nothing(api, network):
    customer = CustomerFactory()
    store_credit.issue(customer=customer, amount=Decimal("10.00"))
    stock(network["milano"], network["shirt"], 1)
    response = api.post(URL, web_order(customer, [{"tender": "store_credit", "amount": "39.90"}]), format="json")
    assert response.status_code == 409
    assert response.json()["code"] == "insufficient_store_credit"
    assert not Order.objects.exists()
    assert credit_of(customer) == Decimal("10.00")


def test_a_cancelled_order_gives_the_credit_back(api, network):
    customer = CustomerFactory()
    store_credit.issue(customer=customer, amount=Decimal("50.00"))
    stock(network["milano"], network["shirt"], 1)
    order = api.post(URL, web_order(customer, [{"tender": "store_credit", "amount": "39.90"}]), format="json").json()
    assert credit_of(customer) == Decimal("10.10")
    api.post(f"{URL}{order['number']}/events/", {"type": "cancelled"}, format="json")
    assert credit_of(customer) == Decimal("50.00")
    assert store_credit.differences() == []


def test_merged_customers_keep_the_sum_of_their_credit():
    older, newer = CustomerFactory(), CustomerFactory()
    IdentifierFactory(customer=older, kind="email", value=older.email)
    IdentifierFactory(customer=newer, kind="email", value=newer.email)
    store_credit.issue(customer=older, amount=Decimal("5.00"))
    store_credit.issue(customer=newer, amount=Decimal("7.50"))
    result = customer_services.identify(
        identifiers=[{"kind": "email", "value": older.email}, {"kind": "email", "value": newer.email}]
    )
    assert result.customer == older
    assert credit_of(older) == Decimal("12.50")
    assert store_credit.differences() == []
