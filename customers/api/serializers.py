from __future__ import annotations

from rest_framework import serializers

from customers.models import ConsentPurpose, Customer, IdentifierKind
from omni.catalog.models import ChannelCode

MONEY = {"max_digits": 12, "decimal_places": 2}


# -- input ---------------------------------------------------------------------------------------


class CustomerIdentifierInSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=IdentifierKind.choices)
    value = serializers.CharField(max_length=200, trim_whitespace=True)
    verified = serializers.BooleanField(
        default=True,
        help_text="False when the visitor typed it and nothing proved it: it never causes a merge.",
    )


class ProfileInSerializer(serializers.Serializer):
    first_name = serializers.CharField(max_length=80, required=False, allow_blank=True)
    last_name = serializers.CharField(max_length=80, required=False, allow_blank=True)
    email = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)
    birth_date = serializers.DateField(required=False, allow_null=True)


class IdentifyInSerializer(serializers.Serializer):
    identifiers = CustomerIdentifierInSerializer(many=True, allow_empty=False)
    profile = ProfileInSerializer(required=False)


class ConsentsInSerializer(serializers.Serializer):
    marketing_email = serializers.BooleanField(required=False)
    marketing_sms = serializers.BooleanField(required=False)
    profiling = serializers.BooleanField(required=False)
    source_channel = serializers.ChoiceField(choices=ChannelCode.choices, help_text="Where the choice was made.")
    source = serializers.CharField(
        max_length=100, required=False, default="", allow_blank=True, help_text='e.g. "checkout form".'
    )

    def validate(self, attrs):
        if not any(purpose in attrs for purpose in ConsentPurpose.values):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give at least one of " + ", ".join(ConsentPurpose.values) + "."]}
            )
        return attrs


# -- output --------------------------------------------------------------------------------------


class IdentifierSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()
    verified = serializers.BooleanField(source="is_verified")
    created_at = serializers.DateTimeField()


class CustomerSerializer(serializers.ModelSerializer):
    identifiers = IdentifierSerializer(many=True, read_only=True)
    is_anonymous = serializers.BooleanField(read_only=True)
    is_erased = serializers.BooleanField(read_only=True)

    class Meta:
        model = Customer
        fields = [
            "id",
            "first_name",
            "last_name",
            "email",
            "phone",
            "birth_date",
            "is_anonymous",
            "is_erased",
            "created_at",
            "identifiers",
        ]


class IdentifierRefSerializer(serializers.Serializer):
    kind = serializers.CharField()
    value = serializers.CharField()


class IdentifyResultSerializer(CustomerSerializer):
    created = serializers.BooleanField(help_text="True when a new customer was made (201).")
    merged_from = serializers.ListField(
        child=serializers.IntegerField(), help_text="Ids of the customers merged into this one by this call."
    )
    unverified_conflicts = IdentifierRefSerializer(
        many=True, help_text="Unverified identifiers left on another customer."
    )
    stand_in = serializers.BooleanField(
        help_text=(
            "True when nobody was identified (only typed identifiers held by others): this is their "
            "anonymous stand-in, shared by whoever types them, so keep no profile on it."
        )
    )

    class Meta(CustomerSerializer.Meta):
        fields = [*CustomerSerializer.Meta.fields, "created", "merged_from", "unverified_conflicts", "stand_in"]


class ConsentStateSerializer(serializers.Serializer):
    granted = serializers.BooleanField(source="is_granted")
    at = serializers.DateTimeField(source="changed_at")
    channel = serializers.CharField()
    source = serializers.CharField()


class ConsentsSerializer(serializers.Serializer):
    """The current state per purpose: null when never asked."""

    marketing_email = ConsentStateSerializer(allow_null=True)
    marketing_sms = ConsentStateSerializer(allow_null=True)
    profiling = ConsentStateSerializer(allow_null=True)


class LoyaltySummarySerializer(serializers.Serializer):
    card = serializers.CharField(allow_null=True)
    balance = serializers.IntegerField()
    tier = serializers.CharField(allow_null=True)


class ChannelFiguresSerializer(serializers.Serializer):
    channel = serializers.CharField()
    orders = serializers.IntegerField()
    revenue = serializers.DecimalField(**MONEY)


