"""The customer in the admin: search by anything, the single view, merge, export and erase."""

import json

import pytest
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer, CustomerMerge
from tests.factories import CustomerFactory, IdentifierFactory, OrderFactory, channel

pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/customers/customer/"


@pytest.fixture
def boss(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.it", "pw-Secret-1"))
    return client


@pytest.fixture
def clerk(client):
    """Staff who may view and change customers, but not export, erase or merge."""
    user = User.objects.create_user("clerk", "clerk@example.it", "pw-Secret-1", is_staff=True)
    user.user_permissions.add(*Permission.objects.filter(codename__in=["view_customer", "change_customer"]))
    client.force_login(user)
    return client


def change_url(customer) -> str:
    return f"/admin/customers/customer/{customer.pk}/change/"


def test_a_phone_typed_with_spaces_lands_on_the_customer(boss):
    anna = CustomerFactory()
    IdentifierFactory(customer=anna, kind="phone", value="+393331234567")
    CustomerFactory()
    response = boss.get(CHANGELIST, {"q": "333 123 4567"})
    assert response.status_code == 302
    assert response["Location"] == change_url(anna)


@pytest.mark.parametrize("typed", ["0420000000017", " Anna.Verdi@Example.it ", "+39 333 1234567"])
def test_a_card_an_email_or_a_phone_finds_the_person_in_one_step(boss, typed):
    anna = CustomerFactory(email="anna.verdi@example.it")
    IdentifierFactory(customer=anna, kind="card", value="0420000000017")
    IdentifierFactory(customer=anna, kind="phone", value="+393331234567")
    assert boss.get(CHANGELIST, {"q": typed})["Location"] == change_url(anna)


def test_a_name_shared_by_two_customers_lists_both(boss):
    CustomerFactory(first_name="Marta", last_name="Neri")
    CustomerFactory(first_name="Marta", last_name="Bruno")
    response = boss.get(CHANGELIST, {"q": "Marta"})
    assert response.status_code == 200
    assert response.context["cl"].result_count == 2


def test_the_change_page_shows_the_single_view(boss):
    anna = CustomerFactory(first_name="Anna")
    IdentifierFactory(customer=anna, kind="card", value="0420000000017")
    OrderFactory(customer=anna, number="OM-STORE-1", channel=channel("store"))
    OrderFactory(customer=anna, number="OM-WEB-1", channel=channel("web"))
    page = boss.get(change_url(anna), headers={"accept-language": "en"}).content.decode()
    assert "0420000000017" in page
    assert "OM-STORE-1" in page and "OM-WEB-1" in page
    assert "Orders (every channel)" in page
    assert "Timeline" in page
    assert "Consents" in page and "never asked" in page
    assert "Download personal data" in page and "Erase personal data" in page


def test_the_change_page_costs_the_same_queries_for_2_or_30_orders(boss):
    anna = CustomerFactory()
    for _ in range(2):
        OrderFactory(customer=anna)
    with CaptureQueriesContext(connection) as few:
        boss.get(change_url(anna))
    for _ in range(28):
        OrderFactory(customer=anna)
    with CaptureQueriesContext(connection) as many:
        assert boss.get(change_url(anna)).status_code == 200
    assert len(many.captured_queries) <= len(few.captured_queries)


def test_the_change_list_costs_the_same_queries_for_2_or_30_customers(boss):
    for _ in range(2):
        IdentifierFactory()
    with CaptureQueriesContext(connection) as few:
        boss.get(CHANGELIST)
    for _ in range(28):
        IdentifierFactory()
    with CaptureQueriesContext(connection) as many:
        assert boss.get(CHANGELIST).status_code == 200
    assert len(many.captured_queries) <= len(few.captured_queries)


def test_the_merge_action_shows_what_will_move_before_merging(boss):
    oldest, younger = CustomerFactory(), CustomerFactory()
    OrderFactory(customer=younger)
    OrderFactory(customer=younger)
    IdentifierFactory(customer=younger)
    response = boss.post(CHANGELIST, {"action": "merge_selected", "_selected_action": [oldest.pk, younger.pk]})
    assert response.status_code == 200
    page = response.content.decode()
    assert "orders.order" in page and "customers.identifier" in page
    assert ">2<" in page
    assert not CustomerMerge.objects.exists()


def test_confirming_the_merge_moves_everything_to_the_oldest(boss):
    oldest, younger = CustomerFactory(), CustomerFactory()
    order = OrderFactory(customer=younger)
    response = boss.post(
        CHANGELIST, {"action": "merge_selected", "_selected_action": [oldest.pk, younger.pk], "confirm": "yes"}
    )
    assert response.status_code == 302
    assert response["Location"] == change_url(oldest)
    order.refresh_from_db()
    assert order.customer_id == oldest.pk
    merge = CustomerMerge.objects.get()
    assert (merge.survivor_id, merge.merged_id, merge.user.username) == (oldest.pk, younger.pk, "boss")


def test_merging_an_already_merged_customer_is_refused_with_a_message(boss):
    a, b, c = CustomerFactory(), CustomerFactory(), CustomerFactory()
    Customer.objects.filter(pk=c.pk).update(merged_into=a)
    response = boss.post(
        CHANGELIST, {"action": "merge_selected", "_selected_action": [b.pk, c.pk], "confirm": "yes"}, follow=True
    )
    assert "already merged" in response.content.decode()
    assert not CustomerMerge.objects.exists()


def test_the_export_downloads_the_persons_data_as_json(boss):
    anna = CustomerFactory(email="anna@example.it")
    OrderFactory(customer=anna, number="OM-9")
    response = boss.get(f"/admin/customers/customer/{anna.pk}/export/")
    assert response["Content-Disposition"] == f'attachment; filename="customer-{anna.pk}.json"'
    data = json.loads(response.content)
    assert data["customer"]["email"] == "anna@example.it"
    assert data["orders"][0]["number"] == "OM-9"


def test_erasing_from_the_admin_asks_first_then_erases(boss):
    anna = CustomerFactory(email="anna@example.it")
    erase_page = boss.get(f"/admin/customers/customer/{anna.pk}/erase/", headers={"accept-language": "en"})
    assert "Yes, erase" in erase_page.content.decode()
    anna.refresh_from_db()
    assert anna.erased_at is None
    boss.post(f"/admin/customers/customer/{anna.pk}/erase/")
    anna.refresh_from_db()
    assert anna.erased_at is not None and anna.email == ""


def test_a_clerk_without_the_permissions_cannot_export_erase_or_merge(clerk):
    anna, other = CustomerFactory(), CustomerFactory()
    assert clerk.get(f"/admin/customers/customer/{anna.pk}/export/").status_code == 403
    assert clerk.post(f"/admin/customers/customer/{anna.pk}/erase/").status_code == 403
    page = clerk.get(change_url(anna)).content.decode()
    assert "Download personal data" not in page and "Erase personal data" not in page
    clerk.post(CHANGELIST, {"action": "merge_selected", "_selected_action": [anna.pk, other.pk], "confirm": "yes"})
    assert not CustomerMerge.objects.exists()
    anna.refresh_from_db()
    assert anna.erased_at is None


def test_editing_the_profile_in_the_admin_stores_the_phone_normalised(boss):
    anna = CustomerFactory(phone="")
    response = boss.post(
        change_url(anna),
        {
            "first_name": anna.first_name,
            "last_name": anna.last_name,
            "email": anna.email,
            "phone": "333 123 4567",
            "birth_date": "",
            "identifiers-TOTAL_FORMS": "0",
            "identifiers-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    anna.refresh_from_db()
    assert anna.phone == "+393331234567"


def test_an_email_set_in_the_admin_is_an_unverified_identifier_and_one_typed_in_both_places_is_one(boss):
    from customers.models import Identifier

    anna = CustomerFactory(phone="")
    form = {
        "first_name": anna.first_name,
        "last_name": anna.last_name,
        "email": "anna.new@example.it",
        "phone": "333 123 4567",
        "birth_date": "",
        "identifiers-TOTAL_FORMS": "1",
        "identifiers-INITIAL_FORMS": "0",
        "identifiers-0-kind": "email",
        "identifiers-0-value": "anna.new@example.it",
        "identifiers-0-is_verified": "on",
    }
    assert boss.post(change_url(anna), form).status_code == 302
    assert set(anna.identifiers.values_list("kind", "value", "is_verified")) == {
        ("email", "anna.new@example.it", True),  # the inline's, not a second one
        ("phone", "+393331234567", False),
    }

    added = boss.post(
        "/admin/customers/customer/add/",
        {
            "first_name": "Bruno",
            "last_name": "",
            "email": "bruno@example.it",
            "phone": "",
            "birth_date": "",
            "identifiers-TOTAL_FORMS": "0",
            "identifiers-INITIAL_FORMS": "0",
        },
    )
    assert added.status_code == 302
    assert Identifier.objects.get(value="bruno@example.it").is_verified is False
