"""The stock pages of the admin: stock rows, the ledger, holds, counting and the count import.

Nothing here changes stock by saving a model: counting, the import and
cancelling holds all call inventory.services, which write the ledger.
"""

from __future__ import annotations

from collections import OrderedDict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _
from import_export import fields, resources
from import_export.admin import ImportMixin
from import_export.formats import base_formats
from import_export.results import Result, RowResult

from inventory import selectors, services
from inventory.importing import COLUMNS, rows_of
from inventory.models import (
    ProposalStatus,
    ReplenishmentProposal,
    Reservation,
    ReservationStatus,
    StockLevel,
    StockMovement,
    Transfer,
    TransferStatus,
)
from inventory.reasons import reason_shown
from omni import jobs
from omni.actor import Actor
from omni.admin import ReadOnlyAdmin, titled
from omni.catalog.models import Location, Variant
from omni.catalog.scoping import StoreScopedAdmin, location_of, locations_for, sees_all_locations
from omni.errors import DomainError, Invalid
from omni.uploads import CheckedImportForm


class StockCountResource(resources.Resource):
    """A stock count file: location, sku, on_hand, reason. Applied by services.count_many, all or nothing."""

    location = fields.Field(column_name="location")
    sku = fields.Field(column_name="sku")
    on_hand = fields.Field(column_name="on_hand")
    reason = fields.Field(column_name="reason")

    class Meta:
        model = StockLevel
        import_id_fields: list[str] = []

    @classmethod
    def get_display_name(cls) -> str:
        return _("Stock count")

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        """Check and apply the whole file through count_many; errors are reported per row, nothing is half done."""
        result = Result()
        result.diff_headers = [*COLUMNS, str(_("on hand before")), str(_("change"))]
        result.total_rows = len(dataset)
        try:
            rows = rows_of(dataset)
            if not dry_run and len(rows) > jobs.rows_in_request():
                result.job = jobs.start(
                    kind="inventory.import_stock_count",
                    title=gettext("Stock count import: %(file)s") % {"file": kwargs.get("file_name") or "file"},
                    task="inventory.import_stock_count",
                    total=len(rows),
                    content=dataset.export("csv").encode("utf-8"),
                    user=kwargs.get("user"),
                    result_url=reverse("admin:inventory_stocklevel_changelist"),
                )
                return result
            outcomes = services.count_many(rows, actor=Actor.of(kwargs.get("user")), dry_run=dry_run)
        except services.CountFileInvalid as exc:
            by_line = {row.line: row for row in rows}
            for line, problems in sorted(exc.row_errors.items()):
                row = by_line[line]
                values = OrderedDict(location=row.location, sku=row.sku, on_hand=row.on_hand, reason=row.reason or "")
                result.append_invalid_row(line, values, ValidationError(problems))
            if raise_errors:
                raise
            return result
        except Invalid as exc:
            if raise_errors:
                raise
            result.append_invalid_row(1, {}, ValidationError({"file": [exc.detail]}))
            return result
        for outcome in outcomes:
            row_result = RowResult()
            row_result.import_type = (
                RowResult.IMPORT_TYPE_NEW
                if outcome.before is None
                else RowResult.IMPORT_TYPE_UPDATE
                if outcome.delta
                else RowResult.IMPORT_TYPE_SKIP
            )
            before = "" if outcome.before is None else outcome.before
            row_result.diff = [
                outcome.location,
                outcome.sku,
                outcome.on_hand,
                outcome.reason,
                before,
                f"{outcome.delta:+d}",
            ]
            result.append_row_result(row_result)
            result.increment_row_result_total(row_result)
        return result


class CountForm(forms.Form):
    """Count one SKU at one location."""

    location = forms.ModelChoiceField(
        queryset=Location.objects.filter(is_active=True).order_by("code"),
        label=_("Location"),
        widget=admin.widgets.AutocompleteSelect(StockLevel._meta.get_field("location"), admin.site),
    )
    sku = forms.CharField(max_length=64, label=_("SKU"), help_text=_("Scan or type the SKU on the label."))
    on_hand = forms.IntegerField(
        min_value=0, max_value=services.MAX_ON_HAND, label=_("Counted units"), help_text=_("What is physically there.")
    )
    reason = forms.CharField(
        max_length=services.REASON_MAX_LENGTH,
        required=False,
        label=_("Reason"),
        help_text=_('For example "cycle count" or "found in back room". Empty: "count".'),
    )

    def clean_sku(self) -> Variant:
        sku = self.cleaned_data["sku"].strip()
        variant = Variant.objects.filter(sku=sku).first()
        if variant is None:
            raise forms.ValidationError(_("No variant with this SKU."))
        return variant


