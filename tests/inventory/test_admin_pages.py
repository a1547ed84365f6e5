"""The stock pages of the admin: lists at a constant cost, counting, the read-only ledger, cancelling holds."""

from datetime import date

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from inventory import services
from inventory.models import ReplenishmentProposal, Reservation, StockMovement
from tests.factories import CustomerFactory, LocationFactory, VariantFactory
from tests.inventory.conftest import level_of, stock

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    client.force_login(User.objects.create_superuser("capo", "capo@example.it", "pw-Secret-1"))
    return client


def make_rows(count: int) -> None:
    for _ in range(count):
        place, other, variant = LocationFactory(), LocationFactory(), VariantFactory()
        stock(place, variant, 5)
        services.hold(location=place, variant=variant, quantity=1, customer_id=CustomerFactory().pk)
        transfer = services.request_transfer(from_location=place, to_location=other, variant=variant, quantity=1)
        ReplenishmentProposal.objects.create(
            kind="rebalance",
            variant=variant,
            from_location=place,
            to_location=other,
            quantity=1,
            daily_sales=1,
            cover_days=2,
            computed_on=date.today(),
            transfer=transfer,
        )


def queries_for(browser, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = browser.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize(
    "url",
    [
        "/admin/inventory/stocklevel/",
        "/admin/inventory/stocklevel/?q=SKU",
        "/admin/inventory/stockmovement/",
        "/admin/inventory/reservation/",
        "/admin/inventory/reservation/?status__exact=active",
        "/admin/inventory/transfer/",
        "/admin/inventory/replenishmentproposal/",
    ],
)
def test_a_stock_change_list_does_not_query_per_row(staff, url):
    make_rows(2)
    few = queries_for(staff, url)
    make_rows(25)
    assert queries_for(staff, url) <= few


def test_the_stock_list_shows_what_is_available(staff, store, shirt):
    stock(store, shirt, 9, safety_stock=2)
    services.reserve(location=store, variant=shirt, quantity=3)
    response = staff.get("/admin/inventory/stocklevel/")
    assert response.context["cl"].result_list[0].units_available == 4
    assert "Conteggio inventario" in response.content.decode()  # "Count stock", in Italian by default


def test_a_clerk_counts_a_sku_with_the_count_form(staff, store, shirt):
    stock(store, shirt, 5)
    page = staff.get("/admin/inventory/stocklevel/count/")
    assert page.status_code == 200
    response = staff.post(
        "/admin/inventory/stocklevel/count/",
        {"location": store.pk, "sku": "SHIRT-RED-M", "on_hand": 3, "reason": "shelf count", "_save": "1"},
    )
    assert response.status_code == 302
    assert level_of(store, shirt).on_hand == 3
    movement = StockMovement.objects.order_by("-pk").first()
    assert (movement.on_hand_delta, movement.reason, movement.user.username) == (-2, "shelf count", "capo")


def test_the_count_form_refuses_an_unknown_sku_or_a_negative_count(staff, store, shirt):
    for sku, on_hand in (("NOPE", 3), ("SHIRT-RED-M", -1)):
        response = staff.post(
            "/admin/inventory/stocklevel/count/", {"location": store.pk, "sku": sku, "on_hand": on_hand}
        )
        assert response.status_code == 200
        assert response.context["form"].errors
    assert not StockMovement.objects.exists()


def test_stock_cannot_be_typed_into_a_stock_row(staff, store, shirt):
    level = stock(store, shirt, 5)
    page = staff.get(f"/admin/inventory/stocklevel/{level.pk}/change/")
    assert page.status_code == 200
    assert 'name="on_hand"' not in page.content.decode()
    assert staff.get("/admin/inventory/stocklevel/add/").status_code == 403


def test_the_ledger_is_read_only(staff, store, shirt):
    stock(store, shirt, 5)
    movement = StockMovement.objects.get()
    assert staff.get("/admin/inventory/stockmovement/add/").status_code == 403
    assert staff.post(f"/admin/inventory/stockmovement/{movement.pk}/delete/", {"post": "yes"}).status_code == 403
    page = staff.get(f"/admin/inventory/stockmovement/{movement.pk}/change/").content.decode()
    assert 'name="on_hand_delta"' not in page


def test_the_cancel_action_releases_active_holds_and_leaves_the_others(staff, store, shirt):
    stock(store, shirt, 5)
    active = services.hold(location=store, variant=shirt, quantity=2)
    done = services.hold(location=store, variant=shirt, quantity=1)
    services.collect_hold(reservation=done)
    response = staff.post(
        "/admin/inventory/reservation/",
        {"action": "cancel_holds", "_selected_action": [active.pk, done.pk]},
        follow=True,
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    assert Reservation.objects.get(pk=active.pk).status == "released"
    assert Reservation.objects.get(pk=done.pk).status == "consumed"
    assert level_of(store, shirt).reserved == 0
    assert "1 hold cancelled." in response.content.decode()
