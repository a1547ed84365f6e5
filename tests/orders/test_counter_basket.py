"""The counter basket: several lines taken now or shipped, the customer found or enrolled, split tenders."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, User

from customers.models import Customer
from inventory.models import StockLevel
from loyalty import gift_cards, store_credit
from loyalty import services as loyalty
from loyalty.models import GiftCard, StoreCreditBalance
from omni.actor import SYSTEM
from omni.catalog.models import StaffAssignment
from omni.orders.models import Order
from omni.roles import setup_roles
from tests.factories import CustomerFactory, IdentifierFactory, ProductFactory, VariantFactory
from tests.orders.conftest import stock

pytestmark = pytest.mark.django_db
URL = "/admin/orders/order/basket/"


@pytest.fixture
def clerk(client, network):
    """A member of the store staff of Milano, with the role's permissions."""
    setup_roles()
    user = User.objects.create_user("anna", "anna@example.it", "pw-Secret-1", is_staff=True)
    user.groups.add(Group.objects.get(name="Store staff"))
    StaffAssignment.objects.create(user=user, location=network["milano"])
    client.force_login(user)
    return client


@pytest.fixture
def tie(network):
    return VariantFactory(sku="CRAVATTA", price=Decimal("19.90"), product=ProductFactory(code="CRAV"))


def management(rows: list[dict]) -> dict:
    data = {"line-TOTAL_FORMS": "6", "line-INITIAL_FORMS": "0", "line-MIN_NUM_FORMS": "0", "line-MAX_NUM_FORMS": "6"}
    for index in range(6):
        row = rows[index] if index < len(rows) else {}
        data[f"line-{index}-sku"] = row.get("sku", "")
        data[f"line-{index}-quantity"] = str(row.get("quantity", 1))
        data[f"line-{index}-delivery"] = row.get("delivery", "carry_out")
    return data


def basket(network, rows, **fields) -> dict:
    return {"store": network["milano"].pk, **management(rows), **{k: str(v) for k, v in fields.items()}}


def known_customer(points: int = 0, credit: str = "0") -> Customer:
    customer = CustomerFactory()
    IdentifierFactory(customer=customer, kind="card", value="CARD-777")
    account = loyalty.open_account(customer=customer)
    if points:
        loyalty.adjust(account=account, points=points, reason="welcome", actor=SYSTEM)
    if Decimal(credit):
        store_credit.issue(customer=customer, amount=Decimal(credit), reference="RMA-1")
    return customer


MIXED = [
    {"sku": "CRAVATTA", "quantity": 1, "delivery": "carry_out"},
    {"sku": "CAM-ROSSA-M", "quantity": 1, "delivery": "ship_to_home"},
]


def test_checking_shows_each_lines_stock_here_and_in_the_network_before_any_address_and_writes_nothing(
    clerk, network, tie
):
    stock(network["milano"], tie, 4)
    stock(network["warehouse"], network["shirt"], 3)
    page = clerk.post(URL, {**basket(network, MIXED), "check": "1"})
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-sku="CRAVATTA"' in html and 'data-sku="CAM-ROSSA-M"' in html
    rows = page.context["rows"]
    assert [(r["line"].sku, r["here"], r["network"]) for r in rows] == [("CRAVATTA", 4, 4), ("CAM-ROSSA-M", 0, 3)]
    assert page.context["due"] == Decimal("59.80")
    assert "ship_to_home" not in html.split('id="totals"')[1]  # labels, not codes
    assert not Order.objects.exists()


