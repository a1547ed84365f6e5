import django_filters
from django.db.models import Q
from django.utils import timezone

from inventory.models import Reservation, ReservationStatus, StockLevel
from omni.api.filters import IdFilter


class StockLevelFilter(django_filters.FilterSet):
    location = django_filters.CharFilter(field_name="location__code", help_text="The location's code.")
    sku = django_filters.CharFilter(field_name="variant__sku", help_text="The variant's SKU.")

    class Meta:
        model = StockLevel
        fields = ["location", "sku"]


class ReservationFilter(django_filters.FilterSet):
    customer = IdFilter(field_name="customer_id", help_text="The customer's id.")
    location = django_filters.CharFilter(field_name="location__code", help_text="Code of the holding location.")
    status = django_filters.ChoiceFilter(
        choices=ReservationStatus.choices,
        method="filter_status",
        help_text="The status as of now: a hold past its expiry is `expired`, tidied or not.",
    )

    class Meta:
        model = Reservation
        fields = ["customer", "location", "status"]

    def filter_status(self, queryset, name, value):
        lapsed = Q(status=ReservationStatus.ACTIVE, expires_at__lte=timezone.now())
        if value == ReservationStatus.ACTIVE:
            return queryset.filter(status=ReservationStatus.ACTIVE).exclude(lapsed)
        if value == ReservationStatus.EXPIRED:
            return queryset.filter(Q(status=ReservationStatus.EXPIRED) | lapsed)
        return queryset.filter(status=value)
