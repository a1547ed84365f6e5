"""At the counter, a clerk finds today's pick-ups at their store, marks them ready, then collected."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection

from inventory.models import StockLevel
from loyalty.pricing import LineIn
from omni.catalog.models import Channel, StaffAssignment
from omni.orders import services
from omni.orders.models import Order, OrderStatus
from omni.roles import setup_roles
from tests.factories import CustomerFactory, IdentifierFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db
URL = "/admin/orders/order/handover/"


def staff(username: str, group: str, location=None) -> User:
    user = User.objects.create_user(username, password="pw-Secret-1", is_staff=True)
    user.groups.set(Group.objects.filter(name=group))
    if location is not None:
        StaffAssignment.objects.create(user=user, location=location)
    return user


@pytest.fixture(autouse=True)
def english(settings):
    """The assertions read the English texts; the Italian page is checked in the browser test."""
    settings.LANGUAGE_CODE = "en"


@pytest.fixture
def roles(db):
    setup_roles()


@pytest.fixture
def clerk(client, roles, network):
    client.force_login(staff("clerk", "Store staff", network["milano"]))
    return client


def pickup(network, store, customer=None, quantity: int = 1, fulfilment: str = "click_and_collect") -> Order:
    """A web order to be collected at `store`, paid by card, with the stock held there."""
    source = store if fulfilment == "click_and_collect" else network["warehouse"]
    level = StockLevel.objects.filter(location=source, variant=network["shirt"]).first()
    stock(source, network["shirt"], (level.on_hand if level else 0) + quantity)
    return services.record_order(
        channel=Channel.objects.get(code="web"),
        customer=customer,
        lines=[LineIn("CAM-ROSSA-M", quantity)],
        fulfilment=services.FulfilmentIn(type=fulfilment, pickup_location=store),
        payments=[services.PaymentIn(tender="card", amount=Decimal("39.90") * quantity)],
    )


def section(page: str, key: str) -> str:
    """The HTML of one group of the page (to_prepare, ready, collected)."""
    start = page.index(f'id="handover-{key}"')
    end = page.find('class="module handover-group"', start + 1)
    return page[start : end if end != -1 else len(page)]


def test_a_clerk_sees_their_stores_pickups_to_prepare_with_customer_card_and_items(clerk, network):
    anna = CustomerFactory(first_name="Anna", last_name="Verdi", phone="+393331234567")
    IdentifierFactory(customer=anna, kind="card", value="0420000000017")
    mine = pickup(network, network["milano"], customer=anna, quantity=2)
    elsewhere = pickup(network, network["roma"], customer=CustomerFactory())

    page = clerk.get(URL).content.decode()

    to_prepare = section(page, "to_prepare")
    assert mine.number in to_prepare
    assert "Anna Verdi" in to_prepare and "0420000000017" in to_prepare
    assert "CAM-ROSSA-M" in to_prepare and "2 ×" in to_prepare
    assert "79.80" in to_prepare or "79,80" in to_prepare
    assert "Mark ready" in to_prepare
    assert elsewhere.number not in page


def test_marking_ready_then_collected_moves_the_order_and_takes_the_units_out_of_stock(clerk, network):
    order = pickup(network, network["milano"], customer=CustomerFactory())
    held = StockLevel.objects.get(location=network["milano"], variant=network["shirt"])
    on_hand = held.on_hand

    response = clerk.post(URL, {"order": order.pk, "event": "ready_for_pickup"}, follow=True)
    page = response.content.decode()
    assert f"Order {order.number} is ready for pick-up" in page
    assert order.number in section(page, "ready") and "Mark collected" in section(page, "ready")

    page = clerk.post(URL, {"order": order.pk, "event": "collected"}, follow=True).content.decode()
    assert f"Order {order.number} handed over to the customer." in page
    assert order.number in section(page, "collected")
    assert order.number not in section(page, "ready")
    order.refresh_from_db()
    held.refresh_from_db()
    assert order.status == OrderStatus.COLLECTED
    assert held.on_hand == on_hand - 1
    assert order.events.filter(type="collected").get().user.username == "clerk"


def test_a_refused_move_shows_why_and_changes_nothing(clerk, network):
    order = pickup(network, network["milano"])
    page = clerk.post(URL, {"order": order.pk, "event": "collected"}, follow=True).content.decode()
    assert f"Order {order.number} was not changed" in page
    assert "cannot become collected" in page
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED
    assert not order.events.filter(type="collected").exists()


def test_a_clerk_cannot_see_or_move_another_stores_order_even_by_its_id(clerk, network):
    other = pickup(network, network["roma"])
    assert other.number not in clerk.get(URL, {"store": network["roma"].pk}).content.decode()
    found = clerk.get(URL, {"store": network["roma"].pk, "q": other.number}).content.decode()
    assert f'data-number="{other.number}"' not in found

    for store in ("", network["roma"].pk):
        response = clerk.post(URL, {"order": other.pk, "event": "ready_for_pickup", "store": store})
        assert response.status_code == 404
    other.refresh_from_db()
    assert other.status == OrderStatus.PLACED
    assert not other.events.exclude(type="placed").exists()


def test_the_counter_search_finds_the_order_by_number_card_or_phone(clerk, network):
    anna = CustomerFactory(first_name="Anna", last_name="Verdi", phone="+393331234567")
    IdentifierFactory(customer=anna, kind="card", value="0420000000017")
    hers = pickup(network, network["milano"], customer=anna)
    someone_elses = pickup(network, network["milano"], customer=CustomerFactory(first_name="Bruno"))

    for term in (hers.number, "0420000000017", "333 123 4567", "Verdi"):
        page = clerk.get(URL, {"q": term}).content.decode()
        assert hers.number in page, term
        assert someone_elses.number not in page, term


def test_ship_to_store_orders_wait_for_the_delivery_before_they_can_be_marked_ready(clerk, network):
    order = pickup(network, network["milano"], fulfilment="ship_to_store")
    page = section(clerk.get(URL).content.decode(), "to_prepare")
    assert order.number in page and "On its way to the store" in page and "Mark ready" not in page
    services.apply_event(order=order, event="shipped")
    assert "Mark ready" in section(clerk.get(URL).content.decode(), "to_prepare")


def test_head_office_picks_the_store_from_a_selector(client, roles, network):
    client.force_login(staff("boss", "Head office"))
    roman = pickup(network, network["roma"])
    page = client.get(URL, {"store": network["roma"].pk}).content.decode()
    assert 'id="handover-store"' in page and "Milano Duomo" in page
    assert roman.number in page


def test_head_office_lands_on_the_first_store_with_pick_ups_waiting_and_sees_each_stores_count(client, roles, network):
    client.force_login(staff("boss", "Head office"))
    roman = [pickup(network, network["roma"]) for _ in range(2)]
    page = client.get(URL).content.decode()
    assert all(order.number in page for order in roman)  # not the first store of the list, with nothing to do
    options = dict(re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', page))
    assert options[str(network["roma"].pk)].endswith("· 2 pick-ups waiting")
    assert "waiting" not in options[str(network["milano"].pk)]


def test_staff_who_may_only_look_get_no_buttons_and_cannot_post(client, roles, network):
    order = pickup(network, network["milano"])
    client.force_login(staff("analyst", "Marketing"))
    page = client.get(URL, {"store": network["milano"].pk}).content.decode()
    assert order.number in page and "Mark ready" not in page
    assert client.post(URL, {"order": order.pk, "event": "ready_for_pickup"}).status_code == 403
    order.refresh_from_db()
    assert order.status == OrderStatus.PLACED


def test_the_admin_index_links_the_hand_over_for_staff_who_can_change_orders(clerk, client, network):
    assert "/admin/orders/order/handover/" in clerk.get("/admin/").content.decode()
    client.force_login(staff("analyst", "Marketing"))
    assert "/admin/orders/order/handover/" not in client.get("/admin/").content.decode()


def test_the_page_costs_the_same_queries_for_one_order_or_twenty(clerk, network, django_assert_max_num_queries):
    def count_queries() -> int:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as captured:
            assert clerk.get(URL).status_code == 200
        return len(captured)

    def add_orders(count: int) -> None:
        for n in range(count):
            order = pickup(network, network["milano"], customer=CustomerFactory())
            for step in ("ready_for_pickup", "collected")[: n % 3]:
                services.apply_event(order=order, event=step)

    add_orders(3)  # one in each group
    few = count_queries()
    add_orders(18)
    with django_assert_max_num_queries(few):
        page = clerk.get(URL).content.decode()
    assert page.count('class="handover-order"') == 21


def _ids_from(first: int) -> None:
    """Make the next order's id `first`, as in a shop that has sold for a while."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT setval(pg_get_serial_sequence('orders_order', 'id'), %s)", [first - 1])
        else:
            cursor.execute("UPDATE sqlite_sequence SET seq = %s WHERE name = 'orders_order'", [first - 1])


def test_the_buttons_post_the_order_id_as_written_in_the_page_with_ids_in_the_thousands_in_italian(
    clerk, network, settings
):
    settings.LANGUAGE_CODE = "it"
    pickup(network, network["milano"], customer=CustomerFactory())
    _ids_from(5994)
    order = pickup(network, network["milano"], customer=CustomerFactory())
    assert order.pk == 5994

    page = clerk.get(URL, HTTP_ACCEPT_LANGUAGE="it").content.decode()
    form = page[page.index(f"{order.number}") :]
    posted = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', form)[:3])
    assert posted["order"] == "5994"  # not "5.994"
    clerk.post(URL, {**posted, "event": "ready_for_pickup"})
    order.refresh_from_db()
    assert order.status == OrderStatus.READY_FOR_PICKUP
