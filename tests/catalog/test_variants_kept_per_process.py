"""Each process keeps the variants it priced (omni.catalog.selectors.sellable): an order of SKUs it already holds
reads no catalog row. Every kind of writer of the variants, the products, their channels and the channel prices
renews the token, so a change is seen by the very next quote or order; a change rolled back never is."""

import multiprocessing
from datetime import date
from decimal import Decimal

import pytest
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from loyalty.models import Promotion, PromotionKind, PromotionTarget
from loyalty.pricing import LineIn, quote_basket
from omni import versions
from omni.catalog import selectors, services
from omni.catalog.models import Channel, ChannelPrice, Product, Variant
from omni.errors import Invalid, NotSoldOnChannel
from tests.factories import ProductFactory, VariantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shirt(db) -> Variant:
    return VariantFactory(sku="CAM-ROSSA-M", price=Decimal("39.90"), product=ProductFactory(code="CAM-ROSSA"))


def web() -> Channel:
    return Channel.objects.get(code="web")


def unit_price(sku: str = "CAM-ROSSA-M", channel: Channel | None = None) -> Decimal:
    return quote_basket(channel=channel or web(), lines=[LineIn(sku, 1)]).lines[0].unit_price


def catalog_reads(queries) -> list[str]:
    return [q["sql"] for q in queries.captured_queries if "catalog_" in q["sql"]]


# --- Read once, then kept ---------------------------------------------------------------------------------------


def test_a_quote_of_skus_the_process_holds_reads_no_catalog_row_and_the_tokens_once(shirt):
    channel = web()
    assert unit_price(channel=channel) == Decimal("39.90")  # read and kept

    with CaptureQueriesContext(connection) as queries:
        quote = quote_basket(channel=channel, lines=[LineIn("CAM-ROSSA-M", 2)])
    assert quote.total == Decimal("79.80")
    assert catalog_reads(queries) == []
    # The tokens of the variants and of the rules in one query, and nothing else.
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT name, value FROM omni_version"]


def test_only_the_skus_not_held_are_read_in_one_query(shirt):
    other = VariantFactory(sku="CAM-BLU-M", price=Decimal("35.00"), product=shirt.product)
    channel = web()
    unit_price(channel=channel)  # CAM-ROSSA-M held

    with CaptureQueriesContext(connection) as queries:
        quote = quote_basket(channel=channel, lines=[LineIn("CAM-ROSSA-M", 1), LineIn(other.sku, 1)])
    assert quote.total == Decimal("74.90")
    reads = catalog_reads(queries)
    assert len(reads) == 1
    assert "CAM-BLU-M" in reads[0] and "CAM-ROSSA-M" not in reads[0]  # the SKU held is not asked again


def test_each_channel_is_kept_apart(shirt):
    ChannelPrice.objects.create(variant=shirt, channel=web(), price=Decimal("34.90"))
    store = Channel.objects.get(code="store")
    assert unit_price(channel=web()) == Decimal("34.90")
    assert unit_price(channel=store) == Decimal("39.90")
    assert unit_price(channel=web()) == Decimal("34.90")


def test_the_variants_handed_out_are_new_instances_a_caller_may_change(shirt):
    first = quote_basket(channel=web(), lines=[LineIn("CAM-ROSSA-M", 1), LineIn("CAM-ROSSA-M", 2)])
    variant = first.lines[0].variant
    assert first.lines[1].variant is variant  # one instance per SKU of a basket, as the ORM query gave
    assert variant.product.code == "CAM-ROSSA" and variant.pk == shirt.pk
    variant.price = Decimal("1.00")
    variant.product.category = "changed by a caller"
    variant.product._prefetched_objects_cache = {"channels": []}  # type: ignore[attr-defined]

    again = quote_basket(channel=web(), lines=[LineIn("CAM-ROSSA-M", 1)])
    assert again.lines[0].variant is not variant
    assert again.lines[0].variant.price == Decimal("39.90")
    assert again.lines[0].category == "camicie"
    assert not hasattr(again.lines[0].variant.product, "_prefetched_objects_cache")


