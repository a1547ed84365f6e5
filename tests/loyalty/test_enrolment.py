"""Enrolment at the counter: customer, card and consents in one form, all or nothing."""

import pytest
from django.contrib.auth.models import Group, User
from django.utils import translation

from customers.models import ConsentChange, Customer, Identifier
from loyalty.models import Card, LoyaltyAccount
from omni.catalog.models import StaffAssignment
from omni.roles import setup_roles
from tests.factories import CustomerFactory, IdentifierFactory, LocationFactory

pytestmark = pytest.mark.django_db
URL = "/admin/loyalty/loyaltyaccount/enrol/"


@pytest.fixture
def milano(db):
    setup_roles()
    return LocationFactory(code="MI01", name="Milano Duomo")


@pytest.fixture
def clerk(client, milano):
    user = User.objects.create_user("negozio", password="pw-Secret-1", is_staff=True)
    user.groups.set(Group.objects.filter(name="Store staff"))
    StaffAssignment.objects.create(user=user, location=milano)
    client.force_login(user)
    return user


def form(milano, **changes) -> dict:
    data = {
        "store": milano.pk,
        "first_name": "Marco",
        "last_name": "Verdi",
        "card": "0420000999001",
        "email": "marco.verdi@example.it",
        "phone": "333 765 4321",
        "consent_marketing_email": "on",
        "consent_profiling": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def nothing_written() -> bool:
    return not (Customer.objects.exists() or Card.objects.exists() or ConsentChange.objects.exists())


def test_a_clerk_enrols_a_customer_with_card_and_consents_in_one_form(client, clerk, milano):
    response = client.post(URL, form(milano), HTTP_ACCEPT_LANGUAGE="it")
    customer = Customer.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/customers/customer/{customer.pk}/change/"
    assert (customer.first_name, customer.last_name, customer.email, customer.phone) == (
        "Marco",
        "Verdi",
        "marco.verdi@example.it",
        "+393337654321",
    )
    card = Card.objects.get()
    assert card.number == "0420000999001" and card.account == LoyaltyAccount.objects.get(customer=customer)
    assert set(Identifier.objects.filter(customer=customer).values_list("kind", flat=True)) == {
        "card",
        "email",
        "phone",
    }
    consents = {c.purpose: c for c in ConsentChange.objects.filter(customer=customer)}
    assert {p: c.is_granted for p, c in consents.items()} == {
        "marketing_email": True,
        "marketing_sms": False,
        "profiling": True,
    }
    assert {c.channel for c in consents.values()} == {"store"}
    assert {c.source for c in consents.values()} == {"counter MI01"}
    assert {c.user for c in consents.values()} == {clerk}
    with translation.override("it"):
        from customers.models import CONSENT_WORDING

        assert consents["marketing_email"].wording == str(CONSENT_WORDING["marketing_email"])
    assert consents["marketing_email"].wording.startswith("Voglio ricevere")  # the Italian text shown


@pytest.mark.parametrize(
    "changes",
    [
        {"first_name": ""},
        {"card": ""},
        {"email": "not-an-address"},
        {"phone": "12"},
        {"store": "999999"},
    ],
)
def test_a_bad_input_writes_nothing_and_says_why_in_italian(client, clerk, milano, changes):
    response = client.post(URL, form(milano, **changes), HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 200
    assert response.context["form"].errors
    assert nothing_written()


def test_a_card_already_issued_is_refused_and_links_its_customer(client, clerk, milano):
    from loyalty import services

    owner = CustomerFactory()
    services.add_card(account=services.open_account(customer=owner), number="0420000999001")
    response = client.post(URL, form(milano), HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 200
    assert f"/admin/customers/customer/{owner.pk}/change/" in response.content.decode()
    assert Customer.objects.count() == 1 and not ConsentChange.objects.exists()


def test_an_email_already_known_is_refused_and_nothing_is_written(client, clerk, milano):
    owner = IdentifierFactory(kind="email", value="marco.verdi@example.it").customer
    response = client.post(URL, form(milano), HTTP_ACCEPT_LANGUAGE="it")
    assert f"/admin/customers/customer/{owner.pk}/change/" in response.content.decode()
    assert Customer.objects.count() == 1 and not Card.objects.exists() and not ConsentChange.objects.exists()


def test_a_failure_after_the_customer_is_created_rolls_everything_back(client, clerk, milano, monkeypatch):
    from customers import services as customers
    from omni.errors import Invalid

    def refuse(**kwargs):
        raise Invalid("consents refused")

    monkeypatch.setattr(customers, "set_consents", refuse)
    response = client.post(URL, form(milano), HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 200
    assert nothing_written() and not LoyaltyAccount.objects.exists()


def test_a_search_that_finds_nobody_offers_enrolment_prefilled(client, clerk, milano):
    page = client.get("/admin/customers/customer/?q=nuovo%40example.it", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert 'id="enrol-link"' in page and f"{URL}?q=nuovo%40example.it" in page
    prefilled = client.get(f"{URL}?q=nuovo%40example.it").context["form"]
    assert prefilled["email"].value() == "nuovo@example.it"
    assert prefilled["store"].value() == milano.pk


def test_staff_without_the_permissions_cannot_enrol(client, milano):
    user = User.objects.create_user("logistica", password="pw-Secret-1", is_staff=True)
    user.groups.set(Group.objects.filter(name="Logistics"))
    client.force_login(user)
    assert client.get(URL).status_code == 403
    assert client.post(URL, form(milano)).status_code == 403
    assert nothing_written()
