import django_filters
from django.db.models import Q

from omni.catalog.models import ChannelCode, Location, LocationKind, Product


class LocationFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=LocationKind.choices)
    city = django_filters.CharFilter(field_name="city", lookup_expr="iexact")

    class Meta:
        model = Location
        fields = ["kind", "city"]


class ProductFilter(django_filters.FilterSet):
    category = django_filters.CharFilter(field_name="category", lookup_expr="iexact")
    channel = django_filters.ChoiceFilter(
        choices=ChannelCode.choices, field_name="channels__code", label="Sold on this channel"
    )
    search = django_filters.CharFilter(method="filter_search", label="Code, name or SKU contains")

    class Meta:
        model = Product
        fields = ["category", "channel", "search"]

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(code__icontains=value) | Q(name__icontains=value) | Q(variants__sku__icontains=value)
        ).distinct()
