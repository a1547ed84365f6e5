"""Input and output shapes of the events, social figures and KPI endpoints."""

from __future__ import annotations

import re

from django.utils.text import format_lazy
from rest_framework import serializers

from kpis.definitions import BY_KEY
from kpis.models import EventType
from kpis.selectors import GRANULARITIES, MAX_DAYS
from omni.api.fields import IdField
from omni.catalog.models import ChannelCode

MAX_EVENTS = 1000
MAX_SOCIAL_ROWS = 1000
NETWORK = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")


class EventInSerializer(serializers.Serializer):
    id = serializers.CharField(
        max_length=64, help_text="The sender's unique id of the event; repeats are counted once."
    )
    type = serializers.ChoiceField(choices=EventType.choices)
    occurred_at = serializers.DateTimeField()
    channel = serializers.ChoiceField(choices=ChannelCode.choices)
    session_id = serializers.CharField(max_length=64, required=False, allow_blank=True, default="")
    device_id = serializers.CharField(max_length=128, required=False, allow_blank=True, default="")
    customer = IdField(required=False, allow_null=True, default=None)
    location = serializers.CharField(
        max_length=32, required=False, allow_blank=True, allow_null=True, default=None, help_text="A location's code."
    )
    properties = serializers.DictField(
        required=False,
        default=dict,
        help_text="Free data; `sku` (or `product`, a product code) links a product view to the product.",
    )


class EventBatchSerializer(serializers.ListSerializer):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("child", EventInSerializer())
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", MAX_EVENTS)
        super().__init__(*args, **kwargs)


class EventIngestResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField(help_text="Events stored now.")
    duplicates = serializers.IntegerField(help_text="Events whose id was seen before (or twice in the batch).")


class SocialFiguresInSerializer(serializers.Serializer):
    date = serializers.DateField()
    network = serializers.CharField(max_length=40, help_text="e.g. instagram, facebook, tiktok (lower case).")
    likes = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)
    shares = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)
    comments = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)
    mentions = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)
    followers = serializers.IntegerField(min_value=0, max_value=2_000_000_000, default=0)

    def validate_network(self, value: str) -> str:
        value = value.strip().lower()
        if not NETWORK.match(value):
            raise serializers.ValidationError("Use lower-case letters, digits, dots, dashes and underscores.")
        return value


class SocialFiguresBatchSerializer(serializers.ListSerializer):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("child", SocialFiguresInSerializer())
        kwargs.setdefault("min_length", 1)
        kwargs.setdefault("max_length", MAX_SOCIAL_ROWS)
        super().__init__(*args, **kwargs)


class SocialFiguresResultSerializer(serializers.Serializer):
    saved = serializers.IntegerField(help_text="(date, network) rows inserted or replaced.")


class KpiQuerySerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    channel = serializers.ChoiceField(choices=ChannelCode.choices, required=False)
    location = serializers.CharField(max_length=32, required=False)
    granularity = serializers.ChoiceField(choices=GRANULARITIES, default="day")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields

    def validate(self, attrs):
        start, end, granularity = attrs["from"], attrs["to"], attrs["granularity"]
        if end < start:
            raise serializers.ValidationError({"to": ["Must be on or after from."]})
        limit = MAX_DAYS[granularity]
        if (end - start).days + 1 > limit:
            raise serializers.ValidationError(
                {"to": [f"At most {limit} days at {granularity} granularity; choose a coarser one or a shorter range."]}
            )
        return attrs


def _money(key: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=16,
        decimal_places=2,
        allow_null=True,
        help_text=format_lazy("{} EUR, 2 places.", BY_KEY[key].definition),
    )


def _share(key: str) -> serializers.DecimalField:
    return serializers.DecimalField(
        max_digits=6,
        decimal_places=4,
        allow_null=True,
        help_text=format_lazy("{} From 0 to 1, 4 places; null when the divisor is zero.", BY_KEY[key].definition),
    )


def _count(key: str, **kwargs) -> serializers.IntegerField:
    kwargs.setdefault("help_text", BY_KEY[key].definition)
    return serializers.IntegerField(**kwargs)


class KpiPeriodSerializer(serializers.Serializer):
    period = serializers.DateField(help_text="The first day of the period inside the range.")
    start = serializers.DateField()
    end = serializers.DateField(help_text="The last day of the period inside the range (inclusive).")
    revenue = _money("revenue")
    orders = _count("orders")
    average_receipt = _money("average_receipt")
    units_per_receipt = serializers.DecimalField(
        max_digits=10, decimal_places=2, allow_null=True, help_text=BY_KEY["units_per_receipt"].definition
    )
    visitors = _count("visitors")
    sessions = _count("sessions")
    conversion_rate = _share("conversion_rate")
    identified_sales_share = _share("identified_sales_share")
    omnichannel_customer_share = _share("omnichannel_customer_share")
    click_and_collect_share = _share("click_and_collect_share")
    endless_aisle_revenue = _money("endless_aisle_revenue")
    return_rate = _share("return_rate")
    points_issued = _count("points_issued")
    points_redeemed = _count("points_redeemed")
    social_engagement = _count(
        "social_engagement",
        allow_null=True,
        help_text=format_lazy(
            "{} Null when a store or a channel other than social is chosen.", BY_KEY["social_engagement"].definition
        ),
    )
    units = serializers.IntegerField(help_text="Units sold.")
    identified_orders = serializers.IntegerField(help_text="Orders with a known customer.")
    buyers = serializers.IntegerField(help_text="Distinct identified buyers.")
    omnichannel_buyers = serializers.IntegerField(help_text="Identified buyers with purchases on two channels or more.")
    returned_units = serializers.IntegerField()
    returned_amount = serializers.DecimalField(max_digits=16, decimal_places=2)


class KpiReportSerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    granularity = serializers.CharField()
    channel = serializers.CharField(allow_null=True)
    location = serializers.CharField(allow_null=True)
    total = KpiPeriodSerializer(help_text="The whole range as one period.")
    results = KpiPeriodSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")
        return fields
