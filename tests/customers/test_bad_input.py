"""Bad input answers 400 or 409 with a code, and writes nothing."""

import pytest

from customers import services
from customers.models import ConsentChange, Customer, CustomerMerge, Identifier
from omni.errors import MergeNotAllowed
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/identify/"


def nothing_written():
    return not (Customer.objects.exists() or Identifier.objects.exists() or CustomerMerge.objects.exists())


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "identifiers"),
        ({"identifiers": []}, "identifiers"),
        ({"identifiers": "anna@example.it"}, "identifiers"),
        ({"identifiers": [{"kind": "fax", "value": "02 123"}]}, "identifiers.0.kind"),
        ({"identifiers": [{"kind": "email", "value": ""}]}, "identifiers.0.value"),
        ({"identifiers": [{"kind": "email", "value": "anna-at-example.it"}]}, "identifiers.0.value"),
        (
            {"identifiers": [{"kind": "device", "value": "d"}, {"kind": "phone", "value": "12ab"}]},
            "identifiers.1.value",
        ),
        ({"identifiers": [{"kind": "device", "value": "d", "verified": "perhaps"}]}, "identifiers.0.verified"),
        ({"identifiers": [{"kind": "device", "value": "d"}], "profile": {"email": "nope"}}, "profile.email"),
        (
            {"identifiers": [{"kind": "device", "value": "d"}], "profile": {"birth_date": "yesterday"}},
            "profile.birth_date",
        ),
    ],
)
def test_a_bad_identify_call_answers_400_naming_the_field_and_writes_nothing(api, body, field):
    response = api.post(URL, body, format="json")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert field in response.json()["errors"]
    assert nothing_written()


def test_a_customer_cannot_be_merged_into_itself():
    customer = CustomerFactory()
    with pytest.raises(MergeNotAllowed) as refused:
        services.merge_customers(survivor=customer, merged=customer)
    assert refused.value.code == "merge_not_allowed"
    assert not CustomerMerge.objects.exists()


def test_a_customer_already_merged_cannot_be_merged_again():
    survivor, merged, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    services.merge_customers(survivor=survivor, merged=merged)
    with pytest.raises(MergeNotAllowed):
        services.merge_customers(survivor=third, merged=merged)
    assert CustomerMerge.objects.count() == 1


def test_consents_for_an_erased_customer_answer_409_and_write_nothing(api):
    customer = CustomerFactory()
    api.post(f"/api/v1/customers/{customer.pk}/erase/")
    response = api.put(
        f"/api/v1/customers/{customer.pk}/consents/", {"marketing_email": True, "source_channel": "web"}, format="json"
    )
    assert response.status_code == 409
    assert response.json()["code"] == "customer_erased"
    assert not ConsentChange.objects.filter(is_granted=True).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"source_channel": "web"}, "non_field_errors"),
        ({"marketing_email": True}, "source_channel"),
        ({"marketing_email": True, "source_channel": "fax"}, "source_channel"),
        ({"marketing_email": "sometimes", "source_channel": "web"}, "marketing_email"),
    ],
)
def test_bad_consents_answer_400_and_write_nothing(api, body, field):
    customer = CustomerFactory()
    response = api.put(f"/api/v1/customers/{customer.pk}/consents/", body, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert not ConsentChange.objects.exists()


def test_a_bad_phone_in_a_profile_patch_answers_400_and_changes_nothing(api):
    customer = CustomerFactory(phone="")
    response = api.patch(f"/api/v1/customers/{customer.pk}/", {"phone": "call me"}, format="json")
    assert response.status_code == 400
    assert "phone" in response.json()["errors"]
    customer.refresh_from_db()
    assert customer.phone == ""


def test_an_unknown_customer_is_a_404(api):
    response = api.get("/api/v1/customers/999999/")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_the_customers_endpoints_need_the_customers_scope(make_api_client):
    other = make_api_client(["catalog"])
    assert other.post(URL, {"identifiers": [{"kind": "device", "value": "d"}]}, format="json").status_code == 403
    assert nothing_written()
