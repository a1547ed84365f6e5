"""seed_demo: a believable retailer, written once; one small demo read by every test of this module.

The runs that need an empty database of their own (same seed, same rows; --scale; bad options) are in
test_seed_demo_runs.py.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import transaction
from django.db.models import Count, F, Q, Sum
from django.test.utils import override_settings

from customers.models import ConsentChange, Customer, Identifier
from inventory.models import StockLevel, StockMovement
from loyalty.models import GiftCard, GiftCardEntry, LedgerEntry
from omni import demo
from omni.api.keys import client_for_key
from omni.catalog.models import ChannelPrice, Location, Product, Variant
from omni.catalog.services import GIFT_CARD_SKU
from omni.models import ALL_SCOPES, ApiClient
from omni.orders.models import Allocation, Order, OrderLine, Payment
from returns.models import Return

pytestmark = pytest.mark.django_db

UNTIL = "2026-11-01"
ROME_DAY_START = datetime.fromisoformat("2026-11-01T00:00:00+01:00")


FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    """The demo logins hash a password on every run; the slow default hasher would dominate these tests."""
    settings.PASSWORD_HASHERS = [FAST_HASHER]


def seed(scale: float = 0.02, seed: int = 7, **options) -> str:
    out = io.StringIO()
    call_command("seed_demo", scale=scale, seed=seed, until=UNTIL, stdout=out, **options)
    return out.getvalue()


def run_and_roll_back(**options) -> str:
    """Seed, fingerprint, then roll the run back: the next run starts from the same empty database."""
    with transaction.atomic():
        seed(**options)
        result = fingerprint()
        transaction.set_rollback(True)
    return result


def fingerprint() -> str:
    """A hash of the rows that matter: equal hashes mean the same data (on either database).

    The rows the services write are compared by what they say, not by their ids (a sequence moves on
    even when a run is rolled back); the rows the seeder numbers itself are compared with their ids.
    """
    digest = hashlib.sha256()
    querysets = [
        Location.objects.values_list("pk", "code", "kind", "latitude", "longitude", "is_pickup_point").order_by("pk"),
        Variant.objects.values_list("pk", "product__code", "product__name", "sku", "color", "size", "price")
        .order_by("pk"),
        ChannelPrice.objects.values_list("variant_id", "channel_id", "price").order_by("pk"),
        StockLevel.objects.values_list("location_id", "variant_id", "on_hand", "reserved", "safety_stock")
        .order_by("location_id", "variant_id"),
        Customer.objects.values_list("pk", "first_name", "last_name", "email", "phone", "birth_date", "created_at")
        .order_by("pk"),
        Identifier.objects.values_list("customer_id", "kind", "value").order_by("customer_id", "kind", "value"),
        Order.objects.values_list("channel__code", "external_id", "location_id", "customer_id", "status",
                                  "fulfilment_type", "pickup_location_id", "shipping_address", "total",
                                  "points_earned", "points_redeemed", "created_at")
        .order_by("created_at", "channel__code", "external_id"),
        OrderLine.objects.values_list("order__external_id", "variant_id", "quantity", "unit_price", "discount",
                                      "line_total").order_by("order__created_at", "order__external_id", "variant_id"),
        LedgerEntry.objects.values_list("account__customer_id", "kind", "points", "created_at")
        .order_by("created_at", "account__customer_id", "kind", "points"),
        ConsentChange.objects.values_list("customer_id", "purpose", "is_granted", "channel", "changed_at")
        .order_by("changed_at", "customer_id", "purpose"),
        Return.objects.values_list("order__external_id", "status", "location_id", "refund_to", "refund_amount")
        .order_by("order__external_id", "status"),
        # Not their codes: a card's code is drawn by the gift-card ledger from `secrets`, as a real card's is.
        GiftCard.objects.values_list("order__external_id", "initial_amount", "balance", "issued_at", "updated_at")
        .order_by("issued_at", "order__external_id"),
        GiftCardEntry.objects.values_list("card__order__external_id", "order__external_id", "amount", "reason",
                                          "created_at").order_by("created_at", "card__order__external_id"),
    ]  # fmt: skip
    for queryset in querysets:
        for row in queryset.iterator():
            # JSON objects compare by content: jsonb on PostgreSQL keeps its own key order.
            canonical = tuple(sorted(value.items()) if isinstance(value, dict) else value for value in row)
            digest.update(repr(canonical).encode())
    return digest.hexdigest()


@pytest.fixture(scope="module")
def written(django_db_setup, django_db_blocker):
    """One small demo for the module's tests, which only read it (or add a row in their own transaction)."""
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=[FAST_HASHER]), transaction.atomic():
        output = seed()
        yield output
        transaction.set_rollback(True)


