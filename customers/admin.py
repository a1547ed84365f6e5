"""The customer in the admin: one search box for any identifier, the single view, merge, export, erase."""

from __future__ import annotations

import importlib.util
import json
from collections import OrderedDict

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from import_export import resources
from import_export.admin import ImportMixin
from import_export.formats import base_formats
from import_export.results import Result, RowResult

from customers import moving_in, selectors, services
from customers.models import (
    ConsentChange,
    Customer,
    CustomerMerge,
    Erasure,
    Identifier,
    PersonalDataAudit,
    Segment,
)
from customers.normalise import normalise_email, normalise_phone
from customers.resources import SegmentMemberResource
from omni import jobs
from omni.actor import ADMIN, Actor
from omni.admin import ReadOnlyAdmin
from omni.catalog.models import ChannelCode
from omni.errors import DomainError, Invalid
from omni.replicas import reads_from_replica
from omni.uploads import CheckedImportForm

TIMELINE_ROWS = 25


class IdentifierInline(admin.TabularInline):
    model = Identifier
    fk_name = "customer"
    extra = 0
    fields = ["kind", "value", "is_verified", "created_at"]
    readonly_fields = ["created_at"]


class CustomerForm(forms.ModelForm):
    """Profile e-mail and phone are stored normalised, as the API stores them."""

    class Meta:
        model = Customer
        fields = ["first_name", "last_name", "email", "phone", "birth_date"]

    def _normalised(self, name, normalise):
        value = self.cleaned_data.get(name)
        if not value:
            return value
        try:
            return normalise(value, field=name)
        except Invalid as error:
            raise forms.ValidationError(error.errors[name]) from None

    def clean_email(self):
        return self._normalised("email", normalise_email)

    def clean_phone(self):
        return self._normalised("phone", normalise_phone)


class StatusFilter(admin.SimpleListFilter):
    title = _("status")
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("live", _("Live")), ("merged", _("Merged into another")), ("erased", _("Erased"))]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(merged_into__isnull=True, erased_at__isnull=True)
        if self.value() == "merged":
            return queryset.filter(merged_into__isnull=False)
        if self.value() == "erased":
            return queryset.filter(erased_at__isnull=False)
        return queryset


PREVIEW_ROWS = 500  # the preview lists this many rows; the totals count them all
IMPORT_PERMISSION = "customers.import_customers"


class CustomerImportResource(resources.Resource):
    """Customers from another system (README, "Moving in"): imported by `moving_in.import_customers`, all or nothing."""

    class Meta:
        model = Customer
        import_id_fields: list[str] = []

    @classmethod
    def get_display_name(cls) -> str:
        return gettext("Customers from another system")

    def import_data(self, dataset, dry_run=False, raise_errors=False, use_transactions=None, **kwargs):
        """Preview (new, updated, merges, unchanged, errors) or import; a large file goes to a background job."""
        user = kwargs.get("user")
        result = Result()
        result.diff_headers = [
            gettext("line"),
            "external_id",
            gettext("name"),
            gettext("outcome"),
            gettext("customer"),
            gettext("detail"),
        ]
        result.total_rows = len(dataset)
        try:
            rows = moving_in.rows_from_dataset(dataset)
            if not dry_run and len(rows) > jobs.rows_in_request():
                result.job = jobs.start(
                    kind="customers.import",
                    title=gettext("Customer import: %(file)s") % {"file": kwargs.get("file_name") or "file"},
                    task="customers.import_customers",
                    total=len(rows),
                    params={"format": "csv", "suffix": ".csv"},
                    content=dataset.export("csv").encode("utf-8"),
                    user=user,
                    result_url=reverse("admin:customers_customer_changelist"),
                )
                return result
            report = moving_in.import_customers(rows, dry_run=dry_run, actor=Actor.of(user, door=ADMIN))
        except moving_in.ImportRejected as exc:
            report = exc.report
        except Invalid as exc:
            if raise_errors:
                raise
            result.append_invalid_row(1, {}, ValidationError({"file": [exc.detail]}))
            return result
        labels = {
            moving_in.NEW: gettext("new"),
            moving_in.UPDATED: gettext("updated"),
            moving_in.MERGE: gettext("merges"),
            moving_in.UNCHANGED: gettext("unchanged"),
        }
        kinds = {
            moving_in.NEW: RowResult.IMPORT_TYPE_NEW,
            moving_in.UPDATED: RowResult.IMPORT_TYPE_UPDATE,
            moving_in.MERGE: RowResult.IMPORT_TYPE_UPDATE,
            moving_in.UNCHANGED: RowResult.IMPORT_TYPE_SKIP,
        }
        if report.error_rows:  # nothing is imported: the page lists every row to correct
            for outcome in report.error_rows:
                values = OrderedDict(external_id=outcome.external_id, name=outcome.name)
                result.append_invalid_row(outcome.line, values, ValidationError(outcome.errors))
            if raise_errors:
                raise ValidationError(gettext("Some rows are wrong: nothing was imported."))
            return result
        shown = 0
        for outcome in report.rows:
            row_result = RowResult()
            row_result.import_type = kinds[outcome.status]
            result.increment_row_result_total(row_result)
            if shown >= PREVIEW_ROWS:
                continue
            shown += 1
            row_result.diff = [
                outcome.line,
                outcome.external_id,
                outcome.name,
                labels[outcome.status],
                f"#{outcome.customer_id}" if outcome.customer_id else "",
                moving_in.describe(outcome),
            ]
            result.append_row_result(row_result)
        return result


