from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Customer
from loyalty import gift_cards, parity, selectors
from loyalty.api.serializers import (
    AccountSerializer,
    DifferenceSerializer,
    GiftCardSerializer,
    LedgerEntrySerializer,
    QuoteInSerializer,
    QuoteSerializer,
)
from loyalty.models import LedgerEntry
from loyalty.pricing import LineIn, programme, quote_basket
from omni import versions
from omni.api.permissions import rule
from omni.catalog import selectors as catalog
from omni.catalog.models import Channel, ChannelCode
from omni.errors import Invalid, NotFound
from omni.money import to_cents


def account_or_404(card: str):
    account = selectors.account_by_card(card)
    if account is None:
        raise NotFound(f"No active loyalty card {card}.")
    return account


class AccountView(APIView):
    """A loyalty account by card: the one balance of every channel."""

    access = {"get": rule("loyalty", "loyalty.view_loyaltyaccount")}

    @extend_schema(responses=AccountSerializer)
    def get(self, request, card: str):
        account = account_or_404(card)
        account.points_value = to_cents(account.balance * programme().point_value)
        account.expiring = selectors.expiring(account)
        return Response(AccountSerializer(account).data)


class LedgerView(generics.ListAPIView):
    """The account's point movements, newest first."""

    access = {"get": rule("loyalty", "loyalty.view_ledgerentry")}
    serializer_class = LedgerEntrySerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the schema generator has no card
            return LedgerEntry.objects.none()
        return selectors.ledger(account_or_404(self.kwargs["card"]))


class QuoteView(APIView):
    """Price a basket for a customer on a channel: the same answer the order would get."""

    access = {"post": rule("loyalty", "catalog.view_variant")}  # whoever sees prices may price a basket

    @extend_schema(request=QuoteInSerializer, responses=QuoteSerializer)
    def post(self, request):
        # The channel and the loyalty rules are kept per process: one query checks both their tokens.
        with versions.one_read():
            return self._quote(request)

    def _quote(self, request):
        incoming = QuoteInSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        account = None
        if data.get("card"):
            account = account_or_404(data["card"])
        elif data.get("customer"):
            if not Customer.objects.filter(pk=data["customer"]).exists():
                raise NotFound(f"No customer {data['customer']}.")
            account = selectors.account_of(data["customer"])
        channel = catalog.channel_by_code(data["channel"])
        if channel is None:
            raise Invalid(f"No channel {data['channel']}.", {"channel": [f"One of {', '.join(ChannelCode.values)}."]})
        quote = quote_basket(
            channel=channel,
            lines=[LineIn(sku=line["sku"], quantity=line["quantity"]) for line in data["lines"]],
            account=account,
        )
        return Response(QuoteSerializer(quote).data)


class ParityView(generics.ListAPIView):
    """Where channels differ: channel prices, promotions and earning rules that hold on some channels only,
    and till drift, each `{kind, subject, channels, detail}`, paginated."""

    access = {"get": rule("loyalty", "loyalty.view_programme")}  # as the parity page of the admin
    serializer_class = DifferenceSerializer
    filter_backends: list = []  # a list of rows, not a queryset: `channel` is read in get_queryset
    extra_query_params = ["channel"]

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "channel", enum=ChannelCode.values, required=False, description="Only what concerns this channel."
            )
        ]
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        channel = self.request.query_params.get("channel") or None
        if channel is not None and not Channel.objects.filter(code=channel).exists():
            raise Invalid(f"No channel {channel}.", {"channel": [f"One of {', '.join(ChannelCode.values)}."]})
        return [difference.as_dict() for difference in parity.channel_differences(channel=channel)]


class GiftCardView(APIView):
    """A gift card's balance by its code (printed with or without dashes): any channel may read it before paying.

    Gift cards belong to whoever holds the code, not to a store: the row is not narrowed to a location.
    """

    access = {"get": rule("loyalty", "loyalty.view_giftcard")}

    @extend_schema(responses=GiftCardSerializer)
    def get(self, request, code: str):
        card = gift_cards.card_by_code(code)
        if card is None:
            raise NotFound(f"No gift card {code}.")
        return Response(GiftCardSerializer(card).data)
