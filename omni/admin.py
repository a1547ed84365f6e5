from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from omni import jobs
from omni.models import ApiClient, Job, OutboxMessage


class ReadOnlyAdmin(admin.ModelAdmin):
    """Records the services write (ledgers, histories, allocations): shown here, never added, edited or deleted."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


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
        from omni.api.keys import revoke

        count = revoke(queryset)
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


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    """The long actions run in the background; each has a progress page that refreshes itself.

    Staff see the jobs they started; whoever holds "view background job" sees all of them.
    """

    list_display = ["title", "status", "progress", "user", "created_at", "finished_at"]
    list_filter = ["status", "kind"]
    list_select_related = ["user"]
    search_fields = ["title"]

    def get_queryset(self, request):
        jobs = super().get_queryset(request).defer("content")
        return jobs if request.user.has_perm("omni.view_job") else jobs.filter(user=request.user)

    def has_view_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_staff

    def has_module_permission(self, request):
        return self.has_view_permission(request)

    def has_add_permission(self, request):
        return False  # started by the actions and imports

    def has_change_permission(self, request, obj=None):
        return False  # the outcome of a job is a record

    @admin.display(description=_("progress"))
    def progress(self, obj: Job):
        url = reverse("admin:omni_job_progress", args=[obj.pk])
        return format_html('<a href="{}">{} / {} ({} %)</a>', url, obj.done, obj.total, obj.percent)

    def get_urls(self):
        return [
            path("<int:pk>/progress/", self.admin_site.admin_view(self.progress_view), name="omni_job_progress"),
            path("<int:pk>/status/", self.admin_site.admin_view(self.status_view), name="omni_job_status"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:omni_job_progress", args=[object_id]))

    def _job(self, request, pk: int) -> Job:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request).select_related("user"), pk=pk)

    def progress_view(self, request, pk: int):
        job = self._job(request, pk)
        context = {
            **self.admin_site.each_context(request),
            "title": job.title,
            "opts": self.model._meta,
            "job": job,
            "status_url": reverse("admin:omni_job_status", args=[job.pk]),
            "refresh_seconds": 2,
        }
        return TemplateResponse(request, "admin/omni/job/progress.html", context)

    def status_view(self, request, pk: int):
        """The job's figures as JSON, polled by its progress page."""
        return JsonResponse(jobs.status_of(self._job(request, pk)))
