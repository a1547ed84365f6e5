"""The loyalty card number has one home, the card; the customer's `card` identifier follows it."""

import pytest

from customers import services as customer_services
from customers.models import Identifier
from loyalty import services
from loyalty.models import Card
from loyalty.selectors import account_by_card
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def cards_and_identifiers(customer):
    active = sorted(Card.objects.filter(account__customer=customer, is_active=True).values_list("number", flat=True))
    named = sorted(Identifier.objects.filter(customer=customer, kind="card").values_list("value", flat=True))
    return active, named


def test_a_replaced_card_moves_the_identifier_so_the_new_card_finds_the_customer_and_the_lost_one_nobody():
    customer = customer_services.identify(identifiers=[{"kind": "card", "value": "0420000000017"}]).customer
    account = services.open_account(customer=customer)
    services.earn(account=account, points=30)

    services.replace_card(account=account, lost="0420000000017", new="0420000000555")

    assert cards_and_identifiers(customer) == (["0420000000555"], ["0420000000555"])
    found = customer_services.identify(identifiers=[{"kind": "card", "value": "0420000000555"}])
    assert found.customer.pk == customer.pk and not found.created
    assert not Identifier.objects.filter(kind="card", value="0420000000017").exists()
    assert account_by_card("0420000000017") is None  # the lost card identifies nobody


def test_a_card_given_in_the_admin_becomes_the_customers_identifier_too():
    customer = CustomerFactory()
    services.add_card(account=services.open_account(customer=customer), number="0420000000777")
    assert cards_and_identifiers(customer) == (["0420000000777"], ["0420000000777"])


def test_a_card_number_another_customer_is_known_by_is_refused_and_nothing_changes():
    other = customer_services.identify(identifiers=[{"kind": "card", "value": "0420000000888"}]).customer
    Card.objects.filter(number="0420000000888").delete()  # an identifier without its card: the older data
    customer = customer_services.identify(identifiers=[{"kind": "card", "value": "0420000000017"}]).customer
    account = services.open_account(customer=customer)
    with pytest.raises(services.CardTaken):
        services.replace_card(account=account, lost="0420000000017", new="0420000000888")
    assert cards_and_identifiers(customer) == (["0420000000017"], ["0420000000017"])
    assert Identifier.objects.get(value="0420000000888").customer_id == other.pk
