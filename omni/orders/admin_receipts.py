"""The receipt import of the admin: preview, row errors, confirm; large files in the background with progress.

Nothing here records a sale: the resource hands the file to
`omni.orders.receipts.record_receipts`, the bulk form of the one order
service, in the request for small files and through the
`orders.import_receipts` task (sent by the outbox) for large ones.
"""

from __future__ import annotations

from collections import OrderedDict

import tablib
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ImportMixin
from import_export.formats import base_formats
from import_export.forms import ImportForm
from import_export.results import Result, RowResult

from omni import outbox
from omni.actor import Actor
from omni.catalog.scoping import StoreScopedAdmin, location_of, sees_all_locations
from omni.errors import Invalid
from omni.orders.models import ReceiptImport
from omni.orders.receipts import COLUMNS, ReceiptFileInvalid, csv_table, record_receipts, rows_from_table
from omni.uploads import check_uploaded_file

PERMISSION = "orders.import_receipts"
PREVIEW_ROWS = 500  # the preview lists this many receipt lines; the totals count them all


def lines_in_request() -> int:
    """Files up to this many lines import in the request; longer ones run as a task."""
    return int(getattr(settings, "RECEIPT_IMPORT_IN_REQUEST_LINES", 2000))


def allowed_locations_of(user) -> list[int] | None:
    """None: any store. Otherwise the one store a member of staff works at (none: no store at all)."""
    if sees_all_locations(user):
        return None
    own = location_of(user)
    return [own.pk] if own is not None else []


class ReceiptResource(resources.Resource):
    """A POS receipt file, one row per receipt line. Recorded by record_receipts, all or nothing."""

    store = fields.Field(column_name="store")
    receipt = fields.Field(column_name="receipt")
    sold_at = fields.Field(column_name="sold_at")
    sku = fields.Field(column_name="sku")
    quantity = fields.Field(column_name="quantity")
    unit_price = fields.Field(column_name="unit_price")
    card = fields.Field(column_name="card")
    tender = fields.Field(column_name="tender")

    class Meta:
        model = ReceiptImport
        import_id_fields: list[str] = []

    @classmethod
    def get_display_name(cls) -> str:
        return gettext("POS receipts")

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        """Preview (dry run) or record the whole file; a large file is handed to a task when confirmed."""
        user = kwargs.get("user")
        result = Result()
        result.diff_headers = [*COLUMNS, gettext("order"), gettext("receipt total"), gettext("points")]
        result.total_rows = len(dataset)
        allowed = allowed_locations_of(user)
        try:
            rows = rows_from_table(dataset.headers or [], dataset)
            if not dry_run and len(rows) > lines_in_request():
                result.receipt_import = self._queue(dataset, kwargs.get("file_name") or "receipts.csv", user)
                return result
            outcome = record_receipts(rows, actor=Actor.of(user), dry_run=dry_run, allowed_locations=allowed)
        except ReceiptFileInvalid as exc:
            by_line = {row.line: row for row in rows}
            for line, problems in sorted(exc.row_errors.items()):
                row = by_line[line]
                values = OrderedDict((name, getattr(row, name)) for name in COLUMNS)
                result.append_invalid_row(line, values, ValidationError(problems))
            if raise_errors:
                raise
            return result
        except Invalid as exc:
            if raise_errors:
                raise
            result.append_invalid_row(1, {}, ValidationError({"file": [exc.detail]}))
            return result

        by_line = {row.line: row for row in rows}
        shown = 0
        for receipt in outcome.receipts:
            for line in receipt.lines:
                row_result = RowResult()
                row_result.import_type = RowResult.IMPORT_TYPE_SKIP if receipt.skipped else RowResult.IMPORT_TYPE_NEW
                result.increment_row_result_total(row_result)
                if shown >= PREVIEW_ROWS:
                    continue
                shown += 1
                row = by_line[line]
                order = receipt.order_number or ("" if receipt.skipped else gettext("new"))
                if receipt.skipped:
                    order = gettext("already imported as %(number)s") % {"number": receipt.order_number}
                row_result.diff = [
                    *(row.__dict__[name] for name in COLUMNS),
                    order,
                    "" if receipt.skipped else receipt.total,
                    "" if receipt.skipped else receipt.points,
                ]
                result.append_row_result(row_result)
        result.shortfalls = outcome.shortfalls
        return result

    def _queue(self, dataset, file_name: str, user) -> ReceiptImport:
        """Store the file and send it to the worker after the commit."""
        own = None if sees_all_locations(user) else location_of(user)
        with transaction.atomic():
            job = ReceiptImport.objects.create(
                file_name=file_name[:255],
                file_format="csv",
                content=dataset.export("csv").encode("utf-8"),
                user=user,
                location=own,
                total_lines=len(dataset),
            )
            outbox.enqueue("orders.import_receipts", import_id=job.pk)
        return job


