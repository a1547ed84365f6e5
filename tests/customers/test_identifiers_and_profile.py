"""Identify never multiplies customers for typed values, and identifiers and profile fill each other.

- Only unverified identifiers held by someone else: one anonymous stand-in, however often the call comes.
- An e-mail or phone set on the profile (PATCH, or identify's profile) becomes an unverified identifier.
- E-mail and phone identifiers fill the profile's blank fields; a value the customer set stays.
"""

import threading

import pytest
from django.db import connection

from customers import services
from customers.models import Customer, Identifier
from tests.customers.test_identify import identify
from tests.factories import CustomerFactory, IdentifierFactory

TYPED = {"verified": False}


def live_customers() -> int:
    return Customer.objects.filter(merged_into__isnull=True).count()


# -- only typed identifiers of someone else ------------------------------------------------------


@pytest.mark.django_db
def test_repeated_calls_with_someone_elses_typed_email_make_one_empty_stand_in(api):
    owner = identify(api, ("email", "anna@example.it"), profile={"first_name": "Anna"}).json()["id"]

    answers = [identify(api, ("email", "ANNA@example.it", TYPED), profile={"first_name": "Eve"}) for _ in range(4)]

    assert [a.status_code for a in answers] == [201, 200, 200, 200]
    stand_in = {a.json()["id"] for a in answers}
    assert len(stand_in) == 1 and owner not in stand_in
    assert live_customers() == 2
    body = answers[-1].json()
    assert body["unverified_conflicts"] == [{"kind": "email", "value": "anna@example.it"}]
    assert (body["first_name"], body["email"], body["identifiers"]) == ("", "", [])  # nobody's profile
    assert body["stand_in"] is True
    assert identify(api, ("email", "anna@example.it")).json()["stand_in"] is False
    assert Identifier.objects.get(value="anna@example.it").customer_id == owner


@pytest.mark.django_db
def test_a_guests_own_typed_email_typed_again_does_not_multiply_customers(api):
    guest = identify(api, ("email", "guest@example.it", TYPED)).json()["id"]
    again = {identify(api, ("email", "guest@example.it", TYPED)).json()["id"] for _ in range(3)}
    assert len(again) == 1 and guest not in again  # the guest's profile is not handed to whoever types it
    assert live_customers() == 2


@pytest.mark.django_db
def test_several_typed_identifiers_of_different_people_share_the_oldest_stand_in(api):
    identify(api, ("email", "anna@example.it"))
    identify(api, ("phone", "3331234567"))
    first = identify(api, ("email", "anna@example.it", TYPED)).json()["id"]
    identify(api, ("phone", "3331234567", TYPED))
    both = identify(api, ("phone", "3331234567", TYPED), ("email", "anna@example.it", TYPED)).json()
    assert both["id"] == first
    assert both["merged_from"] == []
    assert live_customers() == 4  # two owners, two stand-ins; never merged


@pytest.mark.django_db
def test_a_stand_in_merged_or_erased_is_replaced_not_reused(api):
    owner = identify(api, ("email", "anna@example.it")).json()["id"]
    stand_in = Customer.objects.get(pk=identify(api, ("email", "anna@example.it", TYPED)).json()["id"])
    services.merge_customers(survivor=Customer.objects.get(pk=owner), merged=stand_in)

    replacement = identify(api, ("email", "anna@example.it", TYPED)).json()["id"]

    assert replacement not in (owner, stand_in.pk)
    assert identify(api, ("email", "anna@example.it", TYPED)).json()["id"] == replacement


def test_racing_typed_calls_agree_on_one_stand_in(postgres):
    owner = IdentifierFactory(kind="email", value="anna@example.it").customer
    outcomes, errors = [], []
    start = threading.Barrier(6)

    def run():
        try:
            start.wait(60)
            result = services.identify(identifiers=[services.IdentifierIn("email", "anna@example.it", False)])
            outcomes.append(result.customer.pk)
        except Exception as error:  # a failure in a thread must fail the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert len(set(outcomes)) == 1 and owner.pk not in outcomes
    assert live_customers() == 2


# -- the profile's e-mail and phone are identifiers -------------------------------------------


