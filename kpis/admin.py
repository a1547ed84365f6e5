"""The kpis pages of the admin: events and social figures (with their import), and the rolled-up days."""

from __future__ import annotations

from collections import OrderedDict

from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.admin import ImportMixin
from import_export.formats import base_formats
from import_export.results import Result, RowResult

from kpis import services
from kpis.importing import COLUMNS, rows_of
from kpis.models import RollupDay, SocialMetric, TouchpointEvent
from omni import jobs
from omni.uploads import CheckedImportForm


@admin.register(TouchpointEvent)
class TouchpointEventAdmin(admin.ModelAdmin):
    """Events are received through the API and never edited here."""

    list_display = ["occurred_at", "type", "channel", "customer", "device_id", "session_id", "location", "event_id"]
    list_filter = ["type", "channel", "location"]
    search_fields = ["event_id", "device_id", "session_id", "customer__email", "customer__last_name"]
    list_select_related = ["channel", "location", "customer"]
    raw_id_fields = ["customer", "product"]
    date_hierarchy = "occurred_at"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SocialFiguresResource(resources.Resource):
    """A file of daily figures per network; saved by services.save_social_figures, all rows or none."""

    class Meta:
        model = SocialMetric
        import_id_fields: list[str] = []

    @classmethod
    def get_display_name(cls) -> str:
        return "Social figures"

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        result = Result()
        result.diff_headers = list(COLUMNS)
        result.total_rows = len(dataset)
        rows, errors = rows_of(dataset)
        if errors:
            for line, problems in sorted(errors.items()):
                result.append_invalid_row(line, OrderedDict(), ValidationError({"row": problems}))
            return result
        if not dry_run and len(rows) > jobs.rows_in_request():
            result.job = jobs.start(
                kind="kpis.import_social_figures",
                title=gettext("Social figures import: %(file)s") % {"file": kwargs.get("file_name") or "file"},
                task="kpis.import_social_figures",
                total=len(rows),
                content=dataset.export("csv").encode("utf-8"),
                user=kwargs.get("user"),
                result_url=reverse("admin:kpis_socialmetric_changelist"),
            )
            return result
        if not dry_run:
            services.save_social_figures(rows=rows)
        for row in rows:
            row_result = RowResult()
            row_result.import_type = RowResult.IMPORT_TYPE_UPDATE
            row_result.diff = [row.date.isoformat(), row.network, *(getattr(row, n) for n in COLUMNS[2:])]
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
        return result


@admin.register(SocialMetric)
class SocialMetricAdmin(ImportMixin, admin.ModelAdmin):
    """Daily likes, shares, comments, mentions and followers per network; import a CSV or XLSX to add or replace."""

    resource_classes = [SocialFiguresResource]
    import_form_class = CheckedImportForm
    formats = [fmt for fmt in (base_formats.CSV, base_formats.XLSX) if fmt.is_available()]
    skip_admin_log = True
    list_display = ["date", "network", "likes", "shares", "comments", "mentions", "followers", "engagement"]
    list_filter = ["network"]
    search_fields = ["network"]
    date_hierarchy = "date"

    @admin.display(description=_("engagement"))
    def engagement(self, obj: SocialMetric) -> int:
        return obj.engagement

    def process_result(self, result, request):
        job = getattr(result, "job", None)
        if job is not None:  # a large file: saved by a worker, followed on its progress page
            return HttpResponseRedirect(reverse("admin:omni_job_progress", args=[job.pk]))
        return super().process_result(result, request)


@admin.register(RollupDay)
class RollupDayAdmin(admin.ModelAdmin):
    """The days whose KPI figures were computed; select days and recompute them after a correction."""

    list_display = ["day", "refreshed_at"]
    date_hierarchy = "day"
    actions = ["recompute"]
    readonly_fields = ["day", "refreshed_at"]

    def has_add_permission(self, request):
        return False

    @admin.action(description=_("Recompute the figures of the selected days"), permissions=["change"])
    def recompute(self, request, queryset):
        """Recomputing is a second or more per day: a worker does it, and the page shows its progress."""
        days = sorted(queryset.values_list("day", flat=True))
        job = jobs.start(
            kind="kpis.recompute",
            title=ngettext("Recompute %(days)d KPI day", "Recompute %(days)d KPI days", len(days))
            % {"days": len(days)},
            task="kpis.recompute_days",
            total=len(days),
            params={"days": [day.isoformat() for day in days]},
            user=request.user,
            result_url=reverse("admin:kpis_rollupday_changelist"),
        )
        return HttpResponseRedirect(reverse("admin:omni_job_progress", args=[job.pk]))
