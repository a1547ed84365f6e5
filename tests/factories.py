"""factory_boy factories for the shared core."""

from decimal import Decimal

import factory
from django.utils import timezone

from customers.models import Customer, Identifier
from inventory.models import StockLevel
from omni.catalog.models import Channel, Location, LocationKind, Product, Variant
from omni.orders.models import Order, OrderLine


def channel(code: str) -> Channel:
    """The channels are made by a migration; tests fetch them."""
    return Channel.objects.get(code=code)


class LocationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Location

    code = factory.Sequence(lambda n: f"LOC{n:03d}")
    name = factory.Sequence(lambda n: f"Negozio {n}")
    kind = LocationKind.STORE
    city = "Milano"
    postcode = "20121"
    latitude = Decimal("45.464211")
    longitude = Decimal("9.191383")
    is_pickup_point = True
    ships_to_customers = False


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product
        skip_postgeneration_save = True

    code = factory.Sequence(lambda n: f"P{n:05d}")
    name = factory.Sequence(lambda n: f"Camicia {n}")
    category = "camicie"

    @factory.post_generation
    def channels(self, create, extracted, **kwargs):
        if create:
            self.channels.set(extracted if extracted is not None else Channel.objects.all())


class VariantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Variant

    product = factory.SubFactory(ProductFactory)
    sku = factory.Sequence(lambda n: f"SKU-{n:06d}")
    color = "rosso"
    size = "M"
    price = Decimal("29.90")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = "Giulia"
    last_name = factory.Sequence(lambda n: f"Rossi{n}")
    email = factory.Sequence(lambda n: f"giulia{n}@example.it")


class IdentifierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Identifier

    customer = factory.SubFactory(CustomerFactory)
    kind = "email"
    value = factory.Sequence(lambda n: f"person{n}@example.it")


class StockLevelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = StockLevel

    location = factory.SubFactory(LocationFactory)
    variant = factory.SubFactory(VariantFactory)
    on_hand = 10


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"OM{n:08d}")
    channel = factory.LazyFunction(lambda: channel("web"))
    customer = factory.SubFactory(CustomerFactory)
    total = Decimal("29.90")
    created_at = factory.LazyFunction(timezone.now)


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    variant = factory.SubFactory(VariantFactory)
    quantity = 1
    unit_price = Decimal("29.90")
    line_total = Decimal("29.90")