@admin.register(StockLevel)
class StockLevelAdmin(StoreScopedAdmin, ImportMixin, admin.ModelAdmin):
    store_lookups = ["location"]
    """Stock per location and SKU. On hand changes only by counting, importing or the stock services."""

    resource_classes = [StockCountResource]
    import_form_class = CheckedImportForm
    formats = [fmt for fmt in (base_formats.CSV, base_formats.XLSX) if fmt.is_available()]
    skip_admin_log = True
    import_export_change_list_template = "admin/inventory/stocklevel/change_list.html"
    list_display = [
        "sku",
        "product_name",
        "location",
        "location_kind",
        "on_hand",
        "reserved",
        "safety_stock",
        "available",
        "quarantined",
        "updated_at",
    ]
    list_filter = [("location__kind", titled(_("location kind"))), "location"]
    search_fields = ["variant__sku", "variant__product__name", "location__code", "location__name"]
    list_select_related = ["variant", "variant__product", "location"]
    autocomplete_fields = ["variant", "location"]
    readonly_fields = ["location", "variant", "on_hand", "reserved", "quarantined", "updated_at"]
    fields = ["location", "variant", "on_hand", "reserved", "safety_stock", "quarantined", "updated_at"]
    show_full_result_count = False

    def get_queryset(self, request):
        return selectors.with_available(super().get_queryset(request))

    def has_add_permission(self, request):
        return False  # rows are made by counting (the "Count stock" page) or the import

    def has_delete_permission(self, request, obj=None):
        return False  # stock changes by counts and movements, never by deleting its row

    def has_import_permission(self, request):
        # A file may name any location: only staff who see every location import.
        return self.has_change_permission(request) and sees_all_locations(request.user)

    @admin.display(description=_("SKU"), ordering="variant__sku")
    def sku(self, obj: StockLevel) -> str:
        return obj.variant.sku

    @admin.display(description=_("product"), ordering="variant__product__name")
    def product_name(self, obj: StockLevel) -> str:
        return obj.variant.product.name

    @admin.display(description=_("kind"), ordering="location__kind")
    def location_kind(self, obj: StockLevel) -> str:
        return obj.location.get_kind_display()

    @admin.display(description=_("available"), ordering="units_available")
    def available(self, obj: StockLevel) -> int:
        return obj.units_available

    def process_result(self, result, request):
        job = getattr(result, "job", None)
        if job is not None:  # a large file: applied by a worker, followed on its progress page
            return HttpResponseRedirect(reverse("admin:omni_job_progress", args=[job.pk]))
        return super().process_result(result, request)

    def get_urls(self):
        return [
            path("count/", self.admin_site.admin_view(self.count_view), name="inventory_stocklevel_count"),
            *super().get_urls(),
        ]

    def count_view(self, request):
        """A small form: location, SKU, counted units, reason -> services.count."""
        if not self.has_change_permission(request):
            raise PermissionDenied
        own = location_of(request.user)
        wanted = request.GET.get("location") or (own.pk if own is not None else None)
        form = CountForm(request.POST or None, initial={"location": wanted})
        form.fields["location"].queryset = locations_for(request.user)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                level = services.count(
                    location=data["location"],
                    variant=data["sku"],
                    on_hand=data["on_hand"],
                    reason=data["reason"].strip() or "count",
                    actor=Actor.of(request.user),
                )
            except DomainError as exc:
                form.add_error(None, exc.detail)
            else:
                self.message_user(
                    request,
                    format_html(
                        _("{} at {}: on hand is now {}."), data["sku"].sku, data["location"].code, level.on_hand
                    ),
                    messages.SUCCESS,
                )
                if "_another" in request.POST:
                    return HttpResponseRedirect(f"{request.path}?location={data['location'].pk}")
                return HttpResponseRedirect(reverse("admin:inventory_stocklevel_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": _("Count stock"),
            "form": form,
        }
        return TemplateResponse(request, "admin/inventory/stocklevel/count.html", context)


class ReasonShown:
    """The `why` field of stock rows: their reason in the staff's language (the stored text stays as written)."""

    @admin.display(description=_("reason"))
    def why(self, obj) -> str:
        return reason_shown(obj.reason)


@admin.register(StockMovement)
class StockMovementAdmin(ReasonShown, StoreScopedAdmin, ReadOnlyAdmin):
    """The stock ledger: append-only, so read only here, newest first."""

    store_lookups = ["location"]

    list_display = [
        "created_at",
        "kind",
        "variant",
        "location",
        "on_hand_delta",
        "reserved_delta",
        "quarantined_delta",
        "why",
        "user",
        "api_client",
    ]
    list_filter = [("kind", titled(_("movement"))), ("location__kind", titled(_("location kind"))), "location"]
    search_fields = ["variant__sku", "location__code", "reason"]
    list_select_related = ["variant", "location", "user", "api_client"]
    show_full_result_count = False
    fields = [
        "created_at",
        "kind",
        "variant",
        "location",
        "on_hand_delta",
        "reserved_delta",
        "quarantined_delta",
        "why",
        "user",
        "api_client",
    ]
    readonly_fields = fields


@admin.register(Reservation)
class ReservationAdmin(ReasonShown, StoreScopedAdmin, admin.ModelAdmin):
    store_lookups = ["location"]
    """Holds of units for customers (click & collect) and orders. Cancel with the action."""

    list_display = ["id", "variant", "location", "quantity", "customer", "order", "status", "expires_at", "created_at"]
    list_filter = ["status", "location"]
    search_fields = ["=id", "variant__sku", "location__code", "customer__email", "customer__last_name"]
    list_select_related = ["variant", "location", "customer", "order"]
    readonly_fields = [
        "variant",
        "location",
        "quantity",
        "customer",
        "order",
        "status",
        "expires_at",
        "why",
        "user",
        "api_client",
        "created_at",
        "closed_at",
    ]
    fields = readonly_fields
    actions = ["cancel_holds"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # holds are made through the API or by orders

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Cancel the selected holds (units become available again)"), permissions=["change"])
    def cancel_holds(self, request, queryset):
        cancelled, skipped = 0, 0
        actor = Actor.of(request.user)
        for reservation in queryset.filter(status=ReservationStatus.ACTIVE).select_related("variant", "location"):
            try:
                services.cancel_hold(reservation=reservation, reason="cancelled in the admin", actor=actor)
                cancelled += 1
            except DomainError:
                skipped += 1
        skipped += queryset.exclude(status=ReservationStatus.ACTIVE).count()
        self.message_user(
            request,
            ngettext("%(n)d hold cancelled.", "%(n)d holds cancelled.", cancelled) % {"n": cancelled},
            messages.SUCCESS,
        )
        if skipped:
            self.message_user(
                request,
                ngettext(
                    "%(n)d hold was no longer active and was left as it is.",
                    "%(n)d holds were no longer active and were left as they are.",
                    skipped,
                )
                % {"n": skipped},
                messages.WARNING,
            )


def _run_each(modeladmin, request, queryset, operation, done) -> None:
    """Apply a stock service to each selected row; report successes and refusals, never half a row.

    `done(n)` words the success message for n rows.
    """
    actor = Actor.of(request.user)
    succeeded, refused = 0, []
    for obj in queryset:
        try:
            operation(obj, actor)
            succeeded += 1
        except DomainError as exc:
            refused.append(f"{obj}: {exc.detail}")
    if succeeded:
        modeladmin.message_user(request, done(succeeded), messages.SUCCESS)
    for line in refused[:20]:
        modeladmin.message_user(request, line, messages.WARNING)


@admin.register(Transfer)
class TransferAdmin(ReasonShown, StoreScopedAdmin, admin.ModelAdmin):
    store_lookups = ["from_location", "to_location"]
    """Units moving between locations: requested (held at the source), in transit, received."""

    list_display = ["id", "variant", "from_location", "to_location", "quantity", "status", "created_at", "received_at"]
    list_filter = ["status", "from_location", "to_location"]
    search_fields = ["=id", "variant__sku", "from_location__code", "to_location__code"]
    list_select_related = ["variant", "from_location", "to_location"]
    autocomplete_fields = ["variant", "from_location", "to_location"]
    actions = ["ship", "receive", "cancel"]
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["status"]
        return self.get_fields(request, obj)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["variant", "from_location", "to_location", "quantity", "reason"]
        return ["why" if f.name == "reason" else f.name for f in Transfer._meta.fields]

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        """A new transfer is requested through the service, which holds the units at the source."""
        if change:
            return
        try:
            created = services.request_transfer(
                from_location=obj.from_location,
                to_location=obj.to_location,
                variant=obj.variant,
                quantity=obj.quantity,
                reason=obj.reason,
                actor=Actor.of(request.user),
            )
        except DomainError as exc:
            self.message_user(request, exc.detail, messages.ERROR)
            raise _TransferRefused from exc
        obj.pk = created.pk

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(request, form_url, extra_context)
        except _TransferRefused:
            return HttpResponseRedirect(request.get_full_path())

    @admin.action(description=_("Ship the selected transfers (units leave the source)"), permissions=["change"])
    def ship(self, request, queryset):
        _run_each(
            self,
            request,
            queryset.select_related("variant", "from_location", "to_location"),
            lambda t, actor: services.ship_transfer(transfer=t, actor=actor),
            lambda n: ngettext("%(n)d transfer shipped.", "%(n)d transfers shipped.", n) % {"n": n},
        )

    @admin.action(
        description=_("Receive the selected transfers (units arrive at the destination)"), permissions=["change"]
    )
    def receive(self, request, queryset):
        _run_each(
            self,
            request,
            queryset.select_related("variant", "from_location", "to_location"),
            lambda t, actor: services.receive_transfer(transfer=t, actor=actor),
            lambda n: ngettext("%(n)d transfer received.", "%(n)d transfers received.", n) % {"n": n},
        )

    @admin.action(description=_("Cancel the selected requested transfers"), permissions=["change"])
    def cancel(self, request, queryset):
        _run_each(
            self,
            request,
            queryset.filter(status=TransferStatus.REQUESTED).select_related("variant", "from_location", "to_location"),
            lambda t, actor: services.cancel_transfer(transfer=t, actor=actor),
            lambda n: ngettext("%(n)d transfer cancelled.", "%(n)d transfers cancelled.", n) % {"n": n},
        )


class _TransferRefused(Exception):
    pass


@admin.register(ReplenishmentProposal)
class ReplenishmentProposalAdmin(StoreScopedAdmin, admin.ModelAdmin):
    store_lookups = ["to_location", "from_location"]
    """Tonight's suggestions: which store will run out of what, and where the units can come from."""

    list_display = [
        "variant",
        "to_location",
        "from_location",
        "kind",
        "quantity",
        "daily_sales",
        "cover_days",
        "status",
        "transfer",
        "computed_on",
    ]
    list_filter = ["status", "kind", "to_location", "from_location"]
    search_fields = ["variant__sku", "variant__product__name", "to_location__code", "from_location__code"]
    list_select_related = ["variant", "to_location", "from_location", "transfer"]
    readonly_fields = [f.name for f in ReplenishmentProposal._meta.fields]
    actions = ["make_transfers", "dismiss"]
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Turn the selected proposals into transfers"), permissions=["change"])
    def make_transfers(self, request, queryset):
        _run_each(
            self,
            request,
            queryset.filter(status=ProposalStatus.PROPOSED),
            lambda p, actor: services.accept_proposal(proposal=p, actor=actor),
            lambda n: ngettext("%(n)d transfer requested.", "%(n)d transfers requested.", n) % {"n": n},
        )

    @admin.action(description=_("Dismiss the selected proposals"), permissions=["change"])
    def dismiss(self, request, queryset):
        count = queryset.filter(status=ProposalStatus.PROPOSED).update(status=ProposalStatus.DISMISSED)
        self.message_user(
            request,
            ngettext("%(n)d proposal dismissed.", "%(n)d proposals dismissed.", count) % {"n": count},
            messages.SUCCESS,
        )
