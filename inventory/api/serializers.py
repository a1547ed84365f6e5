"""Shapes of the stock, reservation and availability endpoints (input checked here, rules in services)."""

from __future__ import annotations

from rest_framework import serializers

from inventory.selectors import MAX_SKUS
from inventory.services import DEFAULT_HOLD_MINUTES, MAX_HOLD_MINUTES, MAX_ON_HAND, MAX_QUANTITY, REASON_MAX_LENGTH
from omni.api.fields import IdField
from omni.catalog.models import ChannelCode


class StockCountInSerializer(serializers.Serializer):
    on_hand = serializers.IntegerField(
        min_value=0, max_value=MAX_ON_HAND, help_text="The units counted on the shelf and in the back room."
    )
    reason = serializers.CharField(
        max_length=REASON_MAX_LENGTH,
        required=False,
        allow_blank=True,
        default="count",
        help_text='Why the count was taken; "count" when left out or blank.',
    )


class StockLevelSerializer(serializers.Serializer):
    location = serializers.CharField(source="location.code")
    sku = serializers.CharField(source="variant.sku")
    on_hand = serializers.IntegerField()
    reserved = serializers.IntegerField()
    safety_stock = serializers.IntegerField()
    quarantined = serializers.IntegerField(help_text="Damaged returns held apart; not sellable.")
    available = serializers.IntegerField(
        source="units_available",
        help_text="on_hand - held (holds past their expiry hold nothing) - safety_stock, never below 0.",
    )
    updated_at = serializers.DateTimeField()


class ReservationInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_QUANTITY)
    location = serializers.CharField(max_length=32, help_text="The code of the pick-up store that holds the units.")
    customer = IdField(required=False, allow_null=True, default=None, help_text="The customer's id.")
    hold_minutes = serializers.IntegerField(
        min_value=1,
        max_value=MAX_HOLD_MINUTES,
        required=False,
        default=DEFAULT_HOLD_MINUTES,
        help_text=f"How long the units are held; {DEFAULT_HOLD_MINUTES} when left out.",
    )


class ReservationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    sku = serializers.CharField(source="variant.sku")
    location = serializers.CharField(source="location.code")
    quantity = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    status = serializers.CharField(
        source="current_status",
        help_text="`active`, `released`, `consumed` or `expired` (a hold past `expires_at` is expired at once).",
    )
    expires_at = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class AvailabilityQuerySerializer(serializers.Serializer):
    sku = serializers.ListField(
        child=serializers.CharField(max_length=64, allow_blank=True),
        allow_empty=False,
        max_length=MAX_SKUS,
        help_text=f"One or more SKUs (repeat the parameter, or separate with commas); at most {MAX_SKUS}.",
    )
    channel = serializers.ChoiceField(choices=ChannelCode.choices, required=False, default=ChannelCode.WEB)
    near = serializers.CharField(required=False, help_text="LAT,LON in degrees: lists locations nearest first.")
    location = serializers.CharField(
        required=False, max_length=32, help_text="A store's code: its own stock and its options."
    )

    def validate_sku(self, value: list[str]) -> list[str]:
        skus = list(dict.fromkeys(part.strip() for item in value for part in item.split(",") if part.strip()))
        if not skus:
            raise serializers.ValidationError("At least one SKU is required.")
        if len(skus) > MAX_SKUS:
            raise serializers.ValidationError(f"At most {MAX_SKUS} SKUs per request.")
        return skus

    def validate_near(self, value: str) -> tuple[float, float]:
        parts = value.split(",")
        try:
            if len(parts) != 2:
                raise ValueError
            latitude, longitude = float(parts[0]), float(parts[1])
        except ValueError:
            raise serializers.ValidationError("Give LAT,LON as two numbers, e.g. 45.46,9.19.")
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            raise serializers.ValidationError("Latitude must be within -90..90 and longitude within -180..180.")
        return latitude, longitude


class LocationAvailabilitySerializer(serializers.Serializer):
    code = serializers.CharField()
    name = serializers.CharField()
    kind = serializers.CharField(help_text="`store` or `warehouse`.")
    city = serializers.CharField()
    available = serializers.IntegerField()
    is_pickup_point = serializers.BooleanField()
    ships_to_customers = serializers.BooleanField()
    distance_km = serializers.FloatField(allow_null=True, help_text="From `near`; null without it.")


class OptionSerializer(serializers.Serializer):
    fulfilment = serializers.CharField(help_text="`ship_to_home`, `click_and_collect`, `ship_to_store` or `carry_out`.")
    location = serializers.CharField(allow_null=True, help_text="The store concerned; null for ship to home.")
    available = serializers.IntegerField()


class SkuAvailabilitySerializer(serializers.Serializer):
    sku = serializers.CharField()
    product = serializers.CharField()
    sold_on_channel = serializers.BooleanField()
    network_available = serializers.IntegerField()
    locations = LocationAvailabilitySerializer(many=True)
    options = OptionSerializer(many=True)


class AvailabilitySerializer(serializers.Serializer):
    channel = serializers.CharField()
    results = SkuAvailabilitySerializer(many=True)
