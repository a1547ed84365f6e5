from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from loyalty.pricing import LineIn
from omni.actor import Actor
from omni.api.permissions import rule
from omni.catalog.models import Location
from omni.catalog.scoping import check_location, narrow
from omni.errors import Invalid, NotFound
from returns import selectors, services
from returns.api.filters import ReturnFilter
from returns.api.serializers import ReceiveInSerializer, ReturnInSerializer, ReturnSerializer


def location_or_invalid(code: str | None, field: str = "location") -> Location | None:
    if not code:
        return None
    location = Location.objects.filter(code=code, is_active=True).first()
    if location is None:
        raise Invalid(f"No location {code}.", {field: [f"Unknown location {code}."]})
    return location


class ReturnViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Returns of any channel's order at any location: at a counter, or asked for first and received later."""

    access = {
        "list": rule("returns", "returns.view_return"),
        "retrieve": rule("returns", "returns.view_return"),
        "create": rule("returns", "returns.add_return"),
        "receive": rule("returns", "returns.change_return"),
        "cancel": rule("returns", "returns.change_return"),
    }
    store_lookups = ["location", "order__location"]
    serializer_class = ReturnSerializer
    filterset_class = ReturnFilter
    lookup_field = "rma"
    lookup_value_regex = "[^/]+"

    def get_queryset(self):
        return narrow(selectors.returns(), self.request.user, self.store_lookups)

    def visible_return(self, rma: str):
        """The return, if the request may see it (another store's return answers 404)."""
        ret = services.return_by_rma(rma)
        if not self.get_queryset().filter(pk=ret.pk).exists():
            raise NotFound(f"No return {rma}.")
        return ret

    def answer(self, ret, code=status.HTTP_200_OK) -> Response:
        return Response(ReturnSerializer(selectors.returns().get(pk=ret.pk)).data, status=code)

    @extend_schema(request=ReturnInSerializer, responses={201: ReturnSerializer})
    def create(self, request):
        """Return order lines (refund, restock, points) or, with `receive: false`, open a requested return."""
        incoming = ReturnInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        order = services.order_by_number(data["order"])
        location = location_or_invalid(data.get("location"))
        check_location(request.user, location)
        lines = [
            services.ReturnLineIn(sku=x["sku"], quantity=x["quantity"], reason=x["reason"], condition=x["condition"])
            for x in data["lines"]
        ]
        actor = Actor.of(request.user)
        if data.get("exchange"):
            outcome = services.exchange(
                order=order,
                lines=lines,
                new_lines=[LineIn(sku=x["sku"], quantity=x["quantity"]) for x in data["exchange"]["lines"]],
                location=location,
                refund_to=data["refund_to"],
                tender=data["exchange"]["tender"],
                actor=actor,
            )
            return self.answer(outcome.ret, status.HTTP_201_CREATED)
        ret = services.accept_return(
            order=order,
            lines=lines,
            location=location,
            refund_to=data["refund_to"],
            receive=data["receive"],
            actor=actor,
        )
        return self.answer(ret, status.HTTP_201_CREATED)

    @extend_schema(request=ReceiveInSerializer, responses=ReturnSerializer)
    @action(detail=True, methods=["post"])
    def receive(self, request, rma: str):
        """The goods of a requested return arrive: restock, refund and take back points now."""
        incoming = ReceiveInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        ret = self.visible_return(rma)
        location = location_or_invalid(data["location"])
        check_location(request.user, location)
        lines = None
        if data.get("lines") is not None:
            lines = [
                services.ReceiveLineIn(sku=x["sku"], quantity=x["quantity"], condition=x["condition"])
                for x in data["lines"]
            ]
        ret = services.receive_return(ret=ret, location=location, lines=lines, actor=Actor.of(request.user))
        return self.answer(ret)

    @extend_schema(request=None, responses=ReturnSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, rma: str):
        """Drop a requested return: its units can be returned again."""
        ret = services.cancel_return(ret=self.visible_return(rma), actor=Actor.of(request.user))
        return self.answer(ret)
