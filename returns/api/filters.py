import django_filters

from omni.api.filters import IdFilter
from returns.models import Return, ReturnStatus


class ReturnFilter(django_filters.FilterSet):
    order = django_filters.CharFilter(field_name="order__number", help_text="The order's number.")
    location = django_filters.CharFilter(field_name="location__code", help_text="Code of the receiving location.")
    status = django_filters.ChoiceFilter(choices=ReturnStatus.choices)
    customer = IdFilter(field_name="customer_id", help_text="The customer's id.")

    class Meta:
        model = Return
        fields = ["order", "location", "status", "customer"]