def test_a_small_scale_has_a_dozen_stores_in_italian_cities_two_warehouses_and_a_catalogue_of_variants(written):
    stores = Location.objects.filter(kind="store")
    assert 10 <= stores.count() <= 14
    assert {"Milano", "Roma", "Napoli", "Torino", "Palermo"} <= set(stores.values_list("city", flat=True))
    assert Location.objects.filter(kind="warehouse").count() == 2
    for location in Location.objects.all():
        assert Decimal("36") < location.latitude < Decimal("47.5"), location  # Italy, roughly
        assert Decimal("6.5") < location.longitude < Decimal("18.6"), location
    assert stores.filter(is_pickup_point=True).count() >= 10
    assert Location.objects.filter(kind="warehouse", ships_to_customers=True).count() == 2
    assert Product.objects.count() >= demo.MIN_PRODUCTS
    assert Variant.objects.count() > 3 * Product.objects.count()
    assert not Product.objects.filter(variants__isnull=True).exists()
    # Every product is on some channel's shelf; the gift card item (made by the first card sold) on none.
    assert not Product.objects.filter(channels__isnull=True).exclude(variants__sku=GIFT_CARD_SKU).exists()
    assert {"camicie", "pantaloni", "maglieria", "giacche", "scarpe", "accessori"} <= set(
        Product.objects.values_list("category", flat=True)
    )
    colours = Variant.objects.exclude(sku=GIFT_CARD_SKU).values_list("color", flat=True)
    assert set(colours) <= set(demo.COLOURS)
    assert ChannelPrice.objects.exists()


def test_customers_come_in_every_kind_including_anonymous_ones_known_only_by_a_device(written):
    assert set(Identifier.objects.values_list("kind", flat=True)) == {"email", "phone", "card", "web_account", "device"}
    anonymous = Customer.objects.filter(first_name="", last_name="", email="", phone="")
    assert anonymous.exists()
    for customer in anonymous.prefetch_related("identifiers"):
        assert [identifier.kind for identifier in customer.identifiers.all()] == ["device"]
    for customer in Customer.objects.exclude(pk__in=anonymous).prefetch_related("identifiers")[:200]:
        values = {identifier.kind: identifier.value for identifier in customer.identifiers.all()}
        assert customer.first_name and customer.last_name
        assert values.get("email", "") == customer.email
        assert values.get("phone", "") == customer.phone
    emails = Identifier.objects.filter(kind="email").values_list("value", flat=True)
    assert all(re.fullmatch(r"[a-z0-9.]+@example\.(it|com|net|org)", email) for email in emails)
    phones = Identifier.objects.filter(kind="phone").values_list("value", flat=True)
    assert all(re.fullmatch(r"\+393\d{9}", phone) for phone in phones)


