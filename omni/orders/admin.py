from django.contrib import admin

from omni.orders.models import Allocation, Order, OrderLine, Payment


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    fields = ["variant", "quantity", "unit_price", "discount", "line_total"]
    raw_id_fields = ["variant"]


class PaymentInline(admin.TabularInline):
    model = Payment
    extra = 0


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "created_at",
        "channel",
        "location",
        "customer",
        "fulfilment_type",
        "status",
        "total",
    ]
    list_filter = ["channel", "status", "fulfilment_type", "is_endless_aisle", "location", "created_at"]
    search_fields = ["number", "external_id", "customer__email", "customer__last_name"]
    list_select_related = ["channel", "location", "customer"]
    raw_id_fields = ["customer"]
    date_hierarchy = "created_at"
    inlines = [OrderLineInline, PaymentInline]
    show_full_result_count = False


@admin.register(Allocation)
class AllocationAdmin(admin.ModelAdmin):
    list_display = ["line", "location", "quantity"]
    list_select_related = ["line", "line__order", "location"]
    raw_id_fields = ["line"]