class ReceiptCSV(base_formats.CSV):
    """CSV read by the same reader as the import_receipts command: comma or semicolon separated."""

    def create_dataset(self, in_stream, **kwargs):
        if isinstance(in_stream, bytes):
            in_stream = in_stream.decode(self.encoding or "utf-8-sig")
        headers, records = csv_table(in_stream)
        dataset = tablib.Dataset(headers=headers or [])
        width = len(headers or [])
        for record in records:
            if any(cell.strip() for cell in record):
                dataset.append((record + [""] * width)[:width])
        return dataset


class ReceiptImportForm(ImportForm):
    """The import form, with the upload checked (type, size, content) before it is read."""

    def clean_import_file(self):
        uploaded = self.cleaned_data["import_file"]
        try:
            check_uploaded_file(uploaded)
        except Invalid as exc:
            raise ValidationError(exc.detail)
        return uploaded


@admin.register(ReceiptImport)
class ReceiptImportAdmin(StoreScopedAdmin, ImportMixin, admin.ModelAdmin):
    """The receipt files imported in the background; the import page itself is the "Import" button."""

    store_lookups = ["location"]
    resource_classes = [ReceiptResource]
    formats = [fmt for fmt in (ReceiptCSV, base_formats.XLSX) if fmt.is_available()]
    import_form_class = ReceiptImportForm
    skip_admin_log = True
    list_display = ["file_name", "status", "progress", "orders_created", "receipts_skipped", "user", "created_at"]
    list_filter = ["status"]
    list_select_related = ["user"]
    ordering = ["-created_at", "-pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).defer("content")

    def get_import_form_class(self, request):
        return ReceiptImportForm

    def has_add_permission(self, request):
        return False  # made by the import

    def has_change_permission(self, request, obj=None):
        return False  # the outcome of an import is a record

    def has_import_permission(self, request):
        user = request.user
        return user.has_perm(PERMISSION) and (sees_all_locations(user) or location_of(user) is not None)

    @admin.display(description=_("progress"))
    def progress(self, obj: ReceiptImport):
        url = reverse("admin:orders_receiptimport_progress", args=[obj.pk])
        return format_html('<a href="{}">{} %</a>', url, obj.percent)

    def get_urls(self):
        extra = [
            path(
                "<int:pk>/progress/",
                self.admin_site.admin_view(self.progress_view),
                name="orders_receiptimport_progress",
            )
        ]
        return extra + super().get_urls()

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return HttpResponseRedirect(reverse("admin:orders_receiptimport_progress", args=[object_id]))

    def progress_view(self, request, pk: int):
        if not self.has_view_permission(request):
            raise PermissionDenied
        job = get_object_or_404(self.get_queryset(request).select_related("user"), pk=pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Receipt import: %(file)s") % {"file": job.file_name},
            "opts": self.model._meta,
            "job": job,
            "refresh_seconds": 2,
        }
        return TemplateResponse(request, "admin/orders/receiptimport/progress.html", context)

    def process_result(self, result, request):
        job = getattr(result, "receipt_import", None)
        if job is not None:
            messages.info(
                request,
                _("The file has %(lines)s lines: it is being imported in the background.") % {"lines": job.total_lines},
            )
            return HttpResponseRedirect(reverse("admin:orders_receiptimport_progress", args=[job.pk]))
        for shortfall in getattr(result, "shortfalls", []):
            messages.warning(
                request,
                _("Row %(line)s: %(units)s unit(s) of %(sku)s at %(store)s sold beyond the stock on file; count it.")
                % {"line": shortfall.line, "units": shortfall.units, "sku": shortfall.sku, "store": shortfall.store},
            )
        return super().process_result(result, request)
