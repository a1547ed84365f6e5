"""Stock counts, reservations and availability: parse, call a service or selector, shape the answer."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, status
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.views import APIView

from inventory import selectors, services
from inventory.api.filters import ReservationFilter, StockLevelFilter
from inventory.api.serializers import (
    AvailabilityQuerySerializer,
    AvailabilitySerializer,
    ReservationInSerializer,
    ReservationSerializer,
    StockCountInSerializer,
    StockLevelSerializer,
)
from inventory.models import Reservation
from omni.actor import Actor
from omni.api import bound
from omni.api.permissions import rule
from omni.api.renderers import FastJSONRenderer
from omni.catalog.models import ChannelCode, Location, Variant
from omni.catalog.scoping import check_location, may_act_at, narrow
from omni.errors import Invalid, NotFound


def location_or_404(code: str) -> Location:
    location = Location.objects.filter(code=code).first()
    if location is None:
        raise NotFound(f"No location with code {code}.")
    return location


def variant_or_404(sku: str) -> Variant:
    variant = Variant.objects.filter(sku=sku).first()
    if variant is None:
        raise NotFound(f"No variant with SKU {sku}.")
    return variant


class StockLevelView(APIView):
    """One stock row: read it, or set its on hand by a count."""

    access = {
        "get": rule("stock", "inventory.view_stocklevel"),
        "put": rule("stock", "inventory.change_stocklevel"),
    }

    @extend_schema(responses=StockLevelSerializer)
    def get(self, request, location_code: str, sku: str):
        location = location_or_404(location_code)
        if not may_act_at(request.user, location):
            raise NotFound(f"No location with code {location_code}.")  # another store's rows are not shown
        level = selectors.stock_of(location, variant_or_404(sku))
        if level is None:
            raise NotFound(f"No stock of {sku} at {location_code} on file.")
        return Response(StockLevelSerializer(level).data)

    @extend_schema(
        request=StockCountInSerializer,
        responses=StockLevelSerializer,
        description=(
            "A stock count: on hand becomes the counted figure and the difference is written to the "
            "stock ledger (a `count` movement). The row is created on a first count. A count below the "
            "units held for customers and orders answers 409 `count_below_reserved` and writes nothing."
        ),
    )
    def put(self, request, location_code: str, sku: str):
        incoming = StockCountInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        location, variant = location_or_404(location_code), variant_or_404(sku)
        check_location(request.user, location)
        services.count(
            location=location,
            variant=variant,
            on_hand=incoming.validated_data["on_hand"],
            reason=incoming.validated_data["reason"] or "count",
            actor=Actor.of(request.user),
        )
        return Response(StockLevelSerializer(selectors.stock_of(location, variant)).data)


class StockListView(generics.ListAPIView):
    """Stock rows, by location and SKU; filter by `location` and `sku`. A store's staff see their store's rows."""

    access = {"get": rule("stock", "inventory.view_stocklevel")}
    serializer_class = StockLevelSerializer
    filterset_class = StockLevelFilter

    def get_queryset(self):
        rows = selectors.stock_rows().order_by("location__code", "variant__sku")
        return narrow(rows, self.request.user, ["location"])


def reservation_or_404(request, reservation_id: int) -> Reservation:
    """The reservation, if it is at one of the request's locations."""
    reservations = narrow(selectors.reservations(), request.user, ["location"])
    reservation = reservations.filter(pk=reservation_id).first()
    if reservation is None:
        raise NotFound(f"No reservation {reservation_id}.")
    return reservation


class ReservationListView(generics.ListAPIView):
    """Reservations, newest first, by customer, location and status; POST holds units (click & collect)."""

    access = {
        "get": rule("orders", "inventory.view_reservation"),
        "post": rule("orders", "inventory.add_reservation"),
    }
    serializer_class = ReservationSerializer
    filterset_class = ReservationFilter

    def get_queryset(self):
        return narrow(selectors.reservations(), self.request.user, ["location"])

    @extend_schema(
        request=ReservationInSerializer,
        responses={201: ReservationSerializer},
        description=(
            "Holds `quantity` units at the pick-up store `location` until `expires_at`; a scheduled "
            "task releases holds that were not collected. 409 `insufficient_stock` when the store "
            "has fewer units available."
        ),
    )
    def post(self, request):
        incoming = ReservationInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        variant, location = variant_or_404(data["sku"]), location_or_404(data["location"])
        check_location(request.user, location)
        if not (location.is_pickup_point and location.is_active):
            raise Invalid(
                f"{location.code} is not an active pick-up point.", {"location": ["Not an active pick-up point."]}
            )
        reservation = services.hold(
            location=location,
            variant=variant,
            quantity=data["quantity"],
            customer_id=data["customer"],
            hold_minutes=data["hold_minutes"],
            reason="click & collect hold",
            actor=Actor.of(request.user),
        )
        return Response(ReservationSerializer(reservation).data, status=status.HTTP_201_CREATED)


class ReservationDetailView(APIView):
    access = {"get": rule("orders", "inventory.view_reservation")}

    @extend_schema(responses=ReservationSerializer)
    def get(self, request, reservation_id: int):
        return Response(ReservationSerializer(reservation_or_404(request, reservation_id)).data)


class ReservationCancelView(APIView):
    """Release a hold before it expires."""

    access = {"post": rule("orders", "inventory.change_reservation")}

    @extend_schema(
        request=None,
        responses={200: ReservationSerializer},
        description="The held units become available again. A hold that is no longer active: 409 `invalid_transition`.",
    )
    def post(self, request, reservation_id: int):
        reservation = services.cancel_hold(
            reservation=reservation_or_404(request, reservation_id), reason="cancelled", actor=Actor.of(request.user)
        )
        return Response(ReservationSerializer(reservation).data)


class AvailabilityView(APIView):
    """Where the network holds units of some SKUs, and how the customer can get them on a channel.

    Open to every role that sees stock: the network's availability is what a clerk sells from.
    """

    access = {"get": rule("stock", "inventory.view_stocklevel")}
    # Hundreds of locations: orjson renders the same bytes in a tenth of the time (no float here
    # needs an exponent: distances are rounded to 0.1 km).
    renderer_classes = [FastJSONRenderer, *api_settings.DEFAULT_RENDERER_CLASSES[1:]]

    @extend_schema(
        parameters=[
            OpenApiParameter("sku", str, many=True, required=True, description="SKU; repeat for more (at most 50)."),
            OpenApiParameter("channel", enum=ChannelCode.values, required=False, description="Default `web`."),
            OpenApiParameter("near", str, required=False, description="LAT,LON: locations nearest first."),
            OpenApiParameter("location", str, required=False, description="A store's code."),
        ],
        responses={
            200: AvailabilitySerializer,
            404: OpenApiResponse(description="`not_found`: an unknown SKU or location."),
        },
    )
    def get(self, request):
        data = bound.validated(AvailabilityQuerySerializer, request.query_params)
        location = location_or_404(data["location"]) if data.get("location") else None
        results = selectors.availability_data(data["sku"], data["channel"], near=data.get("near"), location=location)
        unknown = sorted(set(data["sku"]) - {entry["sku"] for entry in results})
        if unknown:
            raise NotFound(f"No variant with SKU {', '.join(unknown)}.", skus=unknown)
        # The selector's answer is already the documented shape (AvailabilitySerializer, used for the
        # schema): serialising hundreds of locations field by field would cost more than the queries.
        return Response({"channel": data["channel"], "results": results})
