from __future__ import annotations

from decimal import Decimal

from rest_framework import serializers

from omni.api.output import PlainOutput
from omni.catalog.models import CODE_VALIDATOR, ChannelCode, Location, LocationKind, Product, Variant

PRICE = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.01")}


class LocationSerializer(serializers.ModelSerializer):
    """A store or a warehouse. Coordinates are WGS84 degrees."""

    kind = serializers.ChoiceField(choices=LocationKind.choices)
    latitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal("-90"), max_value=Decimal("90"), coerce_to_string=False
    )
    longitude = serializers.DecimalField(
        max_digits=9, decimal_places=6, min_value=Decimal("-180"), max_value=Decimal("180"), coerce_to_string=False
    )

    class Meta:
        model = Location
        fields = [
            "code",
            "name",
            "kind",
            "address",
            "city",
            "postcode",
            "country",
            "latitude",
            "longitude",
            "is_pickup_point",
            "ships_to_customers",
            "is_active",
        ]
        extra_kwargs = {"is_active": {"read_only": True}}


class VariantInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64, validators=[CODE_VALIDATOR])
    color = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    size = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    price = serializers.DecimalField(**PRICE)


class ProductInSerializer(serializers.Serializer):
    code = serializers.CharField(max_length=40, validators=[CODE_VALIDATOR])
    name = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=80)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=ChannelCode.choices),
        required=False,
        allow_empty=False,
        help_text="The channels that sell the product; all channels when left out.",
    )
    variants = VariantInSerializer(many=True, allow_empty=False)


class VariantSerializer(PlainOutput, serializers.ModelSerializer):
    """A variant of the product: its SKU, colour, size and list price."""

    class Meta:
        model = Variant
        fields = ["sku", "color", "size", "price", "is_active"]


class ProductSerializer(PlainOutput, serializers.ModelSerializer):
    """A product with its variants and the channels that sell it."""

    # Read from what selectors.with_variants_and_channels sets on each product: a page holds hundreds of variants.
    channels = serializers.ListField(
        child=serializers.ChoiceField(choices=ChannelCode.choices), source="channel_codes", read_only=True
    )
    variants = VariantSerializer(many=True, read_only=True, source="variant_rows")

    class Meta:
        model = Product
        fields = ["code", "name", "category", "description", "channels", "is_active", "variants"]


class ProductSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Product
        fields = ["code", "name", "category"]


class ChannelOfferSerializer(serializers.Serializer):
    channel = serializers.CharField()
    currency = serializers.CharField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2)
    list_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    is_sold = serializers.BooleanField()
    differs_from_list = serializers.BooleanField(help_text="True when this channel sets its own price.")


class VariantDetailSerializer(serializers.Serializer):
    sku = serializers.CharField()
    color = serializers.CharField()
    size = serializers.CharField()
    list_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    product = ProductSummarySerializer()
    channel = serializers.CharField(allow_null=True, help_text="The channel asked for with ?channel=, if any.")
    price = serializers.DecimalField(
        max_digits=12, decimal_places=2, allow_null=True, help_text="The price on that channel."
    )
    currency = serializers.CharField(allow_null=True)
    is_sold_on_channel = serializers.BooleanField(allow_null=True, help_text="Whether that channel sells it.")
    offers = ChannelOfferSerializer(many=True, help_text="Price and sale on every channel, to compare them.")


class VariantListSerializer(serializers.ModelSerializer):
    list_price = serializers.DecimalField(source="price", max_digits=12, decimal_places=2, read_only=True)
    product = ProductSummarySerializer(read_only=True)
    channel = serializers.CharField(
        source="price_channel",
        default=None,
        read_only=True,
        allow_null=True,
        help_text="The channel asked for with ?channel=, if any.",
    )
    price = serializers.DecimalField(
        source="channel_price",
        max_digits=12,
        decimal_places=2,
        default=None,
        read_only=True,
        allow_null=True,
        help_text="The price on that channel (null without ?channel=).",
    )

    class Meta:
        model = Variant
        fields = ["sku", "color", "size", "list_price", "is_active", "product", "channel", "price"]


class VariantQuerySerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ChannelCode.choices, required=False)
