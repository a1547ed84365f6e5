from django.contrib import admin

from inventory.models import StockLevel, StockMovement


@admin.register(StockLevel)
class StockLevelAdmin(admin.ModelAdmin):
    list_display = ["variant", "location", "on_hand", "reserved", "safety_stock"]
    list_filter = ["location"]
    search_fields = ["variant__sku", "location__code"]
    list_select_related = ["variant", "location"]
    raw_id_fields = ["variant"]
    show_full_result_count = False


@admin.register(StockMovement)
class StockMovementAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "variant", "location", "on_hand_delta", "reserved_delta", "reason", "user"]
    list_filter = ["kind", "location"]
    search_fields = ["variant__sku", "reason"]
    list_select_related = ["variant", "location", "user"]
    show_full_result_count = False

    def has_change_permission(self, request, obj=None):
        return False  # the ledger is append-only

    def has_delete_permission(self, request, obj=None):
        return False
