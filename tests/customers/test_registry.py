"""The apps above customers plug into merges, identify and erasure through the registry."""

import pytest

from customers import registry, services
from customers.models import CustomerMerge
from loyalty import services as loyalty
from loyalty.models import LoyaltyAccount
from omni.errors import MergeNotAllowed
from tests.factories import CustomerFactory, IdentifierFactory

pytestmark = pytest.mark.django_db


def account_with(points: int, card: str):
    account = loyalty.open_account(customer=CustomerFactory())
    loyalty.add_card(account=account, number=card)
    loyalty.earn(account=account, points=points)
    return account


def test_without_a_handler_two_one_per_customer_rows_refuse_the_merge_and_nothing_moves(monkeypatch):
    monkeypatch.delitem(registry.registry.merge_handlers, "loyalty.loyaltyaccount", raising=False)
    mine, theirs = account_with(100, "C-1"), account_with(50, "C-2")
    IdentifierFactory(customer=theirs.customer)
    held = sorted(theirs.customer.identifiers.values_list("kind", "value"))  # the card's and the factory's
    with pytest.raises(MergeNotAllowed):
        services.merge_customers(survivor=mine.customer, merged=theirs.customer)
    assert not CustomerMerge.objects.exists()
    assert sorted(theirs.customer.identifiers.values_list("kind", "value")) == held


def test_a_registered_merge_handler_adds_two_loyalty_accounts_into_one(monkeypatch):
    monkeypatch.setitem(registry.registry.merge_handlers, "loyalty.loyaltyaccount", loyalty.merge_accounts)
    mine, theirs = account_with(100, "C-1"), account_with(50, "C-2")
    services.merge_customers(survivor=mine.customer, merged=theirs.customer)
    account = LoyaltyAccount.objects.get(customer=mine.customer)
    assert account.balance == 150
    assert sorted(account.cards.values_list("number", flat=True)) == ["C-1", "C-2"]
    assert not LoyaltyAccount.objects.filter(customer=theirs.customer).exists()


def test_a_customer_with_the_only_account_hands_it_to_the_survivor_by_default(monkeypatch):
    monkeypatch.delitem(registry.registry.merge_handlers, "loyalty.loyaltyaccount", raising=False)
    survivor = CustomerFactory()
    theirs = account_with(70, "C-9")
    services.merge_customers(survivor=survivor, merged=theirs.customer)
    assert LoyaltyAccount.objects.get(customer=survivor).balance == 70


def test_an_identifier_hook_hears_of_each_new_card(api, monkeypatch):
    heard = []
    monkeypatch.setitem(
        registry.registry.identifier_hooks,
        "card",
        {"test": lambda *, customer, value: heard.append((customer.pk, value))},
    )
    body = api.post(
        "/api/v1/customers/identify/", {"identifiers": [{"kind": "card", "value": " 0420000000017 "}]}, format="json"
    ).json()
    api.post(
        "/api/v1/customers/identify/", {"identifiers": [{"kind": "card", "value": "0420000000017"}]}, format="json"
    )
    assert heard == [(body["id"], "0420000000017")]


def test_a_registered_timeline_source_joins_the_timeline(api, monkeypatch):
    customer = CustomerFactory()

    def events(customer_ids, limit):
        return [
            registry.TimelineEntry(occurred_at=customer.created_at, kind="event", channel="social", title="Mention")
        ][:limit]

    monkeypatch.setitem(
        registry.registry.timeline_sources,
        "kpis.events",
        registry.TimelineSource(name="kpis.events", entries=events, count=lambda ids: 1),
    )
    body = api.get(f"/api/v1/customers/{customer.pk}/timeline/").json()
    assert [(e["kind"], e["channel"]) for e in body["results"]] == [("event", "social")]