def test_a_mixed_basket_is_sold_as_a_carry_out_order_and_a_shipped_order_paid_by_four_tenders(clerk, network, tie):
    stock(network["milano"], tie, 4)
    stock(network["warehouse"], network["shirt"], 3)
    customer = known_customer(points=1000, credit="15.00")
    card = gift_cards.issue(amount=Decimal("20.00"))
    # 19.90 + 39.90 + a 25.00 gift card = 84.80; 1000 points pay 10.00; 15.00 credit, 20.00 gift card, 39.80 card.
    data = basket(
        network,
        MIXED,
        customer=customer.pk,
        sell_gift_card="25.00",
        points=1000,
        store_credit="15.00",
        gift_card_code=gift_cards.printed(card.code),
        gift_card="20.00",
        paid_card="39.80",
        street="Via Po 3",
        postcode="10123",
        city="Torino",
        sell="1",
    )
    response = clerk.post(URL, data)

    assert response.status_code == 302, response.context["form"].errors if response.context else ""
    here, shipped = Order.objects.order_by("external_id")
    assert here.external_id.rsplit("-", 1)[0] == shipped.external_id.rsplit("-", 1)[0]
    assert (here.fulfilment_type, here.status, here.total) == ("carry_out", "completed", Decimal("44.90"))
    assert (shipped.fulfilment_type, shipped.shipping_address["city"]) == ("ship_to_home", "Torino")
    assert sum(o.points_redeemed for o in (here, shipped)) == 1000
    tenders = sorted((p.tender, p.amount) for o in (here, shipped) for p in o.payments.all())
    assert sum(a for t, a in tenders if t == "gift_card") == Decimal("20.00")
    assert sum(a for t, a in tenders if t == "store_credit") == Decimal("15.00")
    assert sum(a for t, a in tenders if t == "card") == Decimal("39.80")
    assert not here.payments.filter(tender="gift_card").exists()  # a gift card sold is not paid with a gift card
    assert StockLevel.objects.get(location=network["milano"], variant=tie).on_hand == 3
    assert StockLevel.objects.get(location=network["warehouse"], variant=network["shirt"]).reserved == 1
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("0.00")
    assert here.gift_cards_sold.get().balance == Decimal("25.00")
    receipt = clerk.get(f"/admin/orders/order/{here.pk}/receipt/").content.decode()
    assert gift_cards.printed(here.gift_cards_sold.get().code) in receipt  # the buyer gets the code on paper
    assert StoreCreditBalance.objects.get(customer=customer).balance == Decimal("0.00")
    assert loyalty.open_account(customer=customer).balance < 1000 + 100  # spent 1000, earned on what was paid
    assert gift_cards.differences() == [] and store_credit.differences() == []


def test_a_customer_is_found_by_card_and_picked(clerk, network, tie):
    customer = known_customer()
    page = clerk.post(URL, {**basket(network, []), "find": "CARD-777", "check": "1"})
    assert page.context["found_customers"] == [customer]
    picked = clerk.post(URL, {**basket(network, []), "pick": str(customer.pk), "check": "1"})
    assert picked.context["customer_chosen"] == customer


def test_a_new_customer_is_enrolled_in_the_same_screen_and_the_order_is_theirs(clerk, network, tie):
    stock(network["milano"], tie, 1)
    data = basket(
        network,
        MIXED[:1],
        enrol="on",
        first_name="Giulia",
        last_name="Bianchi",
        card="NEW-CARD-1",
        phone="333 123 4567",
        consent_marketing_email="on",
        paid_cash="19.90",
        sell="1",
    )
    assert clerk.post(URL, data).status_code == 302
    order = Order.objects.get()
    assert (order.customer.first_name, order.customer.last_name) == ("Giulia", "Bianchi")
    assert order.customer.identifiers.filter(kind="card", value="NEW-CARD-1").exists()
    assert order.points_earned > 0


def test_a_short_gift_card_fails_the_whole_basket_and_writes_nothing(clerk, network, tie):
    stock(network["milano"], tie, 4)
    stock(network["warehouse"], network["shirt"], 3)
    card = gift_cards.issue(amount=Decimal("5.00"))
    data = basket(
        network,
        MIXED,
        enrol="on",
        first_name="Marco",
        last_name="Verdi",
        card="NEW-CARD-2",
        gift_card_code=card.code,
        gift_card="30.00",
        paid_card="29.80",
        street="Via Po 3",
        postcode="10123",
        city="Torino",
        sell="1",
    )
    page = clerk.post(URL, data)
    assert page.status_code == 200
    assert page.context["form"].non_field_errors()
    assert not Order.objects.exists()
    assert not Customer.objects.filter(last_name="Verdi").exists()
    assert GiftCard.objects.get(pk=card.pk).balance == Decimal("5.00")
    assert StockLevel.objects.get(location=network["milano"], variant=tie).on_hand == 4


def test_tenders_that_do_not_add_up_are_refused_with_the_amount_due(clerk, network, tie):
    stock(network["milano"], tie, 4)
    page = clerk.post(URL, {**basket(network, MIXED[:1], paid_card="10.00"), "sell": "1"})
    assert "19.90" in " ".join(page.context["form"].non_field_errors())
    assert not Order.objects.exists()


def test_a_clerk_sells_only_at_their_own_store(clerk, network, tie):
    stock(network["roma"], tie, 4)
    data = {**basket(network, MIXED[:1], paid_cash="19.90"), "store": network["roma"].pk, "sell": "1"}
    response = clerk.post(URL, data)
    assert response.status_code in (200, 403)
    assert not Order.objects.exists()


def test_the_page_needs_the_permission_to_create_orders(client, network):
    user = User.objects.create_user("mk", "mk@example.it", "pw-Secret-1", is_staff=True)
    client.force_login(user)
    assert client.get(URL).status_code == 403
