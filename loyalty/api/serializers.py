from rest_framework import serializers

from omni.api.fields import IdField
from omni.catalog.models import ChannelCode


class ExpiringSerializer(serializers.Serializer):
    points = serializers.IntegerField()
    on = serializers.DateField()


class AccountSerializer(serializers.Serializer):
    card = serializers.CharField(source="card_number")
    customer = serializers.IntegerField(source="customer_id")
    balance = serializers.IntegerField()
    debt = serializers.IntegerField(help_text="Points taken back after they were spent, paid off by later earnings.")
    tier = serializers.CharField(source="tier.code", allow_null=True, default=None)
    lifetime_points = serializers.IntegerField()
    points_value = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="What the balance is worth.")
    expiring = ExpiringSerializer(many=True, help_text="The next expiry dates, soonest first.")


class LedgerEntrySerializer(serializers.Serializer):
    kind = serializers.CharField()
    points = serializers.IntegerField()
    debt_change = serializers.IntegerField()
    balance_after = serializers.IntegerField()
    order = serializers.CharField(source="order.number", allow_null=True, default=None)
    reference = serializers.CharField()
    channel = serializers.CharField()
    created_at = serializers.DateTimeField()


class QuoteLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class QuoteInSerializer(serializers.Serializer):
    channel = serializers.ChoiceField(choices=ChannelCode.choices)
    customer = IdField(required=False)
    card = serializers.CharField(required=False, max_length=64)
    lines = QuoteLineInSerializer(many=True, allow_empty=False, max_length=500)

    def validate(self, data):
        if data.get("customer") and data.get("card"):
            raise serializers.ValidationError({"card": ["Give a customer or a card, not both."]})
        return data


class QuoteLineSerializer(serializers.Serializer):
    sku = serializers.CharField()
    quantity = serializers.IntegerField()
    list_price = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="The channel's price.")
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    promotions = serializers.ListField(child=serializers.CharField())


class QuoteSerializer(serializers.Serializer):
    channel = serializers.CharField(source="channel.code")
    currency = serializers.CharField(source="channel.currency")
    lines = QuoteLineSerializer(many=True)
    basket_promotions = serializers.ListField(child=serializers.CharField())
    subtotal = serializers.DecimalField(max_digits=12, decimal_places=2)
    discount_total = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    tier = serializers.CharField(source="tier.code", allow_null=True, default=None)
    balance = serializers.IntegerField()
    points_to_earn = serializers.IntegerField()
    points_value = serializers.DecimalField(max_digits=12, decimal_places=2)


class DifferenceSerializer(serializers.Serializer):
    """One place where channels differ."""

    kind = serializers.ChoiceField(
        choices=["price", "promotion", "earning_rule", "till_drift"],
        help_text="price: a channel price; promotion, earning_rule: one that names channels; till_drift: lines "
        "recorded at another price than Omni's for that channel.",
    )
    subject = serializers.CharField()
    channels = serializers.ListField(child=serializers.CharField(), help_text="The channels it concerns.")
    detail = serializers.CharField()


class GiftCardSerializer(serializers.Serializer):
    code = serializers.CharField()
    balance = serializers.DecimalField(max_digits=12, decimal_places=2)
    currency = serializers.CharField()
    initial_amount = serializers.DecimalField(max_digits=12, decimal_places=2, help_text="What the card was sold for.")
    issued_at = serializers.DateTimeField()
    last_used_at = serializers.DateTimeField(source="updated_at", help_text="When the balance last changed.")
