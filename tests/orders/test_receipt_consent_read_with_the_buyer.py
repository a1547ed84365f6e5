"""A sale's receipt decides on the consent identify read with the buyer's lock, in the statement that found them.

A receipt is e-mailed only to who said yes; the answer is the same whether
the consent was read apart (a customer passed in, a merge) or with the lock,
and a change committed or made in the same transaction before the read is seen.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from customers import services as customer_services
from customers.models import ConsentPurpose, Message, MessageKind
from loyalty.pricing import LineIn
from omni.catalog.models import Channel
from omni.errors import DuplicateOrder, InsufficientStock, Invalid, PermissionDenied
from omni.orders import notices, services
from tests.factories import CustomerFactory, IdentifierFactory
from tests.locks import behind_a_held_change
from tests.orders.conftest import stock

EMAIL = [{"kind": "email", "value": "anna@example.it"}]


def anna(*, consents: bool | None = None):
    """A returning customer: her e-mail is her identifier and her profile's; `consents` her e-mail choice."""
    held = IdentifierFactory(value="anna@example.it", customer=CustomerFactory(email="anna@example.it")).customer
    if consents is not None:
        customer_services.set_consents(customer=held, choices={"marketing_email": consents}, channel="store")
    return held


def sale(network, *, identifiers=EMAIL, external_id: str | None = None, sku: str = "CAM-ROSSA-M", **options):
    return services.record_order(
        channel=network.get("till") or Channel.objects.get(code="store"),
        location=network["milano"],
        identifiers=identifiers,
        external_id=external_id,
        lines=[LineIn(sku, 1)],
        payments=[services.PaymentIn(tender="cash", amount=Decimal("39.90"))],
        **options,
    )


def receipts(order) -> int:
    return Message.objects.filter(order=order, kind=MessageKind.ORDER_RECEIPT).count()


def consent_reads(queries: CaptureQueriesContext) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "consent" in q["sql"]]


@pytest.mark.django_db
@pytest.mark.parametrize("consents", [True, False, None])
def test_the_buyer_s_consent_is_read_by_the_statement_that_finds_them_and_decides_the_receipt(network, consents):
    stock(network["milano"], network["shirt"], 5)
    anna(consents=consents)
    with CaptureQueriesContext(connection) as queries:
        order = sale(network)
    reads = consent_reads(queries)
    assert len(reads) == 1 and "customers_identifier" in reads[0], reads
    assert receipts(order) == (1 if consents else 0)


@pytest.mark.django_db
def test_identify_hands_back_the_consent_only_when_it_read_it_with_the_lock():
    purpose = ConsentPurpose.MARKETING_EMAIL
    granted = anna(consents=True)
    found = customer_services.identify(identifiers=EMAIL, consent=purpose)
    assert (found.customer.pk, found.consents) == (granted.pk, {purpose: True})
    assert customer_services.identify(identifiers=EMAIL).consents == {}  # not asked
    typed = [customer_services.IdentifierIn("email", "anna@example.it", verified=False)]
    assert customer_services.identify(identifiers=typed, consent=purpose).consents == {}  # nothing locked
    new = customer_services.identify(identifiers=[{"kind": "email", "value": "b@example.it"}], consent=purpose)
    assert new.created and new.consents == {}


@pytest.mark.django_db
def test_a_merge_in_the_sale_moves_a_consent_to_the_survivor_and_the_receipt_follows_it(network):
    """The survivor said nothing; the customer merged into it said yes. identify read the survivor's consent
    before the merge moved the other's: the receipt reads it again, after the merge."""
    stock(network["milano"], network["shirt"], 5)
    survivor = anna()
    merged = IdentifierFactory(kind="device", value="dev-1", customer=CustomerFactory(email="")).customer
    customer_services.set_consents(customer=merged, choices={"marketing_email": True}, channel="app")

    order = sale(network, identifiers=[*EMAIL, {"kind": "device", "value": "dev-1"}])

    assert order.customer.pk == survivor.pk
    assert receipts(order) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("choice", [True, False])
def test_a_consent_changed_earlier_in_the_same_transaction_decides_the_receipt(network, choice):
    stock(network["milano"], network["shirt"], 5)
    buyer = anna(consents=not choice)
    with transaction.atomic():
        customer_services.set_consents(customer=buyer, choices={"marketing_email": choice}, channel="store")
        order = sale(network)
    assert receipts(order) == (1 if choice else 0)


@pytest.mark.django_db
def test_a_customer_passed_in_still_has_the_consent_read_for_the_receipt(network):
    stock(network["milano"], network["shirt"], 5)
    buyer = anna(consents=True)
    with CaptureQueriesContext(connection) as queries:
        order = sale(network, identifiers=None, customer=buyer)
    reads = consent_reads(queries)
    assert len(reads) == 1 and "customers_identifier" not in reads[0], reads
    assert receipts(order) == 1


@pytest.mark.django_db
def test_a_retried_receipt_is_answered_as_a_duplicate_before_anything_else_is_checked(network):
    stock(network["milano"], network["shirt"], 1)
    network = {**network, "till": Channel.objects.get(code="store")}
    first = sale(network, external_id="R-1")  # the last unit
    IdentifierFactory(kind="device", value="dev-1", customer=CustomerFactory(email=""))
    for options, other in [
        ({}, InsufficientStock),
        ({"sku": "NO-SUCH-SKU"}, Invalid),
        ({"identifiers": [*EMAIL, {"kind": "device", "value": "dev-1"}], "may_merge": False}, PermissionDenied),
    ]:
        with pytest.raises(other):  # what the same sale answers under a new receipt
            sale(network, external_id="R-2", **options)
        with CaptureQueriesContext(connection) as queries, pytest.raises(DuplicateOrder) as retried:
            sale(network, external_id="R-1", **options)
        assert retried.value.extra["number"] == first.number
        selects = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SELECT")]
        assert len(selects) == 1 and "omni_version" in selects[0] and "external_id" in selects[0], selects


@pytest.mark.parametrize("choice", [False, True])
def test_a_consent_committed_while_the_sale_waits_for_the_buyer_s_lock_decides_the_receipt(postgres, network, choice):
    """The statement that locks the buyer took its snapshot before it waited; the consent it reads comes after the
    lock (customers.selectors.latest_consent_sql), so a change committed meanwhile is the one obeyed."""
    stock(network["milano"], network["shirt"], 5)
    buyer = anna(consents=not choice)

    def change_it():
        customer_services.set_consents(customer=buyer, choices={"marketing_email": choice}, channel="web")

    orders = [behind_a_held_change(change_it, lambda: sale(network), "the sale")]
    assert receipts(orders[0]) == (1 if choice else 0)


def test_the_receipt_asks_for_the_e_mail_consent():
    assert notices.RECEIPT_CONSENT == ConsentPurpose.MARKETING_EMAIL


@pytest.mark.django_db
def test_the_consent_function_holds_the_query_consent_granted_runs(postgres):
    from customers import selectors

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc, provolatile, lanname FROM pg_proc JOIN pg_language l ON l.oid = prolang WHERE proname = %s",
            [selectors.LATEST_CONSENT_FUNCTION],
        )
        (source, volatility, language), *others = cursor.fetchall()
    expected = selectors._consent_granted_sql(connection, customer="$1").replace("%s", "$2")
    # PL/pgSQL (migration 0011): its query is planned once per connection, not at every sale.
    assert (volatility, language, others) == ("v", "plpgsql", [])
    assert source == f"#variable_conflict use_column\nBEGIN\n  RETURN ({expected});\nEND"
