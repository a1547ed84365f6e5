"""Admin change lists cost the same number of queries for few rows as for many."""

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory.models import StockMovement
from tests.factories import (
    IdentifierFactory,
    LocationFactory,
    OrderFactory,
    OrderLineFactory,
    StockLevelFactory,
    VariantFactory,
)

pytestmark = pytest.mark.django_db


def make_rows(count: int) -> None:
    for _ in range(count):
        line = OrderLineFactory(order=OrderFactory(location=LocationFactory()))
        IdentifierFactory(customer=line.order.customer)
        VariantFactory(product=line.variant.product)
        stock = StockLevelFactory(variant=line.variant)
        StockMovement.objects.create(location=stock.location, variant=stock.variant, kind="count", on_hand_delta=10)


@pytest.fixture
def staff_browser(client):
    admin = User.objects.create_superuser("boss", "boss@example.it", "pw-Secret-1")
    client.force_login(admin)
    return client


CHANGE_LISTS = [
    "/admin/catalog/location/",
    "/admin/catalog/product/",
    "/admin/catalog/variant/",
    "/admin/customers/customer/",
    "/admin/customers/identifier/",
    "/admin/orders/order/",
    "/admin/inventory/stocklevel/",
    "/admin/inventory/stockmovement/",
]


def queries_for(browser, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", CHANGE_LISTS)
def test_a_change_list_does_not_query_per_row(staff_browser, url):
    make_rows(2)
    few = queries_for(staff_browser, url)
    make_rows(25)
    assert queries_for(staff_browser, url) <= few


def test_the_admin_carries_the_project_name(staff_browser):
    page = staff_browser.get("/admin/").content.decode()
    assert "Omni" in page