def test_every_location_has_stock_counted_before_the_year_and_every_level_is_what_its_movements_add_up_to(written):
    for location in Location.objects.all():
        assert StockLevel.objects.filter(location=location, on_hand__gt=0).exists(), location
    counts = StockMovement.objects.filter(kind="count")
    # Rows the year added (a till sale of a SKU the store had none of, a return) start from no count.
    assert StockLevel.objects.count() - counts.count() < 0.05 * counts.count()
    assert not counts.filter(created_at__gte=ROME_DAY_START - timedelta(days=365)).exists()
    sums = {
        (row["location_id"], row["variant_id"]): row["units"]
        for row in StockMovement.objects.values("location_id", "variant_id")
        .order_by()
        .annotate(units=Sum("on_hand_delta"))
    }
    for location_id, variant_id, on_hand in StockLevel.objects.values_list("location_id", "variant_id", "on_hand"):
        assert sums[(location_id, variant_id)] == on_hand
    assert StockMovement.objects.filter(kind="sale").exists()


def test_orders_cover_the_year_before_until_on_several_channels_with_totals_that_add_up(written):
    per_channel = dict(Order.objects.values_list("channel__code").annotate(count=Count("pk")))
    assert {"store", "web", "app"} <= set(per_channel)
    assert len(per_channel) >= 4
    assert per_channel["store"] == max(per_channel.values())
    first, last = Order.objects.order_by("created_at")[0], Order.objects.order_by("-created_at")[0]
    assert ROME_DAY_START - timedelta(days=365) <= first.created_at < last.created_at < ROME_DAY_START
    assert last.created_at - first.created_at > timedelta(days=330)

    lines = defaultdict(list)
    for line in OrderLine.objects.all():
        assert line.quantity >= 1
        assert line.line_total == line.unit_price * line.quantity - line.discount
        assert Decimal("0") <= line.discount < line.unit_price * line.quantity
        lines[line.order_id].append(line)
    payments = defaultdict(list)
    for payment in Payment.objects.all():
        assert payment.amount > 0
        payments[payment.order_id].append(payment.amount)
    allocated = dict(Allocation.objects.values_list("line_id").annotate(units=Sum("quantity")))
    gift_card = Variant.objects.get(sku=GIFT_CARD_SKU).pk  # a gift card sold is a line that takes no stock
    for order in Order.objects.all():
        assert lines[order.pk], order
        assert order.total == sum(line.line_total for line in lines[order.pk])
        assert order.subtotal - order.discount_total == order.total
        assert sum(payments[order.pk]) == order.total - order.points_value, order  # the rest was paid with points
        for line in lines[order.pk]:
            assert allocated.get(line.pk) == (None if line.variant_id == gift_card else line.quantity), order


def test_each_channel_fulfils_its_orders_the_way_a_store_or_a_site_would(written):
    stores = dict(Location.objects.filter(kind="store").values_list("pk", "code"))
    pickup_points = set(Location.objects.filter(is_pickup_point=True).values_list("pk", flat=True))
    allocations = defaultdict(set)
    for order_id, location_id in Allocation.objects.values_list("line__order_id", "location_id"):
        allocations[order_id].add(location_id)
    gift_cards_sold = set(OrderLine.objects.filter(variant__sku=GIFT_CARD_SKU).values_list("order_id", flat=True))
    kinds = Counter()
    for order in Order.objects.select_related("channel"):
        kinds[(order.channel.code, order.fulfilment_type, order.is_endless_aisle)] += 1
        if order.external_id is None:  # the new order of an exchange at the till, paid with the returned value
            assert order.channel.code == "store" and order.payments.filter(tender="store_credit").exists(), order
            continue
        if order.channel.code == "store":
            assert order.location_id in stores
            assert order.external_id.startswith(f"{stores[order.location_id]}-")  # the till's receipt number
            if order.is_endless_aisle:
                assert order.fulfilment_type in ("ship_to_home", "ship_to_store")
                assert allocations[order.pk] - {order.location_id}  # that store did not have all of it
            else:  # carried out; or ordered for delivery and served wholly from this store's own shelves
                carried_out = order.fulfilment_type == "carry_out" and order.status == "completed"
                assert carried_out or order.fulfilment_type in ("ship_to_home", "ship_to_store")
                if order.pk in gift_cards_sold:  # a receipt of its own: a gift card takes no stock
                    assert carried_out and not allocations[order.pk], order
                else:
                    assert allocations[order.pk] == {order.location_id}
        else:
            assert order.location_id is None
            assert not order.is_endless_aisle
            assert order.fulfilment_type != "carry_out"
        recent = order.created_at > ROME_DAY_START - timedelta(days=21)
        if order.fulfilment_type in ("click_and_collect", "ship_to_store"):
            assert order.pickup_location_id in pickup_points
            assert order.status in ("collected", "cancelled") or recent, order  # open ones are the last days'
        if order.fulfilment_type == "ship_to_home":
            assert order.shipping_address["country"] == "IT"
            assert order.status in ("shipped", "cancelled") or recent, order
    assert kinds[("store", "carry_out", False)] > kinds[("web", "ship_to_home", False)] > 0
    assert kinds[("web", "click_and_collect", False)] > 0
    assert sum(count for (channel, _f, endless), count in kinds.items() if endless) > 0
    statuses = Counter(Order.objects.values_list("status", flat=True))
    assert statuses["completed"] + statuses["collected"] + statuses["shipped"] > 0.9 * sum(statuses.values())


