import csv

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from customers.resources import neutralise
from loyalty import enrolment, gift_cards, services
from loyalty.enrolment import ENROL_PERMISSIONS
from loyalty.forms import EnrolmentForm
from loyalty.models import (
    Card,
    EarningRule,
    GiftCard,
    GiftCardEntry,
    LedgerEntry,
    LoyaltyAccount,
    PointsLot,
    Programme,
    Promotion,
    Tier,
)
from loyalty.parity import channel_differences, priced
from loyalty.reasons import reason_shown
from omni.admin import ReadOnlyAdmin
from omni.catalog.models import Channel, ChannelCode, LocationKind
from omni.catalog.scoping import location_of, locations_for
from omni.errors import DomainError
from omni.money import format_moment
from omni.replicas import reads_from_replica

PARITY_PAGE_ROWS = 25


def guess_from_search(term: str) -> dict[str, str]:
    """What a search that found nobody was probably typed into: the enrolment form starts from it."""
    term = term.strip()[:100]
    if not term:
        return {}
    if "@" in term:
        return {"email": term}
    if term.replace(" ", "").lstrip("+").isdigit():
        return {"phone": term}
    return {"last_name": term}


def parity_csv(differences) -> HttpResponse:
    """The whole parity report as CSV (kind, subject, channels, detail), safe to open in a spreadsheet."""
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="parity.csv"'
    writer = csv.writer(response)
    writer.writerow(["kind", "subject", "channels", "detail"])
    for d in differences:
        writer.writerow([neutralise(d.kind), neutralise(d.subject), " ".join(d.channels), neutralise(d.detail)])
    return response


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    """The programme's settings, and the page that shows where channels differ."""

    list_display = ["name", "points_per_euro", "point_value", "points_valid_days", "tier_window_days"]
    change_list_template = "admin/loyalty/programme_change_list.html"

    def get_urls(self):
        return [
            path("parity/", self.admin_site.admin_view(self.parity_view), name="loyalty_parity"),
            *super().get_urls(),
        ]

    def parity_view(self, request):
        """Every difference between channels, a page at a time, filterable by channel, downloadable as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return reads_from_replica()(self._parity_page)(request)

    def _parity_page(self, request):
        channels = list(Channel.objects.filter(is_active=True).order_by("pk"))
        codes = [channel.code for channel in channels]
        wanted = request.GET.get("channel") or None
        if wanted not in (None, *codes):
            wanted = None
        differences = channel_differences(channel=wanted)
        if request.GET.get("format") == "csv":
            return parity_csv(differences)
        page = Paginator(differences, PARITY_PAGE_ROWS).get_page(request.GET.get("page"))
        priced(page.object_list, channels)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Where channels differ"),
            "opts": self.model._meta,
            "channels": codes,
            "channel": wanted or "",
            "page": page,
            "differences": page.object_list,
        }
        return render(request, "admin/loyalty/parity.html", context)

    def has_add_permission(self, request):
        return not Programme.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Tier)
class TierAdmin(admin.ModelAdmin):
    list_display = ["name", "code", "min_spend", "earn_multiplier"]


class CardInline(admin.TabularInline):
    model = Card
    extra = 0
    fields = ["number", "is_active", "issued_at"]
    readonly_fields = ["issued_at"]


class AdjustmentForm(forms.Form):
    points = forms.IntegerField(
        label=_("Points"),
        help_text=_("Positive to add, negative to take away."),
        min_value=-1_000_000,
        max_value=1_000_000,
    )
    reason = forms.CharField(label=_("Reason"), max_length=200)

    def clean_points(self):
        points = self.cleaned_data["points"]
        if points == 0:
            raise forms.ValidationError(_("An adjustment of zero points changes nothing."))
        return points


@admin.register(LoyaltyAccount)
class LoyaltyAccountAdmin(admin.ModelAdmin):
    list_display = ["pk", "customer", "card_numbers", "balance", "debt", "tier", "lifetime_points"]
    list_filter = ["tier"]
    search_fields = ["cards__number", "customer__email", "customer__last_name", "customer__phone"]
    list_select_related = ["customer", "tier"]
    autocomplete_fields = ["customer"]
    readonly_fields = [
        "customer",
        "balance",
        "debt",
        "lifetime_points",
        "rolling_spend",
        "tier",
        "latest_movements",
        "adjust_link",
    ]

    def has_add_permission(self, request):
        return False  # accounts open through enrolment and identify, with their cards

    def has_delete_permission(self, request, obj=None):
        return False  # an account's ledger is kept; points move by adjustments with a reason

    fields = [
        "customer",
        "balance",
        "debt",
        "tier",
        "rolling_spend",
        "lifetime_points",
        "adjust_link",
        "latest_movements",
    ]
    inlines = [CardInline]
    show_full_result_count = False

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("cards")

    @admin.display(description=_("cards"))
    def card_numbers(self, obj):
        return ", ".join(card.number for card in obj.cards.all() if card.is_active)

    @admin.display(description=_("latest movements"))
    def latest_movements(self, obj):
        rows = obj.entries.select_related("order")[:20]
        if not rows:
            return _("No movements yet.")
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                (
                    (
                        format_moment(e.created_at),
                        e.get_kind_display(),
                        f"{e.points:+d}",
                        e.order.number if e.order else e.reference,
                        reason_shown(e.reason),
                    )
                    for e in rows
                ),
            ),
        )

    @admin.display(description=_("adjust"))
    def adjust_link(self, obj):
        if obj.pk is None:
            return "-"
        return format_html(
            '<a class="button" href="{}">{}</a>',
            reverse("admin:loyalty_loyaltyaccount_adjust", args=[obj.pk]),
            _("Adjust points"),
        )

    def get_urls(self):
        return [
            path(
                "<int:pk>/adjust/", self.admin_site.admin_view(self.adjust_view), name="loyalty_loyaltyaccount_adjust"
            ),
            path("enrol/", self.admin_site.admin_view(self.enrol_view), name="loyalty_enrol"),
            *super().get_urls(),
        ]

    def enrol_view(self, request):
        """Enrol a customer at the counter: profile, card and consents in one form, through `enrolment.enrol`."""
        if not request.user.has_perms(ENROL_PERMISSIONS):
            raise PermissionDenied
        own = location_of(request.user)
        initial = {"store": own.pk if own is not None else None, **guess_from_search(request.GET.get("q", ""))}
        stores = locations_for(request.user).filter(kind=LocationKind.STORE)
        form = EnrolmentForm(request.POST or None, initial=initial, stores=stores)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                done = enrolment.enrol(
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    card=data["card"],
                    email=data["email"],
                    phone=data["phone"],
                    consents=form.consents(),
                    wording=form.wording(),
                    channel=ChannelCode.STORE,
                    source=f"counter {data['store'].code}",
                    actor=services.Actor(user=request.user),
                )
            except enrolment.AlreadyCustomer as taken:
                form.add_error(
                    taken.field if taken.field in form.fields else None,
                    format_html(
                        '{} <a href="{}">{}</a>',
                        _("Already a customer."),
                        reverse("admin:customers_customer_change", args=[taken.customer_id]),
                        _("Open the customer"),
                    ),
                )
            except DomainError as error:
                for name, problems in getattr(error, "errors", {}).items():
                    for problem in problems:
                        form.add_error(name if name in form.fields else None, problem)
                if not getattr(error, "errors", None):
                    form.add_error(None, error.detail)
            else:
                messages.success(
                    request,
                    _("%(customer)s enrolled with card %(card)s.") % {"customer": done.customer, "card": done.card},
                )
                return redirect("admin:customers_customer_change", done.customer.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Enrol a customer"),
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/loyalty/enrol.html", context)

    def adjust_view(self, request, pk: int):
        if not request.user.has_perm("loyalty.adjust_points"):
            raise PermissionDenied
        account = get_object_or_404(LoyaltyAccount.objects.select_related("customer"), pk=pk)
        form = AdjustmentForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                services.adjust(
                    account=account,
                    points=form.cleaned_data["points"],
                    reason=form.cleaned_data["reason"],
                    actor=services.Actor(user=request.user),
                )
            except DomainError as error:
                form.add_error("points", error.detail)
            else:
                messages.success(request, _("Points adjusted."))
                return redirect("admin:loyalty_loyaltyaccount_change", pk)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Adjust points"),
            "account": account,
            "form": form,
            "opts": self.model._meta,
        }
        return render(request, "admin/loyalty/adjust.html", context)


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = [
        "created_at",
        "account",
        "kind",
        "points",
        "debt_change",
        "balance_after",
        "order",
        "channel",
        "user",
        "api_client",
    ]
    list_filter = ["kind", "channel"]
    search_fields = ["account__cards__number", "order__number", "reference"]
    list_select_related = ["account", "order", "user", "api_client"]
    show_full_result_count = False
    fields = [
        "created_at",
        "account",
        "kind",
        "points",
        "debt_change",
        "balance_after",
        "spend",
        "order",
        "reference",
        "channel",
        "why",
        "user",
        "api_client",
    ]
    readonly_fields = fields

    @admin.display(description=_("reason"))
    def why(self, obj: LedgerEntry) -> str:
        return reason_shown(obj.reason)


@admin.register(PointsLot)
class PointsLotAdmin(ReadOnlyAdmin):
    list_display = ["account", "points", "remaining", "earned_at", "expires_at"]
    list_select_related = ["account"]
    raw_id_fields = ["account", "entry"]


@admin.register(EarningRule)
class EarningRuleAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "category",
        "multiplier",
        "bonus_points",
        "tier",
        "channel_list",
        "starts_at",
        "ends_at",
        "is_active",
    ]
    list_filter = ["is_active", "tier"]
    filter_horizontal = ["channels"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tier").prefetch_related("channels")

    @admin.display(description=_("channels"))
    def channel_list(self, obj):
        return ", ".join(str(c) for c in obj.channels.all()) or _("every channel")


@admin.register(Promotion)
class PromotionAdmin(admin.ModelAdmin):
    list_display = [
        "code",
        "name",
        "kind",
        "value",
        "target",
        "tier",
        "channel_list",
        "starts_at",
        "ends_at",
        "is_active",
    ]
    list_filter = ["is_active", "kind", "target", "tier"]
    search_fields = ["code", "name", "category", "product__code"]
    raw_id_fields = ["product"]
    filter_horizontal = ["channels"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("tier").prefetch_related("channels")

    @admin.display(description=_("channels"))
    def channel_list(self, obj):
        return ", ".join(str(c) for c in obj.channels.all()) or _("every channel")


class GiftCardReasonColumn:
    """The `what` column of a gift card's movements: their reason in the staff's language."""

    @admin.display(description=_("reason"))
    def what(self, obj: GiftCardEntry) -> str:
        return reason_shown(obj.reason)


class GiftCardEntryInline(GiftCardReasonColumn, admin.TabularInline):
    """The card's ledger, newest first: what was sold, spent and refunded, by whom."""

    model = GiftCardEntry
    extra = 0
    can_delete = False
    fields = ["created_at", "amount", "balance_after", "order", "reference", "what", "user", "api_client"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(GiftCard)
class GiftCardAdmin(ReadOnlyAdmin):
    """Gift cards are read here, never edited: an order sells them, payments spend them, returns refund them."""

    list_display = ["printed_code", "balance", "initial_amount", "order", "issued_at", "updated_at"]
    search_fields = ["code", "order__number"]
    list_select_related = ["order"]
    fields = ["printed_code", "balance", "initial_amount", "currency", "order", "issued_at", "updated_at"]
    readonly_fields = fields
    inlines = [GiftCardEntryInline]
    show_full_result_count = False

    @admin.display(description=_("code"), ordering="code")
    def printed_code(self, obj: GiftCard) -> str:
        return gift_cards.printed(obj.code)

    def get_search_results(self, request, queryset, search_term):
        """A code is found however it was typed (with dashes, spaces, small letters)."""
        code = gift_cards.normalise_code(search_term)
        if code and queryset.filter(code=code).exists():
            return queryset.filter(code=code), False
        return super().get_search_results(request, queryset, search_term)


@admin.register(GiftCardEntry)
class GiftCardEntryAdmin(GiftCardReasonColumn, ReadOnlyAdmin):
    list_display = ["created_at", "card", "amount", "balance_after", "order", "reference", "what", "user"]
    search_fields = ["card__code", "order__number", "reference"]
    list_select_related = ["card", "order", "user"]
    show_full_result_count = False
    fields = ["created_at", "card", "amount", "balance_after", "order", "reference", "what", "user", "api_client"]
    readonly_fields = fields
