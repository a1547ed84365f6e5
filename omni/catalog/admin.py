from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from omni.catalog.models import Channel, ChannelPrice, Location, Product, Variant
from omni.catalog.scoping import StoreScopedAdmin, locations_for


@admin.register(Channel)
class ChannelAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "currency", "is_active"]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]


@admin.register(Location)
class LocationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "kind", "city", "is_pickup_point", "ships_to_customers", "is_active"]
    list_filter = ["kind", "is_pickup_point", "ships_to_customers", "is_active", "city"]
    search_fields = ["code", "name", "city", "postcode"]
    fieldsets = [
        (None, {"fields": ["code", "name", "kind", "is_active"]}),
        (_("Address"), {"fields": ["address", "postcode", "city", "country", "latitude", "longitude"]}),
        (_("Services"), {"fields": ["is_pickup_point", "ships_to_customers"]}),
    ]

    def get_search_results(self, request, queryset, search_term):
        """An autocomplete on a store-scoped form offers only the locations the user may act for."""
        queryset, distinct = super().get_search_results(request, queryset, search_term)
        if self._autocomplete_is_store_scoped(request):
            queryset = queryset.filter(pk__in=locations_for(request.user).values("pk"))
        return queryset, distinct

    def _autocomplete_is_store_scoped(self, request) -> bool:
        match = getattr(request, "resolver_match", None)
        if match is None or match.url_name != "autocomplete":
            return False
        # The form asking is named by the request: look it up among the admins registered on this site,
        # which are the only ones an autocomplete may serve, rather than through the app registry.
        app_label, model_name = request.GET.get("app_label", ""), request.GET.get("model_name", "")
        return any(
            model._meta.app_label == app_label
            and model._meta.model_name == model_name
            and isinstance(model_admin, StoreScopedAdmin)
            for model, model_admin in self.admin_site._registry.items()
        )


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ["sku", "color", "size", "price", "is_active"]
    show_change_link = True


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "category", "variant_count", "is_active"]
    list_filter = ["category", "channels", "is_active"]
    search_fields = ["code", "name", "variants__sku"]
    filter_horizontal = ["channels"]
    inlines = [VariantInline]
    show_full_result_count = False

    def get_queryset(self, request):
        from django.db.models import Count

        return super().get_queryset(request).annotate(variant_total=Count("variants"))

    @admin.display(description=_("variants"), ordering="variant_total")
    def variant_count(self, obj):
        return obj.variant_total


class ChannelPriceInline(admin.TabularInline):
    model = ChannelPrice
    extra = 0
    autocomplete_fields = ["channel"]


@admin.register(Variant)
class VariantAdmin(admin.ModelAdmin):
    list_display = ["sku", "product", "color", "size", "price", "is_active"]
    list_filter = ["is_active", "product__category", "size"]
    search_fields = ["sku", "product__code", "product__name"]
    list_select_related = ["product"]
    autocomplete_fields = ["product"]
    inlines = [ChannelPriceInline]
    show_full_result_count = False


@admin.register(ChannelPrice)
class ChannelPriceAdmin(admin.ModelAdmin):
    list_display = ["variant", "channel", "price"]
    list_filter = ["channel"]
    search_fields = ["variant__sku", "variant__product__name"]
    list_select_related = ["variant", "channel"]
    autocomplete_fields = ["variant", "channel"]
