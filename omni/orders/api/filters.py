import django_filters

from omni.api.filters import IdFilter, UtcDateTimeFilter
from omni.catalog.models import ChannelCode
from omni.orders.models import Order, OrderStatus


class OrderFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="The customer's id.")
    channel = django_filters.ChoiceFilter(field_name="channel__code", choices=ChannelCode.choices)
    location = django_filters.CharFilter(field_name="location__code")
    status = django_filters.ChoiceFilter(choices=OrderStatus.choices)
    created_after = UtcDateTimeFilter(field_name="created_at", lookup_expr="gte")
    created_before = UtcDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Order
        fields = ["customer", "channel", "location", "status", "created_after", "created_before"]
