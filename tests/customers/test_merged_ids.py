"""A merged-away id keeps answering: 301 to the surviving customer, following chains."""

import pytest

from customers import services
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def test_a_merged_id_answers_301_with_the_survivors_address(api):
    survivor, merged = CustomerFactory(), CustomerFactory()
    services.merge_customers(survivor=survivor, merged=merged)

    response = api.get(f"/api/v1/customers/{merged.pk}/")

    assert response.status_code == 301
    assert response["Location"].endswith(f"/api/v1/customers/{survivor.pk}/")
    assert response.json()["customer"] == survivor.pk


def test_the_redirect_keeps_the_sub_resource_and_the_query(api):
    survivor, merged = CustomerFactory(), CustomerFactory()
    services.merge_customers(survivor=survivor, merged=merged)
    response = api.get(f"/api/v1/customers/{merged.pk}/timeline/", {"page_size": 5})
    assert response.status_code == 301
    assert response["Location"].endswith(f"/api/v1/customers/{survivor.pk}/timeline/?page_size=5")


def test_a_chain_of_merges_answers_with_the_last_survivor(api):
    first, second, third = CustomerFactory(), CustomerFactory(), CustomerFactory()
    services.merge_customers(survivor=second, merged=third)
    services.merge_customers(survivor=first, merged=second)
    response = api.get(f"/api/v1/customers/{third.pk}/")
    assert response.status_code == 301
    assert response["Location"].endswith(f"/api/v1/customers/{first.pk}/")


def test_following_the_redirect_lands_on_the_survivor(api):
    survivor, merged = CustomerFactory(first_name="Anna"), CustomerFactory()
    services.merge_customers(survivor=survivor, merged=merged)
    response = api.get(f"/api/v1/customers/{merged.pk}/", follow=True)
    assert response.status_code == 200
    assert response.json()["id"] == survivor.pk


def test_a_write_to_a_merged_id_is_redirected_with_308_and_changes_nothing(api):
    survivor, merged = CustomerFactory(), CustomerFactory()
    services.merge_customers(survivor=survivor, merged=merged)
    response = api.patch(f"/api/v1/customers/{merged.pk}/", {"first_name": "X"}, format="json")
    assert response.status_code == 308
    assert response["Location"].endswith(f"/api/v1/customers/{survivor.pk}/")
    survivor.refresh_from_db()
    assert survivor.first_name != "X"
