"""The returns admin: the clerk's take-back page, the RMAs, reasons, windows and the returns report."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.formats import number_format
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from customers.models import Customer
from customers.selectors import search_filter
from omni.actor import Actor
from omni.catalog.models import Channel
from omni.catalog.scoping import StoreScopedAdmin, location_of, locations_for, scope, sees_all_locations
from omni.errors import DomainError
from omni.orders.models import Order
from returns import notices, selectors, services
from returns.forms import FindOrderForm, ReturnForm
from returns.models import Refund, Return, ReturnLine, ReturnPolicy, ReturnReason, ReturnStatus

RECENT_ORDERS = 20


class ReturnLineInline(admin.TabularInline):
    model = ReturnLine
    extra = 0
    fields = ["variant", "requested_quantity", "quantity", "reason", "condition", "returned_value"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


class RefundInline(admin.TabularInline):
    model = Refund
    extra = 0
    fields = ["tender", "amount"]
    readonly_fields = fields
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Return)
class ReturnAdmin(StoreScopedAdmin, admin.ModelAdmin):
    store_lookups = ["location", "order__location"]

    list_display = ["rma", "created_at", "order", "customer", "location", "status", "refund_amount", "points_reversed"]
    list_filter = ["status", "order__channel", "location", "refund_to", "created_at"]
    search_fields = ["rma", "order__number", "order__external_id", "customer__email", "customer__last_name"]
    list_select_related = ["order", "customer", "location"]
    raw_id_fields = ["order", "exchange_order"]
    autocomplete_fields = ["customer"]
    date_hierarchy = "created_at"
    inlines = [ReturnLineInline, RefundInline]
    show_full_result_count = False
    actions = ["receive_here", "cancel_requested"]
    change_list_template = "admin/returns/return/change_list.html"
    readonly_fields = [
        "rma",
        "order",
        "customer",
        "status",
        "location",
        "refund_to",
        "units",
        "returned_value",
        "refund_amount",
        "points_value",
        "points_restored",
        "points_reversed",
        "exchange_order",
        "created_at",
        "received_at",
        "cancelled_at",
        "user",
        "api_client",
    ]
    fields = readonly_fields + ["note", "receipts"]

    @admin.display(description=_("receipts"))
    def receipts(self, obj: Return):
        if obj.pk is None:
            return ""
        links = [
            (reverse("admin:returns_return_receipt", args=[obj.pk]), _("Print the return receipt"), "print-receipt")
        ]
        if notices.store_credit_note(obj) is not None:
            url = reverse("admin:returns_return_store_credit_note", args=[obj.pk])
            links.append((url, _("Print the store-credit note"), "print-credit-note"))
        return format_html_join(
            " · ", '<a href="{}" target="_blank" id="{}">{}</a>', ((url, key, text) for url, text, key in links)
        )

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "receipts"]

    def _printable(self, request, pk: int) -> Return:
        ret = get_object_or_404(
            self.get_queryset(request).select_related("order", "order__channel", "customer", "location"), pk=pk
        )
        if not self.has_view_permission(request, ret):
            raise PermissionDenied
        return ret

    def receipt_view(self, request, pk: int):
        """The return's receipt as a page to print."""
        ret = self._printable(request, pk)
        context = {
            **notices.receipt_context(ret),
            "title": _("Return receipt %(rma)s") % {"rma": ret.rma},
            "back_url": reverse("admin:returns_return_change", args=[ret.pk]),
        }
        return TemplateResponse(request, "receipts/return.html", context)

    def store_credit_note_view(self, request, pk: int):
        """The store-credit note of a return refunded (or exchanged) as store credit, to print and hand over."""
        ret = self._printable(request, pk)
        credit = notices.store_credit_note(ret)
        if credit is None:
            raise Http404(_("No store credit was issued for this return."))
        context = {
            "ret": ret,
            "order": ret.order,
            "credit": credit,
            "store": ret.location,
            "title": _("Store-credit note %(rma)s") % {"rma": ret.rma},
            "back_url": reverse("admin:returns_return_change", args=[ret.pk]),
        }
        return TemplateResponse(request, "receipts/store_credit_note.html", context)

    def get_queryset(self, request):
        """The user's location's returns, plus every requested one: its parcel may arrive at any store."""
        everything = admin.ModelAdmin.get_queryset(self, request)
        if sees_all_locations(request.user):
            return everything
        own = scope(everything, request.user, self.store_lookups).values("pk")
        return everything.filter(Q(pk__in=own) | Q(status=ReturnStatus.REQUESTED))

    def add_view(self, request, form_url="", extra_context=None):
        # A return is taken back through the clerk's page, which calls the returns service.
        if not self.has_add_permission(request):
            raise PermissionDenied
        return redirect("admin:returns_take_back")

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("take-back/", view(self.take_back_view), name="returns_take_back"),
            path("report/", view(self.report_view), name="returns_report"),
            path("<int:pk>/receipt/", view(self.receipt_view), name="returns_return_receipt"),
            path(
                "<int:pk>/store-credit-note/",
                view(self.store_credit_note_view),
                name="returns_return_store_credit_note",
            ),
            *super().get_urls(),
        ]

    # --- the clerk's page -------------------------------------------------------------------------------------------

    def take_back_view(self, request):
        """Find the order (by number or customer), tick lines, preview the refund and points, confirm."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        finder = FindOrderForm(request.GET or None)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Take back a return"),
            "opts": self.model._meta,
            "finder": finder,
        }
        number = (request.GET.get("order") or "").strip()
        who = (request.GET.get("customer") or "").strip()
        if who and not number:
            found = Customer.objects.filter(search_filter(who)).distinct()[:5]
            context["customers"] = list(found)
            context["orders"] = list(
                Order.objects.filter(customer__in=found)
                .select_related("channel", "location", "customer")
                .order_by("-created_at")[:RECENT_ORDERS]
            )
            return render(request, "admin/returns/take_back.html", context)
        if not number:
            return render(request, "admin/returns/take_back.html", context)
        order = Order.objects.select_related("channel", "location", "customer").filter(number=number).first()
        if order is None:
            messages.error(request, _("No order %(number)s.") % {"number": number})
            return render(request, "admin/returns/take_back.html", context)
        context["order"] = order
        try:
            services.check_returnable(order)
        except DomainError as error:
            context["not_returnable"] = error.detail
            return render(request, "admin/returns/take_back.html", context)
        context["last_day"] = services.last_return_day(order)

        lines = selectors.returnable_lines(order)
        own = location_of(request.user)
        form = ReturnForm(
            request.POST or None,
            lines=lines,
            locations=locations_for(request.user),
            initial={"location": own.pk if own else None},
        )
        context["form"] = form
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                resolved, settlement = services.preview(
                    order=order, lines=form.return_lines(), refund_to=data["refund_to"]
                )
                context["settlement"] = settlement
                context["preview_lines"] = [
                    (asked, settlement.line_values.get(order_line.pk)) for order_line, asked, _reason in resolved
                ]
                if "confirm" in request.POST:
                    ret = services.accept_return(
                        order=order,
                        lines=form.return_lines(),
                        location=data["location"],
                        refund_to=data["refund_to"],
                        actor=Actor.of(request.user),
                    )
                    messages.success(
                        request,
                        _("Return %(rma)s received: %(amount)s refunded, %(points)s points taken back.")
                        % {
                            "rma": ret.rma,
                            "amount": number_format(ret.refund_amount, 2, force_grouping=True),
                            "points": ret.points_reversed,
                        },
                    )
                    return redirect(reverse("admin:returns_return_change", args=[ret.pk]))
            except DomainError as error:
                context.pop("settlement", None)
                form.add_error(None, error.detail)
                for name, problems in getattr(error, "errors", {}).items():
                    for problem in problems:
                        form.add_error(None, f"{name}: {problem}")
        return render(request, "admin/returns/take_back.html", context)

    # --- actions on requested returns ------------------------------------------------------------------------------

    @admin.action(
        description=_("Receive the selected requested returns at my store (all resellable)"), permissions=["change"]
    )
    def receive_here(self, request, queryset):
        location = location_of(request.user)
        if location is None:
            self.message_user(request, _("You are not assigned to a location."), messages.ERROR)
            return
        done = 0
        for ret in queryset.filter(status=ReturnStatus.REQUESTED):
            try:
                services.receive_return(ret=ret, location=location, actor=Actor.of(request.user))
                done += 1
            except DomainError as error:
                self.message_user(request, f"{ret.rma}: {error.detail}", messages.ERROR)
        self.message_user(request, _("%(n)d returns received at %(where)s.") % {"n": done, "where": location.name})

    @admin.action(description=_("Cancel the selected requested returns"), permissions=["change"])
    def cancel_requested(self, request, queryset):
        done = 0
        for ret in queryset.filter(status=ReturnStatus.REQUESTED):
            services.cancel_return(ret=ret, actor=Actor.of(request.user))
            done += 1
        self.message_user(request, _("%(n)d returns cancelled.") % {"n": done})

    # --- the report ------------------------------------------------------------------------------------------------

    def report_view(self, request):
        """Return rates by channel, product, reason and store, and online orders returned in stores."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = timezone.localdate()
        end = parse_date(request.GET.get("to") or "") or today
        start = parse_date(request.GET.get("from") or "") or end - timedelta(days=29)
        if start > end:
            start, end = end, start
        # Staff held to one location see that location's figures only; nobody else's.
        own = None if sees_all_locations(request.user) else location_of(request.user)
        if own is None and not sees_all_locations(request.user):
            raise PermissionDenied
        only = own.pk if own is not None else None
        context = {
            **self.admin_site.each_context(request),
            "title": _("Returns report"),
            "opts": self.model._meta,
            "start": start,
            "end": end,
            "store": own,
            "by_channel": selectors.return_rate_by_channel(start, end, location=only),
            "by_product": selectors.return_rate_by_product(start, end, location=only),
            "by_reason": selectors.returns_by_reason(start, end, location=only),
            "by_store": selectors.return_rate_by_store(start, end, location=only),
            "online_in_store": selectors.online_returned_in_store(start, end, location=only),
        }
        return render(request, "admin/returns/report.html", context)


@admin.register(ReturnReason)
class ReturnReasonAdmin(admin.ModelAdmin):
    """The reasons a clerk chooses from, listed as the clerk reads them (`reason_label`); labels are edited on
    each reason's page."""

    list_display = ["code", "shown_as", "is_active", "position"]
    list_editable = ["is_active", "position"]
    list_filter = ["is_active"]
    search_fields = ["code", "label"]
    fields = ["code", "label", "shown_as", "is_active", "position"]
    readonly_fields = ["shown_as"]

    @admin.display(description=_("shown to staff as"), ordering="position")
    def shown_as(self, obj: ReturnReason) -> str:
        return str(obj) if obj.pk else "-"


@admin.register(ReturnPolicy)
class ReturnPolicyAdmin(admin.ModelAdmin):
    list_display = ["channel", "window_days"]
    list_editable = ["window_days"]
    list_select_related = ["channel"]

    def has_add_permission(self, request):
        # One policy per channel: adding is offered only while a channel has none.
        return super().has_add_permission(request) and Channel.objects.filter(return_policy__isnull=True).exists()