def test_no_customer_orders_before_joining_and_every_order_earns_the_points_its_ledger_says(written):
    assert Order.objects.filter(customer__isnull=False).exists()
    assert Order.objects.filter(customer__isnull=True, channel__code="store").exists()  # walk-in shoppers
    assert not Order.objects.filter(customer__isnull=False, created_at__lt=F("customer__created_at")).exists()
    assert Order.objects.filter(points_earned__gt=0).exists()
    assert not Order.objects.filter(customer__isnull=True).filter(Q(points_earned__gt=0) | Q(points_redeemed__gt=0))
    earned = dict(
        LedgerEntry.objects.filter(kind="earn", order__isnull=False).values_list("order_id").annotate(n=Sum("points"))
    )
    for order_id, points in Order.objects.filter(points_earned__gt=0).values_list("pk", "points_earned"):
        assert earned[order_id] == points


def test_a_second_run_writes_nothing(written):
    before = fingerprint(), ApiClient.objects.count(), get_user_model().objects.count()

    output = seed(seed=99, scale=0.04)

    assert "already has locations" in output
    assert (fingerprint(), ApiClient.objects.count(), get_user_model().objects.count()) == before


def test_it_prints_progress_the_logins_and_an_api_key_that_works(written):
    output = written

    assert re.search(r"orders: \d+/\d+ \(100%\)", output)
    assert "admin / omni-demo" in output
    assert "negozio / omni-demo" in output
    key = re.search(r"API key \(all scopes\): (\S+)", output).group(1)
    client = client_for_key(key)
    assert client is not None
    assert sorted(client.scopes) == sorted(ALL_SCOPES)
    admin = get_user_model().objects.get(username="admin")
    clerk = get_user_model().objects.get(username="negozio")
    assert admin.is_superuser and admin.check_password("omni-demo")
    assert clerk.is_staff and not clerk.is_superuser and clerk.check_password("omni-demo")
    assert clerk.has_perm("customers.view_customer")


def test_rows_created_after_the_seed_get_fresh_ids(written):
    top = Customer.objects.order_by("-pk").values_list("pk", flat=True)[0]

    assert Customer.objects.create(first_name="Nuova").pk > top


def test_a_column_the_seeder_does_not_fill_and_that_has_no_default_is_named_in_the_error():
    with pytest.raises(RuntimeError, match="orders.Order.channel has no default"):
        demo._target(Order, ["id", "number"])


def test_the_orders_end_the_day_before_until_whatever_the_clock_says():
    assert demo.DemoBuilder(scale=0.01, seed=1, until=date(2026, 11, 1)).days[-1] == date(2026, 10, 31)
