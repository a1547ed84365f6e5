"""Webhook subscriptions and their delivery log: parse, call a service, shape the answer."""

from __future__ import annotations

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.views import APIView

from omni.api.permissions import rule
from omni.errors import NotFound
from omni.models import ApiClient
from omni.webhooks import services
from omni.webhooks.api.serializers import (
    DeliverySerializer,
    NewSubscriptionSerializer,
    RedeliverySerializer,
    SubscriptionInSerializer,
    SubscriptionPatchSerializer,
    SubscriptionSerializer,
)
from omni.webhooks.models import Delivery, Subscription

EVENT_DOCS = [
    ("order.created", "an order is recorded on any channel", "number, channel, status, previous_status, customer"),
    ("order.status_changed", "an order moves on", "number, channel, status, previous_status, customer"),
    ("return.created", "a return is opened", "rma, order, status"),
    ("return.received", "a return's goods are received", "rma, order, status"),
    ("customer.merged", "customers are merged", "customer (the survivor), merged_from"),
    ("customer.erased", "a customer's personal data is erased", "customer"),
    ("loyalty.balance_changed", "a points balance changes", "card, customer, balance, change"),
    ("availability.changed", "a SKU sells out across the network or comes back", "sku, network_available"),
]
SUBSCRIBE_DESCRIPTION = (
    'Subscribes `url` to `events` (or `["*"]`). The answer carries the signing `secret`, shown only here. '
    "A URL that is not https on a public address answers 400 `invalid`.\n\n"
    'Each delivery is a `POST` of `{"type", "timestamp", "data"}` signed as Standard Webhooks says: '
    "headers `webhook-id` (the event's id, the same on every retry and redelivery: de-duplicate by it), "
    "`webhook-timestamp` and `webhook-signature`. A 2xx within 10 seconds is delivered; anything else is "
    "retried with growing delays for 27.5 hours.\n\n"
    "| event | sent when | data |\n| --- | --- | --- |\n"
    + "\n".join(f"| `{name}` | {when} | {fields} |" for name, when, fields in EVENT_DOCS)
)


def subscriptions_of(principal):
    """An API client sees the subscriptions it made; staff on their session see every one."""
    rows = Subscription.objects.all()
    return rows.filter(owner=principal) if isinstance(principal, ApiClient) else rows


def subscription_or_404(principal, pk: int) -> Subscription:
    subscription = subscriptions_of(principal).filter(pk=pk).first()
    if subscription is None:
        raise NotFound(gettext("No webhook subscription %(id)s.") % {"id": pk})
    return subscription


# A key needs the `webhooks` scope; a staff session needs the subscription permissions, as in the admin.
VIEW = rule("webhooks", "webhooks.view_subscription")


class SubscriptionListView(generics.ListAPIView):
    """Subscriptions of this client; POST subscribes a URL to events."""

    access = {"get": VIEW, "post": rule("webhooks", "webhooks.add_subscription")}
    serializer_class = SubscriptionSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Subscription.objects.none()
        return subscriptions_of(self.request.user)

    @extend_schema(
        request=SubscriptionInSerializer,
        responses={201: NewSubscriptionSerializer},
        description=SUBSCRIBE_DESCRIPTION,
    )
    def post(self, request):
        incoming = SubscriptionInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        owner = request.user if isinstance(request.user, ApiClient) else None
        subscription = services.subscribe(**incoming.validated_data, owner=owner)
        return Response(NewSubscriptionSerializer(subscription).data, status=status.HTTP_201_CREATED)


class SubscriptionDetailView(APIView):
    access = {
        "get": VIEW,
        "patch": rule("webhooks", "webhooks.change_subscription"),
        "delete": rule("webhooks", "webhooks.delete_subscription"),
    }

    @extend_schema(responses=SubscriptionSerializer)
    def get(self, request, pk: int):
        return Response(SubscriptionSerializer(subscription_or_404(request.user, pk)).data)

    @extend_schema(request=SubscriptionPatchSerializer, responses=SubscriptionSerializer)
    def patch(self, request, pk: int):
        subscription = subscription_or_404(request.user, pk)
        incoming = SubscriptionPatchSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        changes = {name: value for name, value in incoming.validated_data.items() if name in request.data}
        subscription = services.update_subscription(subscription=subscription, changes=changes)
        return Response(SubscriptionSerializer(subscription).data)

    @extend_schema(responses={204: None})
    def delete(self, request, pk: int):
        services.delete_subscription(subscription=subscription_or_404(request.user, pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(generics.ListAPIView):
    """Every delivery attempt of a subscription, newest first."""

    access = {"get": VIEW}
    serializer_class = DeliverySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return Delivery.objects.none()
        subscription = subscription_or_404(self.request.user, self.kwargs["pk"])
        return Delivery.objects.filter(subscription=subscription).select_related("event").order_by("-at", "-pk")


class RedeliverView(APIView):
    access = {"post": rule("webhooks", "webhooks.change_subscription")}

    @extend_schema(
        request=None,
        responses={202: RedeliverySerializer},
        description="Sends the delivery's event again, with the same `webhook-id`, after this answer.",
    )
    def post(self, request, pk: int, delivery_id: int):
        delivery = services.delivery_of(subscription_or_404(request.user, pk), delivery_id)
        services.redeliver(delivery=delivery)
        return Response({"event_id": delivery.event_id, "status": "queued"}, status=status.HTTP_202_ACCEPTED)
