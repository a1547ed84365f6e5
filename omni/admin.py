from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from omni.models import ApiClient, OutboxMessage


@admin.register(ApiClient)
class ApiClientAdmin(admin.ModelAdmin):
    """API clients are created with `manage.py create_api_client`; here they are reviewed and revoked."""

    list_display = ["name", "key_prefix", "scope_list", "is_active", "last_used_at", "created_at"]
    list_filter = ["is_active"]
    search_fields = ["name", "key_prefix"]
    readonly_fields = ["key_prefix", "created_at", "last_used_at", "revoked_at"]
    fields = ["name", "key_prefix", "scopes", "rate_limit", "is_active", "created_at", "last_used_at", "revoked_at"]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.display(description=_("scopes"))
    def scope_list(self, obj):
        return ", ".join(obj.scopes)

    @admin.action(description=_("Revoke the selected clients' keys"), permissions=["change"])
    def revoke(self, request, queryset):
        from django.utils import timezone

        count = queryset.filter(is_active=True).update(is_active=False, revoked_at=timezone.now())
        self.message_user(request, _("%(count)d key(s) revoked.") % {"count": count})


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):
    list_display = ["pk", "task", "created_at", "sent_at", "attempts"]
    list_filter = ["task"]
    readonly_fields = ["task", "kwargs", "created_at", "sent_at", "attempts", "last_error"]

    def has_add_permission(self, request):
        return False


def titled(title, base: type[admin.FieldListFilter] = admin.ChoicesFieldListFilter) -> type[admin.FieldListFilter]:
    """A field's list filter under another title: `("location__kind", titled(_("location kind")))`.

    Two filters titled by their fields' names would both read "By kind" ("Per tipo") on one page.
    """

    class TitledFilter(base):  # type: ignore[valid-type,misc]
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.title = title

    return TitledFilter
