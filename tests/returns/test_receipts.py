"""Printable receipts of orders and returns, the store-credit note, and the return receipt by e-mail."""

from decimal import Decimal

import pytest
from celery import current_app
from django.contrib.auth.models import Group, User
from django.core import mail

from customers import services as customer_services
from omni.catalog.models import StaffAssignment
from omni.roles import setup_roles
from returns.models import Return
from tests.returns.conftest import URL, customer_with_points, return_body, till_sale, web_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def delivered(settings, monkeypatch):
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.LANGUAGE_CODE = "it"


@pytest.fixture
def boss(client):
    client.force_login(User.objects.create_superuser("boss", "b@example.it", "pw-Secret-1"))
    return client


def credit_return(api, network, django_capture_on_commit_callbacks, consents=True) -> Return:
    customer = customer_with_points()
    if consents:
        customer_services.set_consents(customer=customer, choices={"marketing_email": True}, channel="store")
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    with django_capture_on_commit_callbacks(execute=True):
        rma = api.post(URL, return_body(order, "MI01", refund_to="store_credit"), format="json").json()["rma"]
    return Return.objects.get(rma=rma)


def test_a_return_refunded_as_store_credit_is_emailed_with_its_credit(
    api, network, delivered, django_capture_on_commit_callbacks
):
    ret = credit_return(api, network, django_capture_on_commit_callbacks)
    receipts = [m for m in mail.outbox if ret.rma in m.subject]
    assert len(receipts) == 1 and receipts[0].to == [ret.customer.email]
    assert "Credito emesso: 39,90 €" in receipts[0].body and ret.order.number in receipts[0].body


def test_no_return_receipt_without_consent(api, network, delivered, django_capture_on_commit_callbacks):
    ret = credit_return(api, network, django_capture_on_commit_callbacks, consents=False)
    assert [m for m in mail.outbox if ret.rma in m.subject] == []


def test_the_return_page_links_its_receipt_and_store_credit_note_which_print(
    api, network, boss, django_capture_on_commit_callbacks
):
    ret = credit_return(api, network, django_capture_on_commit_callbacks)
    page = boss.get(f"/admin/returns/return/{ret.pk}/change/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert f"/admin/returns/return/{ret.pk}/receipt/" in page and "Stampa il buono di credito" in page
    receipt = boss.get(f"/admin/returns/return/{ret.pk}/receipt/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert ret.rma in receipt and "Camicia rossa" in receipt and "39,90 €" in receipt and "@media print" in receipt
    note = boss.get(f"/admin/returns/return/{ret.pk}/store-credit-note/", HTTP_ACCEPT_LANGUAGE="it")
    assert note.status_code == 200 and "Credito emesso" in note.content.decode()


def test_a_return_refunded_to_the_card_has_no_store_credit_note(api, network, boss):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    ret = Return.objects.get(rma=api.post(URL, return_body(order, "MI01"), format="json").json()["rma"])
    assert "print-credit-note" not in boss.get(f"/admin/returns/return/{ret.pk}/change/").content.decode()
    assert boss.get(f"/admin/returns/return/{ret.pk}/store-credit-note/").status_code == 404


def test_the_order_page_links_a_printable_receipt_in_italian(network, boss):
    order = till_sale(None, network["milano"], [("CAM-ROSSA-M", 2)], [("cash", "79.80")])
    page = boss.get(f"/admin/orders/order/{order.pk}/change/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert f"/admin/orders/order/{order.pk}/receipt/" in page and "Stampa lo scontrino" in page
    receipt = boss.get(f"/admin/orders/order/{order.pk}/receipt/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert f"Scontrino {order.number}" in receipt and "79,80 €" in receipt and "Milano Duomo" in receipt
    assert order.total == Decimal("79.80")


def test_a_clerk_cannot_print_another_stores_receipt(network, client):
    setup_roles()
    clerk = User.objects.create_user("clerk", password="pw-Secret-1", is_staff=True)
    clerk.groups.set(Group.objects.filter(name="Store staff"))
    StaffAssignment.objects.create(user=clerk, location=network["milano"])
    client.force_login(clerk)
    own = till_sale(None, network["milano"], [("CAM-ROSSA-M", 1)], [("cash", "39.90")])
    other = till_sale(None, network["roma"], [("CAM-ROSSA-M", 1)], [("cash", "39.90")])
    assert client.get(f"/admin/orders/order/{own.pk}/receipt/").status_code == 200
    assert client.get(f"/admin/orders/order/{other.pk}/receipt/").status_code == 404
