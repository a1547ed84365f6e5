"""Shapes of the webhook endpoints (input checked here and in the services)."""

from __future__ import annotations

from rest_framework import serializers

from omni.webhooks.models import EVERY_EVENT, EventType

EVENT_CHOICES = [*EventType.values, EVERY_EVENT]


class SubscriptionInSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=2000, help_text="https, on a public address.")
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_CHOICES),
        allow_empty=False,
        max_length=len(EVENT_CHOICES),
        help_text='Event types to receive, or ["*"] for every one.',
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class SubscriptionPatchSerializer(SubscriptionInSerializer):
    is_active = serializers.BooleanField(required=False, help_text="Turning it back on clears the failing mark.")

    def __init__(self, *args, **kwargs):
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class SubscriptionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.URLField()
    events = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField()
    is_active = serializers.BooleanField()
    is_failing = serializers.BooleanField(help_text="Deliveries have failed for a day.")
    failing_since = serializers.DateTimeField(allow_null=True)
    created_at = serializers.DateTimeField()


class NewSubscriptionSerializer(SubscriptionSerializer):
    secret = serializers.CharField(
        help_text="`whsec_` then base64: the key deliveries are signed with. Shown in this answer only."
    )


class DeliverySerializer(serializers.Serializer):
    id = serializers.IntegerField()
    event_id = serializers.CharField(help_text="The `webhook-id` header: the same on every retry and redelivery.")
    type = serializers.CharField(source="event.type")
    status_code = serializers.IntegerField(allow_null=True, help_text="The site's answer; null when none came.")
    duration_ms = serializers.IntegerField()
    error = serializers.CharField()
    at = serializers.DateTimeField()


class RedeliverySerializer(serializers.Serializer):
    event_id = serializers.CharField()
    status = serializers.CharField(help_text="`queued`: it is sent after this answer.")