@admin.register(Customer)
class CustomerAdmin(ImportMixin, admin.ModelAdmin):
    """Type a name, an e-mail, a phone (however written) or a card number: one match opens the customer.

    The Import button brings customers in from another system (CustomerImportResource).
    """

    change_list_template = "admin/customers/customer/change_list.html"
    resource_classes = [CustomerImportResource]
    import_form_class = CheckedImportForm
    formats = [fmt for fmt in (base_formats.CSV, base_formats.XLSX) if fmt.is_available()]
    skip_admin_log = True

    form = CustomerForm
    list_display = ["__str__", "email", "phone", "status", "created_at"]
    search_fields = ["first_name", "last_name", "email", "phone", "identifiers__value"]
    search_help_text = _("Name, e-mail, phone (e.g. 333 123 4567) or any identifier: card number, device, web account.")
    list_filter = [StatusFilter, "created_at"]
    readonly_fields = ["merged_into", "erased_at", "created_at"]
    fields = ["first_name", "last_name", "email", "phone", "birth_date", "created_at", "merged_into", "erased_at"]
    inlines = [IdentifierInline]
    actions = ["merge_selected"]
    show_full_result_count = False

    @admin.display(description=_("status"))
    def status(self, obj: Customer) -> str:
        if obj.erased_at is not None:
            return str(_("erased"))
        if obj.merged_into_id is not None:
            return str(_("merged into #%(pk)s") % {"pk": obj.merged_into_id})
        return ""

    def get_search_results(self, request, queryset, search_term):
        """Match names, profile e-mail/phone and identifier values, normalised as they are stored."""
        if not search_term.strip():
            return queryset, False
        matching = Customer.objects.filter(selectors.search_filter(search_term)).values("pk")
        return queryset.filter(pk__in=matching), False

    def changelist_view(self, request, extra_context=None):
        term = request.GET.get("q", "").strip()
        other_params = set(request.GET) - {"q"}
        if term and not other_params:
            found = list(
                self.get_search_results(request, self.get_queryset(request), term)[0].values_list("pk", flat=True)[:2]
            )
            if len(found) == 1:
                return HttpResponseRedirect(reverse("admin:customers_customer_change", args=[found[0]]))
        return super().changelist_view(request, extra_context)

    def save_model(self, request, obj, form, change):
        if not change:
            return super().save_model(request, obj, form, change)
        # A change to the profile is made in save_related, through the service, once the identifiers
        # typed in the inline are saved: an e-mail typed in both places is then the inline's identifier.

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        changes = {name: form.cleaned_data[name] for name in form.changed_data if name in form.cleaned_data}
        if change:
            services.update_profile(customer=form.instance, changes=changes, actor=Actor.of(request.user))
        else:
            services.add_profile_identifiers(customer=form.instance)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except DomainError as error:
            self.message_user(request, error.detail, messages.ERROR)
            return HttpResponseRedirect(request.path)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        customer = self.get_object(request, object_id)
        context = dict(extra_context or {})
        if customer is not None:
            context.update(self.single_view(request, customer))
        return super().change_view(request, object_id, form_url, context)

    def single_view(self, request, customer: Customer) -> dict:
        summary = selectors.summary(customer)
        consents = selectors.current_consents([customer.pk])[customer.pk]
        return {
            "customer": customer,
            "survivor": selectors.survivor_of(customer) if customer.merged_into_id else None,
            "summary": summary,
            "consents": [
                (purpose_label, consents[purpose])
                for purpose, purpose_label in ConsentChange._meta.get_field("purpose").choices
            ],
            "panels": selectors.panels(customer),
            "timeline": selectors.timeline_entries(customer, offset=0, limit=TIMELINE_ROWS),
            "timeline_total": selectors.timeline_count(customer),
            "merges": CustomerMerge.objects.filter(survivor=customer).order_by("-merged_at")[:20],
            "can_export": request.user.has_perm("customers.export_personal_data"),
            "can_erase": request.user.has_perm("customers.erase_personal_data") and customer.erased_at is None,
        }

    # -- merge -----------------------------------------------------------------------------------

    @admin.action(description=_("Merge selected customers into the oldest"), permissions=["merge"])
    def merge_selected(self, request, queryset):
        chosen = list(queryset.order_by("pk"))
        if len(chosen) < 2:
            self.message_user(request, _("Choose at least two customers to merge."), messages.WARNING)
            return None
        if request.POST.get("confirm") == "yes":
            try:
                survivor = services.merge_into_oldest(customers=chosen, actor=Actor.of(request.user, door=ADMIN))
            except DomainError as error:
                self.message_user(request, error.detail, messages.ERROR)
                return None
            self.message_user(
                request,
                _("%(count)d customer(s) merged into %(survivor)s.") % {"count": len(chosen) - 1, "survivor": survivor},
                messages.SUCCESS,
            )
            return HttpResponseRedirect(reverse("admin:customers_customer_change", args=[survivor.pk]))
        survivor, moving = selectors.merge_preview(chosen)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Merge customers"),
            "opts": self.model._meta,
            "survivor": survivor,
            "moving": moving,
            "chosen": chosen,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/customers/customer/merge_confirmation.html", context)

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm("customers.merge_customers")

    def has_import_permission(self, request) -> bool:
        return request.user.has_perm(IMPORT_PERMISSION)

    def process_result(self, result, request):
        job = getattr(result, "job", None)
        if job is not None:  # a large file: imported by a worker, followed on its progress page
            return HttpResponseRedirect(reverse("admin:omni_job_progress", args=[job.pk]))
        return super().process_result(result, request)

    # -- personal data ---------------------------------------------------------------------------

    def get_urls(self):
        own = [
            path(
                "<int:pk>/export/",
                self.admin_site.admin_view(self.export_view),
                name="customers_customer_export",
            ),
            path(
                "<int:pk>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="customers_customer_erase",
            ),
        ]
        return own + super().get_urls()

    def export_view(self, request, pk: int):
        if not request.user.has_perm("customers.export_personal_data"):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        data = services.export_personal_data(customer=customer, actor=Actor.of(request.user, door=ADMIN))
        response = HttpResponse(
            json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        return response

    def erase_view(self, request, pk: int):
        if not request.user.has_perm("customers.erase_personal_data"):
            raise PermissionDenied
        customer = get_object_or_404(Customer, pk=pk)
        change_url = reverse("admin:customers_customer_change", args=[customer.pk])
        if request.method == "POST":
            try:
                services.erase_customer(customer=customer, actor=Actor.of(request.user, door=ADMIN))
            except DomainError as error:
                self.message_user(request, error.detail, messages.ERROR)
            else:
                self.message_user(request, _("The customer's personal data was erased."), messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Erase personal data"),
            "opts": self.model._meta,
            "customer": customer,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/customers/customer/erase_confirmation.html", context)


@admin.register(Identifier)
class IdentifierAdmin(admin.ModelAdmin):
    list_display = ["kind", "value", "customer", "is_verified", "created_at"]
    list_filter = ["kind", "is_verified"]
    search_fields = ["value"]
    list_select_related = ["customer"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["stand_in"]  # set by identify only


@admin.register(ConsentChange)
class ConsentChangeAdmin(ReadOnlyAdmin):
    list_display = ["changed_at", "customer", "purpose", "is_granted", "channel", "source_shown"]
    list_filter = ["purpose", "is_granted", "channel"]
    search_fields = ["customer__email", "customer__last_name", "source"]
    list_select_related = ["customer"]
    raw_id_fields = ["customer"]
    date_hierarchy = "changed_at"
    show_full_result_count = False
    fields = [
        "changed_at",
        "customer",
        "purpose",
        "is_granted",
        "channel",
        "source_shown",
        "wording",
        "user",
        "api_client",
        "request_key",
    ]
    readonly_fields = fields

    @admin.display(description=_("source"), ordering="source")
    def source_shown(self, obj: ConsentChange) -> str:
        return obj.source_shown


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ReadOnlyAdmin):
    list_display = ["merged_at", "merged", "survivor", "user", "api_client", "request_key"]
    list_select_related = ["merged", "survivor", "user", "api_client"]
    search_fields = ["=survivor__pk", "=merged__pk", "request_key"]
    raw_id_fields = ["survivor", "merged"]
    date_hierarchy = "merged_at"


@admin.register(PersonalDataAudit)
class PersonalDataAuditAdmin(ReadOnlyAdmin):
    """Who exported, erased or merged whose personal data, when and through which door."""

    list_display = ["at", "action", "customer_id", "door", "user", "api_client"]
    list_filter = ["action", "door"]
    list_select_related = ["user", "api_client"]
    date_hierarchy = "at"


@admin.register(Erasure)
class ErasureAdmin(ReadOnlyAdmin):
    list_display = ["erased_at", "customer", "user", "api_client", "request_key"]
    list_select_related = ["customer", "user", "api_client"]
    raw_id_fields = ["customer"]
    date_hierarchy = "erased_at"


def tier_choices() -> list[tuple[str, str]]:
    """The loyalty tiers, reached through the relation the segment's rule follows (`loyalty_account__tier`).

    Customers import nothing of loyalty: the tier model is found from the relation's name, as the
    segment's query finds it.
    """
    try:
        account = Customer._meta.get_field("loyalty_account").related_model
        tier = account._meta.get_field("tier").related_model
    except (LookupError, AttributeError, FieldDoesNotExist):  # loyalty not installed: no tier to choose
        return []
    return [(code, name) for code, name in tier.objects.order_by("min_spend", "code").values_list("code", "name")]


class SegmentForm(forms.ModelForm):
    """The segment's rules as fields to tick and fill: it writes the rules' lists, nobody types JSON."""

    channels = forms.MultipleChoiceField(
        label=_("channels used"),
        choices=ChannelCode.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("Members bought on at least one of the ticked channels; none ticked: any channel."),
    )
    tiers = forms.MultipleChoiceField(
        label=_("loyalty tiers"),
        choices=[],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("None ticked: any tier, or none."),
    )

    class Meta:
        model = Segment
        fields = [
            "name",
            "description",
            "consent",
            "channels",
            "reach",
            "last_order_within_days",
            "no_order_for_days",
            "min_orders",
            "max_orders",
            "min_revenue",
            "max_revenue",
            "tiers",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tiers"].choices = tier_choices()


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    """Saved segments for e-mail marketing: set the rules, save, see the count, export the members."""

    form = SegmentForm

    list_display = ["name", "consent", "reach", "member_count", "counted_at", "updated_at"]
    list_filter = ["consent", "reach"]
    search_fields = ["name", "description"]
    readonly_fields = ["member_count", "counted_at"]
    fieldsets = [
        (None, {"fields": ["name", "description", "consent", ("member_count", "counted_at")]}),
        (_("Channels"), {"fields": ["channels", "reach"]}),
        (
            _("Recency, frequency, monetary"),
            {
                "fields": [
                    ("last_order_within_days", "no_order_for_days"),
                    ("min_orders", "max_orders"),
                    ("min_revenue", "max_revenue"),
                ]
            },
        ),  # fmt: skip
        (_("Loyalty"), {"fields": ["tiers"]}),
    ]
    actions = ["recount", "export_csv", "export_xlsx"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        services.count_members(segment=obj)

    @admin.action(description=_("Count the members again"), permissions=["change"])
    def recount(self, request, queryset):
        for segment in queryset:
            services.count_members(segment=segment)
        self.message_user(request, _("Members counted."), messages.SUCCESS)

    @reads_from_replica()
    def _export(self, request, queryset, file_format: str):
        if queryset.count() != 1:
            self.message_user(request, _("Choose one segment to export."), messages.WARNING)
            return None
        segment = queryset.get()
        if file_format == "xlsx" and importlib.util.find_spec("openpyxl") is None:
            self.message_user(request, _("Excel export needs the openpyxl package; use CSV."), messages.ERROR)
            return None
        dataset = SegmentMemberResource().export(queryset=selectors.segment_members(segment))
        if file_format == "xlsx":
            content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
            body = dataset.export("xlsx")
        else:
            content_type, body = "text/csv; charset=utf-8", dataset.export("csv")
        response = HttpResponse(body, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="segment-{segment.pk}.{file_format}"'
        return response

    @admin.action(description=_("Export the consenting members (CSV)"), permissions=["export"])
    def export_csv(self, request, queryset):
        return self._export(request, queryset, "csv")

    @admin.action(description=_("Export the consenting members (Excel)"), permissions=["export"])
    def export_xlsx(self, request, queryset):
        return self._export(request, queryset, "xlsx")

    def has_export_permission(self, request) -> bool:
        # Member lists carry e-mails and phones: marketing's (change) right, not every viewer's.
        return request.user.has_perm("customers.change_segment")
