"""An order's page and its allocations read in the staff's language: events, payments, where units come from."""

from decimal import Decimal

import pytest

from loyalty.pricing import LineIn
from omni.catalog.models import Channel
from omni.orders import services
from omni.orders.models import Allocation
from tests.orders.conftest import stock
from tests.staff import CLERK, HEAD_OFFICE, page, staff

pytestmark = pytest.mark.django_db


@pytest.fixture
def web_order(network):
    """The red shirt ordered on the web, shipped home from the warehouse, paid by card."""
    stock(network["warehouse"], network["shirt"], 5)
    return services.record_order(
        channel=Channel.objects.get(code="web"),
        lines=[LineIn("CAM-ROSSA-M", 1)],
        fulfilment=services.FulfilmentIn(type="ship_to_home", address={"line1": "Via Roma 1", "city": "Torino"}),
        payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
    )


@pytest.fixture
def head_office(client):
    client.force_login(staff("direzione", HEAD_OFFICE))
    return client


def test_an_orders_events_and_payments_are_named_in_italian(head_office, web_order):
    html = page(head_office, f"/admin/orders/order/{web_order.pk}/change/", "it")
    assert f"{web_order.pk}: Inserito" in html and "Carta 39,90" in html
    assert f"{web_order.pk}: placed" not in html and "card 39.90" not in html


def test_an_allocation_says_what_comes_from_where_in_italian(head_office, web_order, network):
    allocation = Allocation.objects.get(line__order=web_order)
    html = page(head_office, f"/admin/orders/allocation/{allocation.pk}/change/", "it")
    assert f"1 × CAM-ROSSA-M dell&#x27;ordine {web_order.number} da WH-PC" in html
    assert "Riga d&#x27;ordine:" in html and "Sede:" in html
    for english in ("Allocation object", "Line:", "Location:"):
        assert english not in html
    english = page(head_office, f"/admin/orders/allocation/{allocation.pk}/change/", "en")
    assert f"1 × CAM-ROSSA-M of order {web_order.number} from WH-PC" in english


def test_a_clerk_reads_the_allocations_list_headers_in_italian(client, network, web_order):
    client.force_login(staff("negozio", CLERK, network["warehouse"]))
    html = page(client, "/admin/orders/allocation/", "it")
    assert "Riga d&#x27;ordine" in html and ">Line<" not in html
