from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from customers.models import Customer
from loyalty.pricing import LineIn
from omni import versions
from omni.actor import Actor
from omni.api import bound
from omni.api.permissions import principal_may, rule
from omni.catalog import selectors as catalog
from omni.catalog.models import Channel, Location
from omni.catalog.scoping import check_location, narrow
from omni.errors import Invalid, NotFound
from omni.orders import selectors, services
from omni.orders.api.filters import OrderFilter
from omni.orders.api.serializers import OrderEventInSerializer, OrderInSerializer, OrderSerializer, order_answer


def location_or_invalid(code: str | None, field: str) -> Location | None:
    if not code:
        return None
    location = catalog.location_by_code(code)
    if location is None:
        raise Invalid(f"No location {code}.", {field: [f"Unknown location {code}."]})
    return location


def channel_or_invalid(code: str) -> Channel:
    channel = catalog.channel_by_code(code)
    if channel is None:
        raise Invalid(f"No channel {code}.", {"channel": [f"Unknown channel {code}."]})
    return channel


class OrderViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Orders of every channel: one flow for the till, the site, the app and the call center."""

    access = {
        "list": rule("orders", "orders.view_order"),
        "retrieve": rule("orders", "orders.view_order"),
        "create": rule("orders", "orders.add_order"),
        "events": rule("orders", "orders.change_order"),
    }
    store_lookups = ["location", "pickup_location"]
    serializer_class = OrderSerializer
    filterset_class = OrderFilter
    lookup_field = "number"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return narrow(selectors.orders(), self.request.user, self.store_lookups)

    # Orders are answered by order_answer, OrderSerializer's output built directly (the schema stays the
    # serializer's): a page of 100 orders walked field by field cost twice the CPU.
    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None, "every list is paged (REST_FRAMEWORK's DEFAULT_PAGINATION_CLASS)"
        return self.get_paginated_response([order_answer(order) for order in page])

    def retrieve(self, request, *args, **kwargs):
        return Response(order_answer(self.get_object()))

    @extend_schema(request=OrderInSerializer, responses={201: OrderSerializer})
    def create(self, request):
        # The channel, the locations and the loyalty rules are kept per process: one query checks all their tokens.
        with versions.one_read():
            return self._create(request)

    def _create(self, request):
        data = bound.validated(OrderInSerializer, request.data)
        fulfilment = data.get("fulfilment") or {}
        customer = None
        if data.get("customer"):
            customer = Customer.objects.filter(pk=data["customer"]).first()
            if customer is None:
                raise Invalid(f"No customer {data['customer']}.", {"customer": ["Unknown customer."]})
        location = location_or_invalid(data.get("location"), "location")
        check_location(request.user, location)
        order = services.record_order(
            channel=channel_or_invalid(data["channel"]),
            location=location,
            customer=customer,
            identifiers=data.get("identifiers"),
            external_id=data.get("external_id") or None,
            lines=[LineIn(sku=x["sku"], quantity=x["quantity"], unit_price=x.get("unit_price")) for x in data["lines"]],
            fulfilment=services.FulfilmentIn(
                type=fulfilment.get("type", "carry_out"),
                pickup_location=location_or_invalid(fulfilment.get("pickup_location"), "fulfilment.pickup_location"),
                address=fulfilment.get("address") or {},
                allow_split=data["allow_split"] or fulfilment.get("allow_split", False),
            ),
            payments=[
                services.PaymentIn(tender=p["tender"], amount=p["amount"], gift_card=p.get("gift_card") or "")
                for p in data["payments"]
            ],
            gift_cards=[g["amount"] for g in data["gift_cards"]],
            points_to_redeem=data["points_to_redeem"],
            actor=Actor.of(request.user),
            request_key=request.headers.get("Idempotency-Key", ""),
            may_merge=principal_may(request.user, rule("customers", "customers.merge_customers")),
        )
        # The order carries its lines, allocations and payments as written (record_order): nothing is read back.
        return Response(order_answer(order), status=status.HTTP_201_CREATED)

    @extend_schema(request=OrderEventInSerializer, responses=OrderSerializer)
    @action(detail=True, methods=["post"])
    def events(self, request, number: str):
        """Move the order on: ready_for_pickup, shipped, collected or cancelled."""
        incoming = OrderEventInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        order = self.get_queryset().filter(number=number).first()
        if order is None:
            raise NotFound(f"No order {number}.")
        services.apply_event(order=order, event=incoming.validated_data["type"], actor=Actor.of(request.user))
        return Response(order_answer(selectors.orders().get(pk=order.pk)))
