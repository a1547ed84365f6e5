"""POST /api/v1/customers/identify/: create, return, or merge into the oldest."""

import pytest

from customers.models import Customer, CustomerMerge, Identifier
from tests.factories import CustomerFactory, IdentifierFactory, OrderFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/customers/identify/"


def identify(api, *identifiers, profile=None, **headers):
    body = {
        "identifiers": [
            dict(zip(("kind", "value"), item[:2], strict=True), **(item[2] if len(item) > 2 else {}))
            for item in identifiers
        ]
    }
    if profile is not None:
        body["profile"] = profile
    return api.post(URL, body, format="json", **headers)


def test_an_unknown_visitor_becomes_a_new_customer_with_201(api):
    response = identify(api, ("device", "dev-1"), profile={"first_name": "Anna"})
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    assert body["first_name"] == "Anna"
    assert body["merged_from"] == []
    assert [(i["kind"], i["value"]) for i in body["identifiers"]] == [("device", "dev-1")]


def test_a_known_identifier_returns_the_same_customer_with_200_and_attaches_the_new_ones(api):
    first = identify(api, ("email", "anna@example.it")).json()
    response = identify(api, ("email", " ANNA@example.it "), ("phone", "333 123 4567"))
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == first["id"]
    assert {(i["kind"], i["value"]) for i in body["identifiers"]} == {
        ("email", "anna@example.it"),
        ("phone", "+393331234567"),
    }


def test_identifiers_of_several_customers_merge_them_into_the_oldest(api):
    oldest = identify(api, ("device", "dev-1")).json()["id"]
    younger = identify(api, ("email", "anna@example.it")).json()["id"]
    order = OrderFactory(customer_id=younger)

    response = identify(api, ("email", "anna@example.it"), ("device", "dev-1"), HTTP_IDEMPOTENCY_KEY="req-7")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == oldest
    assert body["merged_from"] == [younger]
    order.refresh_from_db()
    assert order.customer_id == oldest
    merge = CustomerMerge.objects.get()
    assert (merge.survivor_id, merge.merged_id, merge.request_key) == (oldest, younger, "req-7")
    assert merge.api_client == api.record
    assert merge.moved["orders.order"] == 1
    assert Customer.objects.get(pk=younger).merged_into_id == oldest


def test_a_merge_fills_the_survivors_blank_profile_from_the_merged_customer(api):
    oldest = identify(api, ("device", "dev-1")).json()["id"]
    identify(api, ("email", "anna@example.it"), profile={"first_name": "Anna", "phone": "3331234567"})
    body = identify(api, ("email", "anna@example.it"), ("device", "dev-1")).json()
    assert (body["id"], body["first_name"], body["phone"]) == (oldest, "Anna", "+393331234567")


def test_an_unverified_identifier_never_merges_and_is_listed_as_a_conflict(api):
    owner = identify(api, ("email", "anna@example.it")).json()["id"]
    visitor = identify(api, ("device", "dev-9")).json()["id"]

    response = identify(api, ("device", "dev-9"), ("email", "anna@example.it", {"verified": False}))

    body = response.json()
    assert response.status_code == 200
    assert body["id"] == visitor
    assert body["merged_from"] == []
    assert body["unverified_conflicts"] == [{"kind": "email", "value": "anna@example.it"}]
    assert Identifier.objects.get(value="anna@example.it").customer_id == owner
    assert not CustomerMerge.objects.exists()


def test_only_unverified_identifiers_of_someone_else_do_not_open_their_profile(api):
    owner = identify(api, ("email", "anna@example.it")).json()["id"]
    response = identify(api, ("email", "anna@example.it", {"verified": False}))
    assert response.status_code == 201
    assert response.json()["id"] != owner
    assert response.json()["unverified_conflicts"] == [{"kind": "email", "value": "anna@example.it"}]


def test_a_new_unverified_identifier_is_kept_as_unverified(api):
    body = identify(api, ("email", "guest@example.it", {"verified": False})).json()
    assert body["identifiers"][0]["verified"] is False


def test_a_guest_who_later_proves_the_email_gets_the_same_customer(api):
    guest = identify(api, ("email", "guest@example.it", {"verified": False})).json()["id"]
    response = identify(api, ("email", "guest@example.it"), ("web_account", "u-1"))
    assert response.status_code == 200
    assert response.json()["id"] == guest
    assert Identifier.objects.get(value="guest@example.it").is_verified


def test_a_proven_identifier_typed_earlier_by_someone_else_moves_to_the_proven_customer_without_a_merge(api):
    typist = identify(api, ("device", "dev-2"), ("email", "anna@example.it", {"verified": False})).json()["id"]
    anna = identify(api, ("web_account", "anna-1")).json()["id"]
    body = identify(api, ("web_account", "anna-1"), ("email", "anna@example.it")).json()
    assert body["id"] == anna
    assert body["merged_from"] == []
    assert Identifier.objects.get(value="anna@example.it").customer_id == anna
    assert Customer.objects.get(pk=typist).merged_into_id is None


def test_a_profile_email_is_normalised_and_only_fills_blanks_of_a_known_customer(api):
    created = identify(api, ("device", "d"), profile={"email": " Anna@Example.IT", "first_name": "Anna"}).json()
    assert created["email"] == "anna@example.it"
    again = identify(api, ("device", "d"), profile={"first_name": "Someone else", "last_name": "Rossi"}).json()
    assert (again["first_name"], again["last_name"]) == ("Anna", "Rossi")


def test_three_customers_merge_into_the_oldest_in_one_call(api):
    ids = [identify(api, ("device", f"dev-{n}")).json()["id"] for n in range(3)]
    body = identify(api, *[("device", f"dev-{n}") for n in reversed(range(3))]).json()
    assert body["id"] == ids[0]
    assert sorted(body["merged_from"]) == ids[1:]
    assert Identifier.objects.filter(customer_id=ids[0]).count() == 3


def test_a_merge_moves_identifiers_and_consents_too(api):
    oldest = CustomerFactory()
    IdentifierFactory(customer=oldest, kind="card", value="0420000000017")
    younger = CustomerFactory()
    IdentifierFactory(customer=younger, kind="email", value="anna@example.it")
    api.put(
        f"/api/v1/customers/{younger.pk}/consents/",
        {"marketing_email": True, "source_channel": "web"},
        format="json",
    )
    identify(api, ("card", "0420000000017"), ("email", "anna@example.it"))
    detail = api.get(f"/api/v1/customers/{oldest.pk}/").json()
    # The survivor's profile e-mail is a lookup identifier of theirs too.
    assert {i["value"] for i in detail["identifiers"]} == {"0420000000017", "anna@example.it", oldest.email}
    assert detail["consents"]["marketing_email"]["granted"] is True
