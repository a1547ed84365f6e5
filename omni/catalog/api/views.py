from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, mixins, status, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from omni.api.permissions import rule
from omni.catalog import selectors, services
from omni.catalog.api.filters import LocationFilter, ProductFilter, VariantFilter
from omni.catalog.api.serializers import (
    LocationSerializer,
    ProductInSerializer,
    ProductSerializer,
    VariantDetailSerializer,
    VariantListSerializer,
    VariantQuerySerializer,
)
from omni.catalog.models import ChannelCode
from omni.errors import NotFound


class LocationViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    """Stores and warehouses of the network."""

    access = {
        "list": rule("catalog", "catalog.view_location"),
        "retrieve": rule("catalog", "catalog.view_location"),
        "create": rule("catalog", "catalog.add_location"),
    }
    serializer_class = LocationSerializer
    filterset_class = LocationFilter
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.locations()

    def perform_create(self, serializer):
        serializer.instance = services.create_location(**serializer.validated_data)


class ProductViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Products with their variants and the channels that sell them."""

    access = {
        "list": rule("catalog", "catalog.view_product"),
        "retrieve": rule("catalog", "catalog.view_product"),
        "create": rule("catalog", "catalog.add_product", "catalog.add_variant"),
    }
    serializer_class = ProductSerializer
    filterset_class = ProductFilter
    lookup_field = "code"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return selectors.products()

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None, "every list is paged (REST_FRAMEWORK's DEFAULT_PAGINATION_CLASS)"
        shown = selectors.with_variants_and_channels(page)
        return self.get_paginated_response(self.get_serializer(shown, many=True).data)

    def get_object(self):
        return selectors.with_variants_and_channels([super().get_object()])[0]

    @extend_schema(request=ProductInSerializer, responses={201: ProductSerializer})
    def create(self, request):
        incoming = ProductInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        product = services.create_product(
            code=data["code"],
            name=data["name"],
            category=data["category"],
            description=data["description"],
            channels=data.get("channels"),
            variants=[services.VariantIn(**variant) for variant in data["variants"]],
        )
        (product,) = selectors.with_variants_and_channels([product])
        return Response(ProductSerializer(product).data, status=status.HTTP_201_CREATED)


class VariantListView(generics.ListAPIView):
    """Variants by SKU; `search` finds them by SKU, product name, colour or size."""

    access = {"get": rule("catalog", "catalog.view_variant")}
    serializer_class = VariantListSerializer
    filterset_class = VariantFilter

    def get_queryset(self):
        return selectors.variants()


class VariantDetailView(APIView):
    """One variant by SKU, with its price on the channel asked for and on every channel."""

    access = {"get": rule("catalog", "catalog.view_variant")}

    @extend_schema(
        parameters=[
            OpenApiParameter("channel", enum=ChannelCode.values, required=False, description="Price on this channel.")
        ],
        responses=VariantDetailSerializer,
    )
    def get(self, request, sku: str):
        query = VariantQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        variant = selectors.variant_by_sku(sku)
        if variant is None:
            raise NotFound(f"No variant with SKU {sku}.")
        offers = selectors.offers(variant, selectors.channels())
        asked = query.validated_data.get("channel")
        offer = next((o for o in offers if o.channel == asked), None)
        payload = {
            "sku": variant.sku,
            "color": variant.color,
            "size": variant.size,
            "list_price": variant.price,
            "product": variant.product,
            "channel": asked,
            "price": offer.price if offer else None,
            "currency": offer.currency if offer else None,
            "is_sold_on_channel": offer.is_sold if offer else None,
            "offers": offers,
        }
        return Response(VariantDetailSerializer(payload).data)
