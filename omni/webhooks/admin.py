"""Subscriptions are reviewed, switched off and on here; the delivery log is read here and redelivered from."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils.translation import gettext_lazy as _

from omni.errors import DomainError
from omni.webhooks import services
from omni.webhooks.api.serializers import EVENT_CHOICES
from omni.webhooks.models import Delivery, Subscription


class SubscriptionForm(forms.ModelForm):
    url = forms.URLField(label=_("URL"), max_length=2000, assume_scheme="https")
    events = forms.MultipleChoiceField(
        label=_("events"), choices=[(name, name) for name in EVENT_CHOICES], widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = Subscription
        fields = ["url", "events", "description", "is_active"]

    def clean(self):
        cleaned = super().clean()
        try:
            if cleaned.get("url"):
                services.check_url(cleaned["url"])
            if cleaned.get("events"):
                services.check_events(cleaned["events"])
        except DomainError as error:
            raise forms.ValidationError(error.detail) from None
        return cleaned


@admin.register(Subscription)
class SubscriptionAdmin(admin.ModelAdmin):
    form = SubscriptionForm
    list_display = ["url", "event_list", "owner", "is_active", "is_failing", "failing_since", "created_at"]
    list_filter = ["is_active", "is_failing"]
    search_fields = ["url", "description"]
    readonly_fields = ["owner", "secret", "failing_since", "is_failing", "created_at"]

    @admin.display(description=_("events"))
    def event_list(self, obj):
        return ", ".join(obj.events)

    def save_model(self, request, obj, form, change):
        data = {name: form.cleaned_data[name] for name in ["url", "events", "description", "is_active"]}
        if change:
            services.update_subscription(subscription=obj, changes=data)
        else:
            is_active = data.pop("is_active")
            created = services.subscribe(**data)
            if not is_active:
                services.update_subscription(subscription=created, changes={"is_active": False})
            obj.pk = created.pk
            obj.refresh_from_db()

    def delete_model(self, request, obj):
        services.delete_subscription(subscription=obj)

    def delete_queryset(self, request, queryset):
        for subscription in queryset:
            services.delete_subscription(subscription=subscription)


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The log of every attempt; nothing here is edited, only redelivered."""

    list_display = ["at", "subscription", "event_type", "event", "status_code", "duration_ms", "short_error"]
    list_filter = ["event__type", "subscription"]
    search_fields = ["event__id", "subscription__url"]
    list_select_related = ["event", "subscription"]
    actions = ["redeliver"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=_("type"))
    def event_type(self, obj):
        return obj.event.type

    @admin.display(description=_("error"))
    def short_error(self, obj):
        return obj.error[:80]

    def has_redeliver_permission(self, request):
        return request.user.has_perm("webhooks.change_subscription")

    @admin.action(
        description=_("Redeliver the selected deliveries' events (same webhook-id)"), permissions=["redeliver"]
    )
    def redeliver(self, request, queryset):
        count = 0
        for delivery in queryset:
            services.redeliver(delivery=delivery)
            count += 1
        self.message_user(request, _("%(count)d event(s) queued again.") % {"count": count}, messages.SUCCESS)