def test_the_kept_values_are_those_the_orm_reads(shirt):
    """Decimals, booleans and datetimes come back from SQLite as numbers and text: converted as the ORM does."""
    channel = web()
    ChannelPrice.objects.create(variant=shirt, channel=channel, price=Decimal("34.90"))
    quote_basket(channel=channel, lines=[LineIn("CAM-ROSSA-M", 1)])  # kept
    with CaptureQueriesContext(connection) as queries:
        line = quote_basket(channel=channel, lines=[LineIn("CAM-ROSSA-M", 1)]).lines[0]
    assert catalog_reads(queries) == []
    loaded = Variant.objects.select_related("product").get(pk=shirt.pk)
    for field in Variant._meta.concrete_fields:
        assert getattr(line.variant, field.attname) == getattr(loaded, field.attname), field.name
        assert type(getattr(line.variant, field.attname)) is type(getattr(loaded, field.attname)), field.name
    for field in Product._meta.concrete_fields:
        assert getattr(line.variant.product, field.attname) == getattr(loaded.product, field.attname), field.name
        assert type(getattr(line.variant.product, field.attname)) is type(getattr(loaded.product, field.attname))
    assert line.list_price == Decimal("34.90") and isinstance(line.list_price, Decimal)
    assert line.variant._state.adding is False and line.variant._state.db == "default"


def test_an_unknown_sku_is_not_kept_and_is_sold_once_created(shirt):
    with pytest.raises(Invalid):
        unit_price("CAM-VERDE-M")
    VariantFactory(sku="CAM-VERDE-M", price=Decimal("41.00"), product=shirt.product)
    assert unit_price("CAM-VERDE-M") == Decimal("41.00")


def test_past_the_cap_the_map_is_dropped_and_filled_again(shirt, monkeypatch):
    monkeypatch.setattr(selectors, "KEPT_VARIANTS_MAX", 2)
    for sku in ("A-1", "A-2", "A-3"):
        VariantFactory(sku=sku, price=Decimal("10.00"), product=shirt.product)
    channel = web()
    for sku in ("CAM-ROSSA-M", "A-1", "A-2", "A-3", "CAM-ROSSA-M"):
        quote_basket(channel=channel, lines=[LineIn(sku, 1)])
        assert len(versions.kept(selectors.VARIANTS, dict)) <= 2
    # A basket larger than the cap is priced, and nothing of it kept.
    quote = quote_basket(channel=channel, lines=[LineIn(sku, 1) for sku in ("A-1", "A-2", "A-3")])
    assert quote.total == Decimal("30.00")
    assert len(versions.kept(selectors.VARIANTS, dict)) <= 2


# --- Every writer renews the token: the next quote sees the change ----------------------------------------------


def test_a_list_price_saved_is_seen_by_the_next_quote(shirt):
    assert unit_price() == Decimal("39.90")
    shirt.price = Decimal("29.90")
    shirt.save()
    assert unit_price() == Decimal("29.90")


def test_a_channel_price_made_changed_and_deleted_is_seen_by_the_next_quote(shirt):
    assert unit_price() == Decimal("39.90")
    override = ChannelPrice.objects.create(variant=shirt, channel=web(), price=Decimal("34.90"))
    assert unit_price() == Decimal("34.90")
    override.price = Decimal("33.90")
    override.save()
    assert unit_price() == Decimal("33.90")
    override.delete()
    assert unit_price() == Decimal("39.90")


def test_a_variant_or_product_switched_off_is_refused_by_the_next_quote(shirt):
    assert unit_price() == Decimal("39.90")
    shirt.is_active = False
    shirt.save()
    with pytest.raises(NotSoldOnChannel):
        unit_price()
    shirt.is_active = True
    shirt.save()
    assert unit_price() == Decimal("39.90")

    product = shirt.product
    product.is_active = False
    product.save()
    with pytest.raises(NotSoldOnChannel):
        unit_price()


def test_a_channel_taken_off_a_product_is_refused_by_the_next_quote(shirt):
    assert unit_price() == Decimal("39.90")
    shirt.product.channels.remove(web())
    with pytest.raises(NotSoldOnChannel):
        unit_price()
    shirt.product.channels.add(web())
    assert unit_price() == Decimal("39.90")
    shirt.product.channels.clear()
    with pytest.raises(NotSoldOnChannel):
        unit_price()


def test_a_product_moved_to_another_category_gets_that_categorys_promotion(shirt):
    Promotion.objects.create(
        code="BORSE10",
        name="Bags -10%",
        kind=PromotionKind.PERCENT,
        value=Decimal("10"),
        target=PromotionTarget.CATEGORY,
        category="borse",
    )
    assert quote_basket(channel=web(), lines=[LineIn("CAM-ROSSA-M", 1)]).total == Decimal("39.90")
    product = shirt.product
    product.category = "borse"
    product.save()
    assert quote_basket(channel=web(), lines=[LineIn("CAM-ROSSA-M", 1)]).total == Decimal("35.91")


