from decimal import Decimal

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from omni.orders.models import Tender
from returns.models import Condition, RefundTarget, Return

MONEY = {"max_digits": 12, "decimal_places": 2}


class ReturnLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    reason = serializers.SlugField(max_length=40, help_text="A return reason code (see the admin's return reasons).")
    condition = serializers.ChoiceField(choices=Condition.choices, default=Condition.RESELLABLE)


class ExchangeLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)


class ExchangeInSerializer(serializers.Serializer):
    lines = ExchangeLineInSerializer(many=True, allow_empty=False, help_text="What the customer takes instead.")
    tender = serializers.ChoiceField(
        choices=[c for c in Tender.choices if c[0] != Tender.STORE_CREDIT],
        default=Tender.CARD,
        help_text="How the customer pays when the new items cost more than the returned ones.",
    )


class ReturnInSerializer(serializers.Serializer):
    order = serializers.CharField(max_length=32, help_text="The order's number.")
    location = serializers.CharField(
        max_length=32, required=False, allow_null=True, help_text="Code of the location receiving the goods."
    )
    lines = ReturnLineInSerializer(many=True, allow_empty=False)
    refund_to = serializers.ChoiceField(choices=RefundTarget.choices, default=RefundTarget.ORIGINAL)
    receive = serializers.BooleanField(
        default=True, help_text="false: open a requested return, received later with /receive/."
    )
    exchange = ExchangeInSerializer(
        required=False,
        allow_null=True,
        help_text="Take other items instead (an exchange): a new order paid with the returned value.",
    )

    def validate(self, data):
        errors = {}
        if data["receive"] and not data.get("location"):
            errors["location"] = ["Say where the goods are received (or send receive: false)."]
        if data.get("exchange") and not data["receive"]:
            errors["exchange"] = ["An exchange happens at a counter: receive must be true."]
        if errors:
            raise serializers.ValidationError(errors)
        return data


class ReceiveLineInSerializer(serializers.Serializer):
    sku = serializers.CharField(max_length=64)
    quantity = serializers.IntegerField(min_value=1, max_value=10_000)
    condition = serializers.ChoiceField(choices=Condition.choices, default=Condition.RESELLABLE)


class ReceiveInSerializer(serializers.Serializer):
    location = serializers.CharField(max_length=32)
    lines = ReceiveLineInSerializer(
        many=True, required=False, allow_empty=False, help_text="Default: everything requested, resellable."
    )


class RefundSerializer(serializers.Serializer):
    amount = serializers.DecimalField(**MONEY)
    tender = serializers.CharField(allow_null=True, help_text="The main tender refunded; null when no money is due.")


class TenderRefundSerializer(serializers.Serializer):
    tender = serializers.CharField()
    amount = serializers.DecimalField(**MONEY)


class StockedSerializer(serializers.Serializer):
    sku = serializers.CharField()
    location = serializers.CharField()
    quantity = serializers.IntegerField()


class ReturnLineSerializer(serializers.Serializer):
    sku = serializers.CharField(source="variant.sku")
    requested_quantity = serializers.IntegerField()
    quantity = serializers.IntegerField(help_text="Units received (or, while requested, asked for).")
    reason = serializers.CharField(source="reason.code")
    condition = serializers.CharField()
    returned_value = serializers.DecimalField(**MONEY)


class ExchangeSerializer(serializers.Serializer):
    order = serializers.CharField(help_text="The new order's number.")
    total = serializers.DecimalField(**MONEY)
    credit_used = serializers.DecimalField(**MONEY, help_text="Returned value spent on the new order.")
    to_pay = serializers.DecimalField(**MONEY, help_text="What the customer paid on top.")
    tender = serializers.CharField(allow_null=True)


class ReturnSerializer(serializers.ModelSerializer):
    order = serializers.CharField(source="order.number")
    channel = serializers.CharField(source="order.channel.code")
    location = serializers.CharField(source="location.code", allow_null=True, default=None)
    customer = serializers.IntegerField(source="customer_id", allow_null=True)
    refund = serializers.SerializerMethodField()
    refunds = TenderRefundSerializer(many=True)
    restocked = serializers.SerializerMethodField()
    quarantined = serializers.SerializerMethodField()
    lines = ReturnLineSerializer(many=True)
    exchange = serializers.SerializerMethodField()

    class Meta:
        model = Return
        fields = [
            "rma",
            "status",
            "order",
            "channel",
            "location",
            "customer",
            "refund_to",
            "refund",
            "refunds",
            "points_reversed",
            "points_restored",
            "returned_value",
            "points_value",
            "restocked",
            "quarantined",
            "lines",
            "exchange",
            "created_at",
            "received_at",
            "cancelled_at",
        ]

    @staticmethod
    def _stocked(ret: Return, condition: str) -> list[dict]:
        if ret.status != "received" or ret.location is None:
            return []
        return [
            {"sku": line.variant.sku, "location": ret.location.code, "quantity": line.quantity}
            for line in ret.lines.all()
            if line.condition == condition and line.quantity > 0
        ]

    @staticmethod
    def _main_tender(ret: Return) -> str | None:
        paid = [(r.amount, r.tender) for r in ret.refunds.all() if r.amount > 0]
        return max(paid)[1] if paid else None

    @staticmethod
    def _money(amount: Decimal) -> str:
        return f"{amount:.2f}"

    @extend_schema_field(RefundSerializer)
    def get_refund(self, ret: Return) -> dict:
        return {"amount": self._money(ret.refund_amount), "tender": self._main_tender(ret)}

    @extend_schema_field(StockedSerializer(many=True))
    def get_restocked(self, ret: Return) -> list[dict]:
        return self._stocked(ret, Condition.RESELLABLE)

    @extend_schema_field(StockedSerializer(many=True))
    def get_quarantined(self, ret: Return) -> list[dict]:
        return self._stocked(ret, Condition.DAMAGED)

    @extend_schema_field(ExchangeSerializer(allow_null=True))
    def get_exchange(self, ret: Return) -> dict | None:
        new = ret.exchange_order
        if new is None:
            return None
        credit = sum((r.amount for r in ret.refunds.all() if r.tender == "exchange"), Decimal("0.00"))
        to_pay = new.total - credit
        return {
            "order": new.number,
            "total": self._money(new.total),
            "credit_used": self._money(credit),
            "to_pay": self._money(to_pay),
            "tender": next((p.tender for p in new.payments.all() if p.tender != Tender.STORE_CREDIT), None),
        }
