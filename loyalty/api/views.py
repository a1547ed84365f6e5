from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.response import Response
from rest_framework.views import APIView

from customers.models import Customer
from loyalty import selectors
from loyalty.api.serializers import AccountSerializer, LedgerEntrySerializer, QuoteInSerializer, QuoteSerializer
from loyalty.models import LedgerEntry
from loyalty.pricing import LineIn, programme, quote_basket
from omni.api.permissions import rule
from omni.catalog.models import Channel
from omni.errors import NotFound
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
        quote = quote_basket(
            channel=Channel.objects.get(code=data["channel"]),
            lines=[LineIn(sku=line["sku"], quantity=line["quantity"]) for line in data["lines"]],
            account=account,
        )
        return Response(QuoteSerializer(quote).data)