def test_a_channel_price_changed_and_deleted_in_the_admin_is_seen_by_the_next_quote(shirt, admin_client):
    override = ChannelPrice.objects.create(variant=shirt, channel=web(), price=Decimal("34.90"))
    assert unit_price() == Decimal("34.90")
    response = admin_client.post(
        f"/admin/catalog/channelprice/{override.pk}/change/",
        {"variant": shirt.pk, "channel": web().pk, "price": "31.90"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert unit_price() == Decimal("31.90")

    # The changelist's "delete selected" deletes with QuerySet.delete(): the signals still fire per row.
    response = admin_client.post(
        "/admin/catalog/channelprice/",
        {"action": "delete_selected", "_selected_action": [override.pk], "post": "yes"},
    )
    assert response.status_code == 302, response.content.decode()[-2000:]
    assert not ChannelPrice.objects.exists()
    assert unit_price() == Decimal("39.90")


def test_a_product_created_by_the_catalog_service_is_sold_by_the_next_quote(shirt):
    assert unit_price() == Decimal("39.90")
    before = versions.tokens()[selectors.VARIANTS]
    services.create_product(
        code="BORSA", name="Borsa", category="borse", variants=[services.VariantIn("BORSA-NERA", Decimal("99.00"))]
    )
    assert versions.tokens()[selectors.VARIANTS] != before
    assert unit_price("BORSA-NERA") == Decimal("99.00")


def test_a_writer_past_the_signals_is_seen_once_it_renews_the_token(shirt):
    """A QuerySet.update, bulk_update or raw SQL sends no signal: the writer calls versions.changed(VARIANTS) in
    its transaction (until then this process still prices from what it holds)."""
    assert unit_price() == Decimal("39.90")
    with transaction.atomic():
        Variant.objects.filter(pk=shirt.pk).update(price=Decimal("19.90"))
        assert unit_price() == Decimal("39.90")  # held: the writer has not renewed the token yet
        versions.changed(selectors.VARIANTS)
    assert unit_price() == Decimal("19.90")


def test_the_demo_seeder_renews_the_tokens_of_what_it_wrote_past_the_signals(monkeypatch, settings):
    """The seeder writes the catalogue and the network with COPY (executemany on SQLite): no signal fires."""
    from omni.demo import DemoBuilder

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    after_the_bulk_part = (
        "settings_of_the_year",
        "loyalty_cards",
        "consents",
        "history",
        "pickups_today",
        "returns",
        "nightly_jobs",
        "tour",
    )
    for phase in after_the_bulk_part:  # the services of those phases renew tokens through the signals
        monkeypatch.setattr(DemoBuilder, phase, lambda self: None)
    before = {name: versions.token(name) for name in (selectors.VARIANTS, selectors.PLACES)}
    with transaction.atomic():
        DemoBuilder(scale=0.02, seed=7, until=date(2026, 11, 1)).run()
        assert Variant.objects.exists()
        after = versions.tokens()
    for name, token in before.items():
        assert after[name] != token, name


# --- Rolled back, or changed by another process -----------------------------------------------------------------


def test_a_change_rolled_back_is_seen_inside_its_transaction_and_never_after(shirt):
    assert unit_price() == Decimal("39.90")
    with pytest.raises(RuntimeError), transaction.atomic():
        shirt.price = Decimal("9.90")
        shirt.save()
        assert unit_price() == Decimal("9.90")  # this process now holds a change never committed
        raise RuntimeError("rolled back")
    assert unit_price() == Decimal("39.90")


def _change_price_in_another_process(sku: str, price: str) -> None:
    for alias in connections:  # the parent's connections are not ours: forget them without closing them
        connections[alias].connection = None
    variant = Variant.objects.get(sku=sku)
    variant.price = Decimal(price)
    variant.save()
    connections.close_all()


@pytest.mark.postgres_only("a second process writes and commits while this one holds the variants")
@pytest.mark.django_db(transaction=True)
def test_a_price_changed_by_another_process_is_seen_by_this_ones_next_quote(shirt):
    assert unit_price() == Decimal("39.90")  # this process holds the variant

    child = multiprocessing.get_context("fork").Process(
        target=_change_price_in_another_process, args=("CAM-ROSSA-M", "27.90")
    )
    child.start()
    child.join(60)
    assert child.exitcode == 0
    assert unit_price() == Decimal("27.90")
