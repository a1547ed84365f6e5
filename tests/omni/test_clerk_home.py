"""A clerk's home page: today's tasks at their store, each opening its list, and the daily actions."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import Transfer, TransferStatus
from omni.catalog.models import StaffAssignment
from omni.orders.models import FulfilmentType, OrderEvent, OrderEventType, OrderStatus
from omni.roles import setup_roles
from returns.models import Return, ReturnStatus
from tests.factories import LocationFactory, OrderFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def roles(db):
    setup_roles()


@pytest.fixture
def stores():
    return LocationFactory(code="MI01", name="Milano Duomo"), LocationFactory(code="RM01", name="Roma Corso")


def member(group: str, location=None, name: str = "") -> User:
    user = User.objects.create_user(name or group.lower().replace(" ", "-"), password="pw-Secret-1", is_staff=True)
    user.groups.set(Group.objects.filter(name=group))
    if location is not None:
        StaffAssignment.objects.create(user=user, location=location)
    return user


def pickup(store, status, *, ready_days_ago=None, fulfilment=FulfilmentType.CLICK_AND_COLLECT):
    order = OrderFactory(pickup_location=store, fulfilment_type=fulfilment, status=status)
    if ready_days_ago is not None:
        event = OrderEvent.objects.create(
            order=order, type=OrderEventType.READY_FOR_PICKUP, from_status="placed", to_status=status
        )
        OrderEvent.objects.filter(pk=event.pk).update(created_at=timezone.now() - timedelta(days=ready_days_ago))
    return order


def requested_return(order, store):
    return Return.objects.create(
        rma=f"RMA{order.pk:06d}",
        order=order,
        customer=order.customer,
        status=ReturnStatus.REQUESTED,
        location=store,
        refund_to="original",
        returned_value=0,
        refund_amount=0,
        points_value=0,
    )


def day_at(store, other, scale: int = 1) -> None:
    """`scale` of each kind of task at `store`, and the same again at `other` (never counted at `store`)."""
    variant = VariantFactory()
    warehouse = LocationFactory(kind="warehouse")
    for place in (store, other):
        for _ in range(scale):
            pickup(place, OrderStatus.PLACED)
            pickup(place, OrderStatus.SHIPPED, fulfilment=FulfilmentType.SHIP_TO_STORE)
            pickup(place, OrderStatus.READY_FOR_PICKUP, ready_days_ago=10)
            pickup(place, OrderStatus.READY_FOR_PICKUP, ready_days_ago=1)  # ready yesterday: not overdue
            pickup(place, OrderStatus.COLLECTED)
            requested_return(OrderFactory(location=place), place)
            Transfer.objects.create(
                variant=variant,
                from_location=warehouse,
                to_location=place,
                quantity=2,
                status=TransferStatus.IN_TRANSIT,
            )
            Transfer.objects.create(
                variant=variant, from_location=warehouse, to_location=place, quantity=1, status=TransferStatus.RECEIVED
            )


def task_counts(page: str) -> dict[str, str]:
    import re

    return dict(re.findall(r'id="task-([a-z-]+)".*?class="task-count">(\d+)<', page, re.S))


def test_a_clerk_sees_todays_tasks_at_their_store_only(client, stores):
    milano, roma = stores
    day_at(milano, roma)
    client.force_login(member("Store managers", milano))
    page = client.get("/admin/").content.decode()
    assert "Milano Duomo" in page
    assert task_counts(page) == {
        "pickups-to-prepare": "2",
        "pickups-overdue": "1",
        "returns-requested": "1",
        "transfers-arriving": "1",
    }
    assert 'id="app-list"' not in page or "content-main" in page  # the model list stays below


@pytest.mark.parametrize(
    "task, expected",
    [("pickups-to-prepare", 2), ("pickups-overdue", 1), ("returns-requested", 1), ("transfers-arriving", 1)],
)
def test_each_task_opens_the_list_of_exactly_those_rows(client, stores, task, expected):
    milano, roma = stores
    day_at(milano, roma)
    client.force_login(member("Store managers", milano))
    page = client.get("/admin/").content.decode()
    import re

    url = re.search(rf'id="task-{task}"><th scope="row"><a href="([^"]+)"', page).group(1).replace("&amp;", "&")
    listing = client.get(url)
    assert listing.status_code == 200, url
    assert listing.context["cl"].result_count == expected


def test_the_home_page_costs_the_same_queries_with_ten_times_the_data(client, stores):
    milano, roma = stores
    clerk = member("Store managers", milano)
    client.force_login(clerk)
    day_at(milano, roma)
    with CaptureQueriesContext(connection) as small:
        assert client.get("/admin/").status_code == 200
    day_at(milano, roma, scale=10)
    with CaptureQueriesContext(connection) as large:
        assert client.get("/admin/").status_code == 200
    assert len(large) == len(small) <= 14


def test_the_daily_actions_are_one_click_away_for_a_clerk(client, stores):
    milano, _ = stores
    client.force_login(member("Store staff", milano))
    page = client.get("/admin/").content.decode()
    for key, url in [
        ("find-customer", "/admin/customers/customer/"),
        ("enrol", "/admin/loyalty/loyaltyaccount/enrol/"),
        ("endless-aisle", "/admin/orders/order/basket/"),  # the counter basket: taken now or from the network
        ("take-back", "/admin/returns/return/take-back/"),
        ("handover", "/admin/orders/order/handover/"),
        ("count", f"/admin/inventory/stocklevel/count/?location={milano.pk}"),
    ]:
        assert f'id="action-{key}"><th scope="row"><a href="{url}"' in page, key
        assert client.get(url).status_code == 200, url


def test_the_clerks_store_is_prefilled_in_the_sale_the_take_back_and_the_count(client, stores):
    milano, _ = stores
    client.force_login(member("Store staff", milano))
    aisle = client.get("/admin/orders/order/endless-aisle/").context["form"]
    assert aisle["store"].value() == milano.pk
    basket = client.get("/admin/orders/order/basket/").context["form"]
    assert basket["store"].value() == milano.pk
    count = client.get("/admin/inventory/stocklevel/count/").context["form"]
    assert count["location"].value() == milano.pk
    enrol = client.get("/admin/loyalty/loyaltyaccount/enrol/").context["form"]
    assert enrol["store"].value() == milano.pk
    order = OrderFactory(location=milano, status=OrderStatus.COMPLETED)
    take_back = client.get(f"/admin/returns/return/take-back/?order={order.number}").context["form"]
    assert take_back["location"].value() == milano.pk


def test_head_office_sees_the_model_list_and_the_network_actions_without_store_tasks(client, stores):
    milano, roma = stores
    day_at(milano, roma)
    client.force_login(member("Head office"))
    page = client.get("/admin/").content.decode()
    assert 'id="home-tasks"' not in page
    assert 'id="action-endless-aisle"' in page and 'id="action-handover"' in page
    assert 'href="/dashboards/"' in page and 'href="/managers/"' in page
    assert "/admin/customers/customer/" in page  # the model list


def test_an_overdue_pickup_is_one_ready_longer_than_the_setting(client, stores, settings):
    milano, roma = stores
    pickup(milano, OrderStatus.READY_FOR_PICKUP, ready_days_ago=3)
    client.force_login(member("Store staff", milano))
    settings.PICKUP_OVERDUE_DAYS = 7
    assert task_counts(client.get("/admin/").content.decode())["pickups-overdue"] == "0"
    settings.PICKUP_OVERDUE_DAYS = 2
    assert task_counts(client.get("/admin/").content.decode())["pickups-overdue"] == "1"
