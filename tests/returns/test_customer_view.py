"""Returns are part of the customer's whole story: export, admin page, merges, and repeats."""

import pytest
from django.contrib.auth.models import User

from customers import services as customers
from returns.models import Return
from tests.factories import CustomerFactory
from tests.returns.conftest import URL, customer_with_points, return_body, web_order

pytestmark = pytest.mark.django_db


def test_the_personal_data_export_lists_the_returns(api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    rma = api.post(URL, return_body(order), format="json").json()["rma"]

    export = api.get(f"/api/v1/customers/{customer.pk}/export/").json()

    assert [r["rma"] for r in export["returns"]] == [rma]
    assert export["returns"][0]["lines"] == [
        {"sku": "CAM-ROSSA-M", "quantity": 1, "reason": "wrong_size", "condition": "resellable"}
    ]


def test_the_customers_admin_page_shows_the_returns_panel(client, api, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    rma = api.post(URL, return_body(order), format="json").json()["rma"]
    client.force_login(User.objects.create_superuser("boss", "b@example.it", "pw-Secret-1"))

    page = client.get(f"/admin/customers/customer/{customer.pk}/change/").content.decode()

    assert rma in page


def test_returns_follow_the_customer_into_a_merge(api, network):
    survivor, merged = CustomerFactory(), customer_with_points()
    order = web_order(merged, [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    api.post(URL, return_body(order), format="json")

    customers.merge_customers(survivor=survivor, merged=merged)

    assert Return.objects.get().customer == survivor
    timeline = api.get(f"/api/v1/customers/{survivor.pk}/timeline/").json()
    entries = timeline["results"] if isinstance(timeline, dict) else timeline
    assert any(e["kind"] == "return" for e in entries)


def test_the_same_return_sent_twice_with_one_idempotency_key_refunds_once(api, network):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 2)], [("card", "79.80")])

    first = api.post(URL, return_body(order), format="json", HTTP_IDEMPOTENCY_KEY="till-7-return-1")
    again = api.post(URL, return_body(order), format="json", HTTP_IDEMPOTENCY_KEY="till-7-return-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json()["rma"] == first.json()["rma"]
    assert Return.objects.count() == 1