@pytest.mark.django_db
def test_an_email_and_phone_set_with_patch_are_found_by_lookup_as_unverified_identifiers(api):
    customer = identify(api, ("device", "dev-1")).json()["id"]

    patched = api.patch(
        f"/api/v1/customers/{customer}/", {"email": "Marta@Example.it", "phone": "333 765 4321"}, format="json"
    )

    assert patched.status_code == 200
    assert {(i["kind"], i["value"], i["verified"]) for i in patched.json()["identifiers"]} == {
        ("device", "dev-1", True),
        ("email", "marta@example.it", False),
        ("phone", "+393337654321", False),
    }
    for typed in ("marta@example.it", "+39 333 765 4321"):
        found = api.get("/api/v1/customers/", {"identifier": typed}).json()["results"]
        assert [c["id"] for c in found] == [customer]


@pytest.mark.django_db
def test_a_patched_email_held_by_someone_else_stays_theirs(api):
    anna = identify(api, ("email", "anna@example.it")).json()["id"]
    other = identify(api, ("device", "dev-2")).json()["id"]

    api.patch(f"/api/v1/customers/{other}/", {"email": "anna@example.it"}, format="json")

    assert Identifier.objects.get(value="anna@example.it").customer_id == anna
    assert [c["id"] for c in api.get("/api/v1/customers/", {"identifier": "anna@example.it"}).json()["results"]] == [
        anna
    ]


@pytest.mark.django_db
def test_a_patched_email_proven_later_leads_identify_to_that_customer(api):
    customer = identify(api, ("device", "dev-1")).json()["id"]
    api.patch(f"/api/v1/customers/{customer}/", {"email": "marta@example.it"}, format="json")

    proven = identify(api, ("email", "marta@example.it"), ("web_account", "marta-1"))

    assert (proven.status_code, proven.json()["id"]) == (200, customer)
    assert Identifier.objects.get(value="marta@example.it").is_verified


@pytest.mark.django_db
def test_an_email_in_identifys_profile_becomes_an_unverified_identifier(api):
    body = identify(api, ("device", "dev-1"), profile={"email": "marta@example.it"}).json()
    assert ("email", "marta@example.it", False) in {(i["kind"], i["value"], i["verified"]) for i in body["identifiers"]}


# -- identifiers fill the profile ----------------------------------------------------------------


@pytest.mark.django_db
def test_a_customer_identified_by_email_and_phone_has_them_on_the_profile(api):
    created = identify(api, ("email", "Marta@Example.it")).json()
    assert created["email"] == "marta@example.it"

    known = identify(api, ("email", "marta@example.it"), ("phone", "3337654321", TYPED)).json()
    assert (known["id"], known["phone"]) == (created["id"], "+393337654321")
    assert Customer.objects.get(pk=created["id"]).email == "marta@example.it"


@pytest.mark.django_db
def test_identifiers_never_overwrite_what_the_customer_set(api):
    customer = CustomerFactory(email="own@example.it", phone="")
    IdentifierFactory(customer=customer, kind="card", value="0420000000017")

    body = identify(api, ("card", "0420000000017"), ("email", "second@example.it"), ("phone", "3337654321")).json()

    assert (body["email"], body["phone"]) == ("own@example.it", "+393337654321")
    assert identify(api, ("card", "0420000000017"), profile={"first_name": ""}).json()["email"] == "own@example.it"


@pytest.mark.django_db
def test_a_typed_email_held_by_someone_else_does_not_fill_the_profile(api):
    identify(api, ("email", "anna@example.it"))
    body = identify(api, ("device", "dev-9"), ("email", "anna@example.it", TYPED)).json()
    assert body["email"] == ""


@pytest.mark.django_db
def test_customers_recorded_before_get_their_profile_and_identifiers_filled_once():
    import importlib

    from django.apps import apps

    backfill = importlib.import_module("customers.migrations.0006_profile_and_identifiers_fill_each_other")
    by_email = CustomerFactory(email="", phone="")
    IdentifierFactory(customer=by_email, kind="email", value="typed@example.it", is_verified=False)
    IdentifierFactory(customer=by_email, kind="email", value="proven@example.it")
    IdentifierFactory(customer=by_email, kind="phone", value="+393337654321", is_verified=False)
    patched = CustomerFactory(email="own@example.it", phone="+393331112222")
    copycat = CustomerFactory(email="proven@example.it")
    already = CustomerFactory(email="kept@example.it")
    IdentifierFactory(customer=already, kind="email", value="other@example.it")

    backfill.fill(apps, None)

    by_email.refresh_from_db()
    assert (by_email.email, by_email.phone) == ("proven@example.it", "+393337654321")
    assert set(patched.identifiers.values_list("kind", "value", "is_verified")) == {
        ("email", "own@example.it", False),
        ("phone", "+393331112222", False),
    }
    assert not copycat.identifiers.exists()  # held by someone else: left there
    already.refresh_from_db()
    assert already.email == "kept@example.it"
