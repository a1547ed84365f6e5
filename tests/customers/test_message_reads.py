"""What deciding a receipt reads: the address first, the consent only for a channel with an address."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from customers import messaging, selectors
from customers import services as customer_services
from customers.models import ConsentChange, Message, MessageKind
from tests.factories import CustomerFactory, IdentifierFactory

pytestmark = pytest.mark.django_db


def receipt(customer) -> tuple[list[Message], list[str]]:
    with CaptureQueriesContext(connection) as queries:
        written = messaging.tell(
            customer=customer, kind=MessageKind.ORDER_RECEIPT, render=lambda channel: ("Receipt", "Thank you")
        )
    return written, [query["sql"] for query in queries.captured_queries if query["sql"].startswith("SELECT")]


def test_a_receipt_to_a_consenting_customer_with_an_email_reads_only_the_consent():
    willing = CustomerFactory(email="anna@example.it", phone="")
    customer_services.set_consents(customer=willing, choices={"marketing_email": True}, channel="store")

    written, reads = receipt(willing)

    assert [(m.channel, m.to) for m in written] == [("email", "anna@example.it")]
    assert len(reads) == 1 and "consentchange" in reads[0], reads  # no look for a phone a receipt never uses


def test_a_customer_without_an_email_address_is_asked_no_consent():
    nobody = CustomerFactory(email="", phone="+393331234567")
    IdentifierFactory(customer=nobody, kind="card", value="0420000000017")
    customer_services.set_consents(customer=nobody, choices={"marketing_email": True}, channel="store")

    written, reads = receipt(nobody)

    assert written == []
    assert not any("consentchange" in sql for sql in reads), reads


def test_an_email_held_only_as_an_identifier_still_gets_the_receipt_with_the_consent():
    typed = CustomerFactory(email="")
    IdentifierFactory(customer=typed, value="typed@example.it")
    customer_services.set_consents(customer=typed, choices={"marketing_email": True}, channel="web")

    written, _reads = receipt(typed)

    assert [(m.channel, m.to) for m in written] == [("email", "typed@example.it")]


def test_without_the_consent_nothing_is_written():
    unwilling = CustomerFactory(email="anna@example.it")
    customer_services.set_consents(customer=unwilling, choices={"marketing_email": False}, channel="store")

    assert receipt(unwilling)[0] == []
    assert receipt(CustomerFactory(email="never@example.it"))[0] == []  # never asked


def test_the_latest_change_of_a_consent_is_the_one_read_even_when_two_share_a_moment():
    customer = CustomerFactory()
    at = timezone.now() - timedelta(days=1)
    for granted in (True, False, True):  # the same moment: the later row wins, as in current_consents
        change = ConsentChange.objects.create(customer=customer, purpose="marketing_email", is_granted=granted)
        ConsentChange.objects.filter(pk=change.pk).update(changed_at=at)
    assert selectors.consent_granted(customer.pk, "marketing_email") is True
    later = ConsentChange.objects.create(customer=customer, purpose="marketing_email", is_granted=False)
    assert later.changed_at > at
    assert selectors.consent_granted(customer.pk, "marketing_email") is False
    assert selectors.consent_granted(customer.pk, "marketing_sms") is None
    assert current_is(customer, "marketing_email") is False


def current_is(customer, purpose):
    change = selectors.current_consents([customer.pk])[customer.pk][purpose]
    return None if change is None else change.is_granted
