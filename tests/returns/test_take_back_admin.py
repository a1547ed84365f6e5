"""A store clerk takes back, in the admin, an order bought on any channel."""

import pytest
from django.contrib.auth.models import Group, User

from omni.catalog.models import StaffAssignment
from omni.roles import setup_roles
from returns.models import Return
from tests.returns.conftest import balance, customer_with_points, on_hand, return_body, web_order

pytestmark = pytest.mark.django_db
URL = "/admin/returns/return/take-back/"


@pytest.fixture
def clerk(client, network):
    """A member of the Store staff group working at Milano Duomo."""
    setup_roles()
    user = User.objects.create_user("clerk", "c@example.it", "pw-Secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Store staff"))
    StaffAssignment.objects.create(user=user, location=network["milano"])
    client.force_login(user)
    return client


def ticked(order, network, **changes) -> dict:
    line = order.lines.get(variant=network["medium"])
    data = {
        "location": network["milano"].pk,
        "refund_to": "original",
        f"qty_{line.pk}": 1,
        f"reason_{line.pk}": "wrong_size",
        f"condition_{line.pk}": "resellable",
    }
    data.update(changes)
    return data


def test_the_clerk_finds_the_order_by_the_customers_email_and_sees_what_can_be_returned(clerk, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 2)], [("card", "79.80")])

    listing = clerk.get(URL, {"customer": customer.email}).content.decode()
    assert order.number in listing

    page = clerk.get(URL, {"order": order.number}).content.decode()
    assert 'id="take-back"' in page
    assert "CAM-ROSSA-M" in page and "Camicia rossa" in page
    assert "Returnable until" in page or "Restituibile" in page or 'id="lines"' in page


def test_the_preview_shows_the_refund_and_points_and_writes_nothing(clerk, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 2)], [("card", "79.80")])

    page = clerk.post(f"{URL}?order={order.number}", {**ticked(order, network), "preview": "1"}).content.decode()

    assert 'id="preview"' in page
    assert "39.90" in page or "39,90" in page
    assert '<strong id="points-reversed">40</strong>' in page
    assert 'name="confirm"' in page
    assert not Return.objects.exists()
    assert balance(customer) == 79


def test_confirming_receives_the_return_at_the_clerks_store(clerk, network):
    customer = customer_with_points()
    order = web_order(customer, [("CAM-ROSSA-M", 2)], [("card", "79.80")])
    before = on_hand(network["milano"], network["medium"])

    response = clerk.post(f"{URL}?order={order.number}", {**ticked(order, network), "confirm": "1"})

    assert response.status_code == 302
    ret = Return.objects.get()
    assert response["Location"] == f"/admin/returns/return/{ret.pk}/change/"
    assert (ret.status, ret.location, ret.refund_amount, ret.points_reversed) == (
        "received",
        network["milano"],
        order.total / 2,
        40,
    )
    assert on_hand(network["milano"], network["medium"]) == before + 1
    assert ret.user.username == "clerk"
    assert clerk.get(f"/admin/returns/return/{ret.pk}/change/").status_code == 200


def test_a_clerk_cannot_receive_at_another_store(clerk, network):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 2)], [("card", "79.80")])

    page = clerk.post(
        f"{URL}?order={order.number}", {**ticked(order, network, location=network["roma"].pk), "confirm": "1"}
    )

    assert page.status_code == 200
    assert not Return.objects.exists()


def test_more_than_can_be_returned_is_refused_on_the_form(clerk, network, api):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 2)], [("card", "79.80")])
    line = order.lines.get()
    api.post("/api/v1/returns/", return_body(order, "RM01"), format="json")

    page = clerk.post(
        f"{URL}?order={order.number}", {**ticked(order, network, **{f"qty_{line.pk}": 2}), "confirm": "1"}
    )

    assert page.status_code == 200
    assert Return.objects.count() == 1


def test_an_order_not_handed_over_says_so(clerk, network):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 1)], [("card", "39.90")], shipped=False)
    page = clerk.get(URL, {"order": order.number}).content.decode()
    assert 'id="not-returnable"' in page
    assert 'id="take-back"' not in page


def test_the_clerk_receives_a_requested_return_from_the_list(clerk, network, api):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 1)], [("card", "39.90")])
    asked = api.post("/api/v1/returns/", return_body(order, None, receive=False), format="json").json()
    ret = Return.objects.get(rma=asked["rma"])

    changelist = clerk.get("/admin/returns/return/")
    assert changelist.status_code == 200
    clerk.post("/admin/returns/return/", {"action": "receive_here", "_selected_action": [ret.pk]})

    ret.refresh_from_db()
    assert (ret.status, ret.location) == ("received", network["milano"])


def test_the_report_page_shows_the_rates(client, network, api):
    setup_roles()
    office = User.objects.create_user("office", "o@example.it", "pw-Secret-1", is_staff=True)
    office.groups.add(Group.objects.get(name="Head office"))
    client.force_login(office)
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 2)], [("card", "79.80")])
    api.post("/api/v1/returns/", return_body(order, "MI01"), format="json")

    page = client.get("/admin/returns/return/report/", HTTP_ACCEPT_LANGUAGE="it").content.decode()

    assert 'id="by-channel"' in page and 'id="by-reason"' in page
    assert "50,0%" in page
    assert "(1 / 1)" in page
    # The value returned is money, written as staff read it, in each table (channel, store, product, reason).
    assert page.count("<td>€ 39,90</td>") == 4, page


def test_the_report_shows_a_clerk_the_returns_taken_back_at_their_store_only(clerk, network, api):
    order = web_order(customer_with_points(), [("CAM-ROSSA-M", 2)], [("card", "79.80")])
    api.post("/api/v1/returns/", return_body(order, "RM01"), format="json")

    page = clerk.get("/admin/returns/return/report/").content.decode()

    assert "(0 / 0)" in page and "RM01" not in page
