"""Receipts and "ready for pick-up" reach the customer by e-mail and SMS, after the commit, through the outbox."""

from __future__ import annotations

from decimal import Decimal

import pytest
from celery import current_app
from celery.result import AsyncResult
from django.contrib.auth.models import User
from django.core import mail
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from customers import services as customer_services
from customers import sms
from customers.models import Message, MessageChannel, MessageKind, MessageStatus
from loyalty.pricing import LineIn
from omni import outbox
from omni.catalog.models import Channel
from omni.models import OutboxMessage
from omni.orders import services
from omni.orders.models import OrderStatus
from tests.customers.sms_backends import FailsOnce
from tests.factories import CustomerFactory
from tests.orders.conftest import stock


@pytest.fixture
def delivered(settings, monkeypatch):
    """Tasks run in the process after the commit (the demo's Celery); mail and SMS are kept in memory."""
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.SMS_BACKEND = "customers.sms.backends.LocmemBackend"
    settings.LANGUAGE_CODE = "it"
    sms.outbox.clear()
    yield
    sms.outbox.clear()


def customer(phone: str = "+393331234567", consents: bool = False):
    someone = CustomerFactory(phone=phone)
    if consents:
        customer_services.set_consents(customer=someone, choices={"marketing_email": True}, channel="store")
    return someone


def pickup(network, buyer):
    stock(network["milano"], network["shirt"], 5)
    return services.record_order(
        channel=Channel.objects.get(code="web"),
        customer=buyer,
        lines=[LineIn("CAM-ROSSA-M", 1)],
        fulfilment=services.FulfilmentIn(type="click_and_collect", pickup_location=network["milano"]),
        payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
    )


def till_sale(network, buyer):
    stock(network["milano"], network["shirt"], 5)
    return services.record_order(
        channel=Channel.objects.get(code="store"),
        location=network["milano"],
        customer=buyer,
        lines=[LineIn("CAM-ROSSA-M", 1)],
        payments=[services.PaymentIn(tender="cash", amount=Decimal("39.90"))],
    )


