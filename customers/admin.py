from django.contrib import admin

from customers.models import Customer, Identifier


class IdentifierInline(admin.TabularInline):
    model = Identifier
    extra = 0
    fields = ["kind", "value", "is_verified", "created_at"]
    readonly_fields = ["created_at"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["__str__", "email", "phone", "created_at"]
    search_fields = ["first_name", "last_name", "email", "phone", "identifiers__value"]
    list_filter = ["created_at"]
    inlines = [IdentifierInline]
    show_full_result_count = False


@admin.register(Identifier)
class IdentifierAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "customer", "is_verified"]
    list_filter = ["kind", "is_verified"]
    search_fields = ["value"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
