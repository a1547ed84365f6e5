"""PUT /api/v1/customers/{id}/consents/: every change kept; the current state is the latest change."""

from datetime import timedelta

import pytest
from django.utils import timezone

from customers.models import ConsentChange
from customers.selectors import current_consents
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def put(api, customer, **body):
    return api.put(f"/api/v1/customers/{customer.pk}/consents/", body, format="json")


def test_consents_answer_with_when_and_where_each_was_given(api):
    customer = CustomerFactory()
    response = put(api, customer, marketing_email=True, profiling=False, source_channel="web", source="checkout")
    assert response.status_code == 200
    body = response.json()
    assert body["marketing_email"]["granted"] is True
    assert body["marketing_email"]["channel"] == "web"
    assert body["marketing_email"]["source"] == "checkout"
    assert body["marketing_email"]["at"]
    assert body["profiling"]["granted"] is False
    assert body["marketing_sms"] is None


def test_a_withdrawal_becomes_the_current_state_and_the_history_is_kept(api):
    customer = CustomerFactory()
    put(api, customer, marketing_email=True, source_channel="web")
    body = put(api, customer, marketing_email=False, source_channel="store", source="till").json()
    assert body["marketing_email"]["granted"] is False
    assert body["marketing_email"]["channel"] == "store"
    history = list(ConsentChange.objects.filter(customer=customer).values_list("is_granted", "channel"))
    assert history == [(False, "store"), (True, "web")]


def test_repeating_the_same_choice_adds_no_change(api):
    customer = CustomerFactory()
    put(api, customer, marketing_sms=True, source_channel="app")
    put(api, customer, marketing_sms=True, source_channel="app")
    assert ConsentChange.objects.filter(customer=customer).count() == 1


def test_the_change_records_who_made_it(api):
    customer = CustomerFactory()
    put(api, customer, profiling=True, source_channel="call_center")
    assert ConsentChange.objects.get().api_client == api.record


def test_the_current_state_of_many_customers_is_one_query(django_assert_num_queries):
    customers = [CustomerFactory() for _ in range(5)]
    now = timezone.now()
    for n, customer in enumerate(customers):
        for hours, granted in ((3, True), (1, n % 2 == 0)):
            change = ConsentChange.objects.create(
                customer=customer, purpose="marketing_email", is_granted=granted, channel="web"
            )
            ConsentChange.objects.filter(pk=change.pk).update(changed_at=now - timedelta(hours=hours))
    with django_assert_num_queries(1):
        state = current_consents([c.pk for c in customers])
    assert [state[c.pk]["marketing_email"].is_granted for c in customers] == [True, False, True, False, True]
    assert all(state[c.pk]["profiling"] is None for c in customers)


def test_get_answers_the_current_consents(api):
    customer = CustomerFactory()
    put(api, customer, marketing_email=True, source_channel="web")
    assert api.get(f"/api/v1/customers/{customer.pk}/consents/").json()["marketing_email"]["granted"] is True


def test_the_bulk_form_writes_what_set_consents_writes_one_customer_after_the_other():
    from customers import services

    one, other = CustomerFactory(), CustomerFactory()
    services.set_consents(customer=one, choices={"marketing_email": True}, channel="web")
    a_year_ago = timezone.now() - timedelta(days=365)

    written = services.set_consents_many(
        [
            services.ConsentsIn(one.pk, {"marketing_email": True, "profiling": True}, "store", "till", a_year_ago),
            services.ConsentsIn(other.pk, {"marketing_sms": True}, "app", "app sign-up", a_year_ago),
            services.ConsentsIn(other.pk, {"marketing_sms": False}, "web", "preference centre"),
        ]
    )

    assert written == 3  # marketing_email was already given: unchanged, not written again
    state = current_consents([one.pk, other.pk])
    assert state[one.pk]["marketing_email"].channel == "web"
    assert state[one.pk]["profiling"].is_granted and state[one.pk]["profiling"].changed_at == a_year_ago
    assert state[other.pk]["marketing_sms"].is_granted is False
    assert state[other.pk]["marketing_sms"].source == "preference centre"


def test_the_bulk_form_refuses_an_unknown_purpose_and_writes_nothing():
    from customers import services
    from omni.errors import Invalid

    customer = CustomerFactory()
    with pytest.raises(Invalid):
        services.set_consents_many(
            [
                services.ConsentsIn(customer.pk, {"marketing_email": True}, "web"),
                services.ConsentsIn(customer.pk, {"newsletter": True}, "web"),
            ]
        )
    assert not ConsentChange.objects.filter(customer=customer).exists()