class CustomerDetailSerializer(CustomerSerializer):
    consents = ConsentsSerializer()
    loyalty = LoyaltySummarySerializer(allow_null=True, help_text="Null until the customer has a loyalty account.")
    channels = serializers.ListField(child=serializers.CharField(), help_text="Channels the customer used.")
    first_seen = serializers.DateTimeField()
    last_seen = serializers.DateTimeField()
    order_count = serializers.IntegerField(default=0)
    revenue = serializers.DecimalField(default="0.00", **MONEY)
    orders_by_channel = ChannelFiguresSerializer(many=True, default=list)
    store_credit = serializers.DecimalField(
        default="0.00", help_text="Store credit the customer can spend on any channel.", **MONEY
    )
    erased_at = serializers.DateTimeField(allow_null=True)

    class Meta(CustomerSerializer.Meta):
        fields = [
            *CustomerSerializer.Meta.fields,
            "erased_at",
            "consents",
            "loyalty",
            "channels",
            "first_seen",
            "last_seen",
            "order_count",
            "revenue",
            "orders_by_channel",
            "store_credit",
        ]


class ProfilePatchSerializer(serializers.ModelSerializer):
    email = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True)

    class Meta:
        model = Customer
        fields = ["first_name", "last_name", "email", "phone", "birth_date"]


class TimelineEntrySerializer(serializers.Serializer):
    occurred_at = serializers.DateTimeField()
    kind = serializers.CharField(help_text="order, return, points, event, consent, merge, ...")
    channel = serializers.CharField()
    title = serializers.CharField()
    summary = serializers.CharField()
    reference = serializers.CharField(help_text="The order number, RMA, ... it is about.")
    amount = serializers.DecimalField(allow_null=True, **MONEY)
    points = serializers.IntegerField(allow_null=True)
    source = serializers.CharField(help_text="The app it comes from.")


class PersonalDataSerializer(serializers.Serializer):
    """Everything held about the person; each app adds its own key (e.g. `orders`)."""

    customer = serializers.DictField()
    identifiers = serializers.ListField(child=serializers.DictField())
    consents = serializers.ListField(child=serializers.DictField(), help_text="Every change, newest first.")
    merged_from = serializers.ListField(child=serializers.DictField())
    erasures = serializers.ListField(child=serializers.DictField())


class ErasureSerializer(serializers.Serializer):
    customer = serializers.IntegerField(source="customer_id")
    erased_at = serializers.DateTimeField()
    summary = serializers.DictField(help_text="What each app did.")


class MovedSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="`moved`")
    detail = serializers.CharField()
    customer = serializers.IntegerField(help_text="The surviving customer's id; `Location` points at it.")


# -- the import (moving in) ------------------------------------------------------------------------


class ImportConsentSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=ConsentPurpose.choices)
    granted = serializers.BooleanField()
    at = serializers.DateTimeField(help_text="When it was given or withdrawn (a date YYYY-MM-DD is read as that day).")
    channel = serializers.CharField(max_length=20, help_text="Where it was given, e.g. store, web.")


class ImportLoyaltySerializer(serializers.Serializer):
    card = serializers.CharField(max_length=64, required=False, help_text="The loyalty card number.")
    points = serializers.IntegerField(min_value=0, required=False, help_text="The opening balance.")
    tier = serializers.CharField(required=False, help_text="A tier code or name of the programme.")
    points_expire_on = serializers.DateField(required=False, help_text="When the opening points lapse.")


class ImportRowSerializer(serializers.Serializer):
    """One customer of the other system. Checked by the job: a bad row is listed in the job's errors."""

    external_id = serializers.CharField(max_length=64, help_text="The customer's id in the other system.")
    profile = ProfileInSerializer(required=False)
    identifiers = CustomerIdentifierInSerializer(many=True, required=False)
    consents = ImportConsentSerializer(many=True, required=False)
    loyalty = ImportLoyaltySerializer(required=False)


class ImportBatchInSerializer(serializers.Serializer):
    rows = serializers.ListField(
        child=serializers.DictField(), allow_empty=False, max_length=10_000, help_text="At most 10,000 rows a batch."
    )
    partial = serializers.BooleanField(
        default=False, help_text="True: import the good rows even if some are wrong. False: all or nothing."
    )


class ImportBatchSchemaSerializer(serializers.Serializer):
    """The batch as the schema shows it; rows are checked one by one by the job, not by the request."""

    rows = ImportRowSerializer(many=True)
    partial = serializers.BooleanField(default=False)


class ImportAcceptedSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status_url = serializers.CharField()


class ImportErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField(help_text="The row's index in `rows`, from 0.")
    field = serializers.CharField()
    message = serializers.CharField()


class ImportStatusSerializer(serializers.Serializer):
    job = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    done = serializers.IntegerField()
    total = serializers.IntegerField()
    rows = serializers.IntegerField()
    created = serializers.IntegerField()
    updated = serializers.IntegerField()
    merged = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    errors = ImportErrorSerializer(many=True)
    detail = serializers.CharField(help_text="What went wrong, for a failed job.")