@pytest.mark.django_db(transaction=True)
def test_marking_an_order_ready_tells_the_customer_by_email_and_sms_after_the_commit(delivered, network):
    buyer = customer()
    order = pickup(network, buyer)
    with transaction.atomic():
        services.apply_event(order=order, event="ready_for_pickup")
        assert mail.outbox == [] and sms.outbox == []  # nothing leaves before the commit
    assert [m.to for m in mail.outbox] == [[buyer.email]]
    assert order.number in mail.outbox[0].subject and "è pronto per il ritiro" in mail.outbox[0].subject
    assert "Milano Duomo" in mail.outbox[0].body
    assert [(s.to, order.number in s.body and "Milano Duomo" in s.body) for s in sms.outbox] == [(buyer.phone, True)]
    log = Message.objects.filter(order=order, kind=MessageKind.READY_FOR_PICKUP).order_by("channel")
    assert [(m.channel, m.status, m.attempts) for m in log] == [
        (MessageChannel.EMAIL, MessageStatus.SENT, 1),
        (MessageChannel.SMS, MessageStatus.SENT, 1),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_move_that_rolls_back_tells_nobody(delivered, network):
    order = pickup(network, customer())
    with pytest.raises(RuntimeError), transaction.atomic():
        services.apply_event(order=order, event="ready_for_pickup")
        raise RuntimeError("the clerk's request failed after the move")
    assert mail.outbox == [] and sms.outbox == []
    assert not Message.objects.filter(kind=MessageKind.READY_FOR_PICKUP).exists()


@pytest.mark.django_db(transaction=True)
def test_the_receipt_is_emailed_only_to_a_customer_who_consented(delivered, network):
    willing, unwilling = customer(consents=True), customer()
    kept = till_sale(network, willing)
    till_sale(network, unwilling)
    assert [m.to for m in mail.outbox] == [[willing.email]]
    receipt = mail.outbox[0]
    assert kept.number in receipt.subject and "39,90 €" in receipt.body and "CAM-ROSSA-M" in receipt.body
    assert sms.outbox == []  # a receipt goes by e-mail only
    assert Message.objects.get().kind == MessageKind.ORDER_RECEIPT
    customer_services.set_consents(customer=willing, choices={"marketing_email": False}, channel="web")
    till_sale(network, willing)
    assert len(mail.outbox) == 1  # withdrawn: no more receipts


def sale_by_email(network, email: str):
    stock(network["milano"], network["shirt"], 5)
    return services.record_order(
        channel=Channel.objects.get(code="store"),
        location=network["milano"],
        identifiers=[{"kind": "email", "value": email}],
        lines=[LineIn("CAM-ROSSA-M", 1)],
        payments=[services.PaymentIn(tender="cash", amount=Decimal("39.90"))],
    )


@pytest.mark.django_db(transaction=True)
def test_a_customer_this_order_creates_has_no_consent_to_read_and_a_returning_one_is_read(delivered, network):
    with CaptureQueriesContext(connection) as first:
        newcomer = sale_by_email(network, "nuova@example.it").customer
    # identify's statement carries the read, which finds no holder to read it of; nothing asks apart
    assert not [q for q in first.captured_queries if "consent" in q["sql"] and "customers_identifier" not in q["sql"]]
    assert mail.outbox == [] and not Message.objects.exists()

    customer_services.set_consents(customer=newcomer, choices={"marketing_email": True}, channel="store")
    with CaptureQueriesContext(connection) as again:
        kept = sale_by_email(network, "nuova@example.it")
    reads = [q["sql"] for q in again.captured_queries if "consent" in q["sql"]]
    assert len(reads) == 1 and "customers_identifier" in reads[0], reads  # with the lock that found her
    assert kept.customer == newcomer
    assert [m.to for m in mail.outbox] == [["nuova@example.it"]]


@pytest.mark.django_db(transaction=True)
def test_a_failed_send_is_retried_and_never_fails_the_order(delivered, network, settings):
    settings.SMS_BACKEND = "tests.customers.sms_backends.FailsOnce"
    FailsOnce.failed = False
    order = pickup(network, customer())
    services.apply_event(order=order, event="ready_for_pickup")
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_PICKUP
    text = Message.objects.get(order=order, channel=MessageChannel.SMS)
    assert (text.status, text.attempts, text.last_error) == (MessageStatus.RETRYING, 1, "SMS gateway unreachable")
    stuck = OutboxMessage.objects.get(task="customers.send_message", kwargs={"message_id": text.pk})
    assert stuck.sent_at is None  # kept by the outbox, whose relay tries again
    assert outbox.relay() == 1
    text.refresh_from_db()
    assert (text.status, text.attempts) == (MessageStatus.SENT, 2) and len(sms.outbox) == 1
    assert Message.objects.get(order=order, channel=MessageChannel.EMAIL).status == MessageStatus.SENT


@pytest.mark.django_db(transaction=True)
def test_the_order_page_shows_the_messages_sent(delivered, network, client):
    order = pickup(network, customer())
    services.apply_event(order=order, event="ready_for_pickup")
    client.force_login(User.objects.create_superuser("boss", "b@example.it", "pw-Secret-1"))
    page = client.get(f"/admin/orders/order/{order.pk}/change/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Messaggi al cliente" in page and "Pronto per il ritiro" in page and "Inviato" in page


@pytest.fixture
def broken_gateway(monkeypatch):
    """The worker's settings, read from its environment: an SMS gateway that is down, quick retries."""
    monkeypatch.setenv("SMS_BACKEND", "tests.customers.sms_backends.AlwaysFails")
    monkeypatch.setenv("MESSAGE_RETRY_SECONDS", "0")
    monkeypatch.setenv("MESSAGE_MAX_ATTEMPTS", "3")


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_sends_the_ready_message_and_gives_up_on_a_broken_gateway(
    broken_gateway, celery_workers, network
):
    celery_workers(["orders"])  # the queue CELERY_TASK_ROUTES gives customers.send_message
    order = pickup(network, customer())
    services.apply_event(order=order, event="ready_for_pickup")
    results = {}
    for message in Message.objects.filter(order=order):
        sent = OutboxMessage.objects.get(task="customers.send_message", kwargs={"message_id": message.pk})
        results[message.channel] = AsyncResult(sent.task_id, app=current_app).get(timeout=60)
    assert results == {MessageChannel.EMAIL: "sent", MessageChannel.SMS: "failed"}
    text = Message.objects.get(order=order, channel=MessageChannel.SMS)
    assert (text.status, text.attempts, text.last_error) == (MessageStatus.FAILED, 3, "SMS gateway unreachable")
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_PICKUP
