import django_filters
from django.db.models import Q

from omni.catalog import selectors
from omni.catalog.models import ChannelCode, Location, LocationKind, Product, Variant


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


class VariantFilter(django_filters.FilterSet):
    product = django_filters.CharFilter(field_name="product__code", help_text="The product's code.")
    channel = django_filters.ChoiceFilter(
        choices=ChannelCode.choices,
        method="filter_channel",
        help_text="Only variants sold on this channel, each with its price there.",
    )
    search = django_filters.CharFilter(
        method="filter_search", help_text="SKU, product name, colour or size contains (any case)."
    )

    class Meta:
        model = Variant
        fields = ["product", "channel", "search"]

    def filter_channel(self, queryset, name, value):
        return selectors.with_channel_price(queryset.filter(product__channels__code=value), value)

    def filter_search(self, queryset, name, value):
        return queryset.filter(
            Q(sku__icontains=value)
            | Q(product__name__icontains=value)
            | Q(color__icontains=value)
            | Q(size__icontains=value)
        )
