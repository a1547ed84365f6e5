"""The KPI dashboards: server-rendered pages for staff holding the `kpis.view_dashboards` permission.

Each page reads the rollups through `kpis.selectors` (a fixed number of
queries), shows its tables and charts, and serves each table as CSV with
`?format=csv&table=NAME`.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal
from functools import wraps
from typing import Any

from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from kpis import rollups, selectors
from kpis.csv_export import csv_response
from kpis.definitions import KPIS
from kpis.forms import DashboardFilters
from kpis.models import RollupDay
from omni.catalog.scoping import location_of, sees_all_locations
from omni.money import format_money
from omni.replicas import reads_from_replica

PERMISSION = "kpis.view_dashboards"


def dashboard(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Staff only, with the dashboards permission; the filters are parsed once for the page."""

    @staff_member_required
    @permission_required(PERMISSION, raise_exception=True)
    @wraps(view)
    def wrapper(request: HttpRequest) -> HttpResponse:
        filters = DashboardFilters.from_query(request.GET)
        if not sees_all_locations(request.user):
            # Staff held to one location read that store's figures only: never the network's,
            # another store's, or the page that compares stores.
            own = location_of(request.user)
            asked = filters.data.get("store") or (own.code if own else "")
            if own is None or asked != own.code or view.__name__ == "stores":
                raise PermissionDenied
            filters = DashboardFilters({**filters.data, "store": own.code})
            filters.fields["store"].queryset = filters.fields["store"].queryset.filter(pk=own.pk)
        # Who may see what was decided on the primary; the figures and their CSV come from a replica.
        return _page(request, filters)

    @reads_from_replica()
    def _page(request: HttpRequest, filters: DashboardFilters) -> HttpResponse:
        if not filters.is_valid():
            return render(request, "kpis/page.html", _context(request, filters, view.__name__), status=400)
        return view(request, filters)

    return wrapper


def _context(request: HttpRequest, filters: DashboardFilters, page: str, **extra: Any) -> dict[str, Any]:
    query = request.GET.copy()
    query.pop("format", None)
    query.pop("table", None)
    return {
        "title": _("Dashboards"),
        "subtitle": extra.pop("subtitle", ""),
        "filters": filters,
        "page": page,
        "query": query.urlencode(),
        "last_refresh": RollupDay.objects.filter(refreshed_at__isnull=False)
        .order_by("-refreshed_at")
        .values_list("refreshed_at", flat=True)
        .first(),
        "has_permission": True,
        "site_header": "Omni",
        **extra,
    }


def _wants_csv(request: HttpRequest, table: str) -> bool:
    return request.GET.get("format") == "csv" and request.GET.get("table", table) == table


def _rounded(value: Any, places: str) -> Decimal:
    return Decimal(str(value)).quantize(Decimal(places), rounding=ROUND_HALF_UP)


def _display(value: Any, kind: str) -> str:
    if value is None:
        return "–"
    # Django's number_format cuts the digits past the places asked for: 1 of 7 would read 14,2%, not 14,3%.
    if kind == "share":
        return number_format(_rounded(Decimal(str(value)) * 100, "0.1"), 1) + "%"
    if kind == "money":
        return format_money(value)
    if kind == "ratio":
        return number_format(_rounded(value, "0.01"), 2)
    return number_format(value, force_grouping=True)


# Figures of which one is above zero whenever a period has any sale, traffic, point or social activity.
ACTIVITY = ("orders", "sessions", "visitors", "points_issued", "points_redeemed", "returned_units", "social_engagement")


def has_data(figures: dict[str, Any]) -> bool:
    """Whether anything at all happened in the period (a comparison against an empty period means nothing)."""
    return any(figures.get(key) for key in ACTIVITY)


def _change(now: Any, before: Any, kind: str = "count") -> str:
    """The change from the previous period: percentage points for shares (a relative change of a small share
    reads as thousands of per cent), per cent for the rest; "–" when there is nothing to compare with."""
    if now is None or before is None:
        return "–"
    if kind == "share":
        return _("%(points)s pp") % {"points": _signed((Decimal(str(now)) - Decimal(str(before))) * 100)}
    if not before:
        return "–"
    return _signed((Decimal(str(now)) - Decimal(str(before))) / Decimal(str(before)) * 100) + "%"


def _signed(value: Decimal) -> str:
    """A change with its sign and one decimal, rounded half-up, in the active language: +12,5 or -3.0."""
    rounded = _rounded(value, "0.1")
    return ("+" if rounded >= 0 else "-") + number_format(abs(rounded), 1)


@dashboard
def overview(request: HttpRequest, filters: DashboardFilters) -> HttpResponse:
    """The KPI table beside the previous period of the same length, and the figures over time."""
    scope = filters.scope()
    previous = scope.previous()
    now, series = selectors.kpi_summary(scope, filters.cleaned_data["granularity"])
    before = selectors.kpi_total(previous)
    compared = has_data(before)
    if _wants_csv(request, "kpis"):
        return csv_response(
            "kpis.csv",
            ["kpi", "definition", f"{scope.start}..{scope.end}", f"{previous.start}..{previous.end}"],
            [[k.key, str(k.definition), now[k.key], before[k.key]] for k in KPIS],
        )
    if _wants_csv(request, "series"):
        return csv_response(
            "kpis-by-period.csv",
            ["period", "start", "end", *[k.key for k in KPIS]],
            [[p["period"], p["start"], p["end"], *[p[k.key] for k in KPIS]] for p in series],
        )
    table = [
        {
            "label": k.label,
            "definition": k.definition,
            "now": _display(now[k.key], k.kind),
            "before": _display(before[k.key], k.kind),
            "change": _change(now[k.key], before[k.key], k.kind) if compared else _("no data"),
        }
        for k in KPIS
    ]
    chart = {
        "labels": [p["period"].isoformat() for p in series],
        "revenue": [float(p["revenue"]) for p in series],
        "orders": [p["orders"] for p in series],
        "visitors": [p["visitors"] for p in series],
        "sessions": [p["sessions"] for p in series],
    }
    context = _context(
        request,
        filters,
        "overview",
        subtitle=_("Overview"),
        table=table,
        previous=previous,
        scope=scope,
        chart=chart,
        compared=compared,
    )
    return render(request, "kpis/overview.html", context)


CHANNEL_COLUMNS = [
    ("revenue", "money"),
    ("orders", "count"),
    ("average_receipt", "money"),
    ("units_per_receipt", "ratio"),
    ("visitors", "count"),
    ("sessions", "count"),
    ("conversion_rate", "share"),
    ("identified_sales_share", "share"),
    ("click_and_collect_share", "share"),
    ("return_rate", "share"),
]


@dashboard
def channels(request: HttpRequest, filters: DashboardFilters) -> HttpResponse:
    """The same figures side by side for every channel."""
    scope = filters.scope()
    rows = selectors.by_channel(scope)
    if _wants_csv(request, "channels"):
        return csv_response(
            "kpis-by-channel.csv",
            ["channel", *[key for key, _kind in CHANNEL_COLUMNS]],
            [[r["channel"], *[r[key] for key, _kind in CHANNEL_COLUMNS]] for r in rows],
        )
    labels = {k.key: k.label for k in KPIS}
    table = [[r["channel_name"], *[_display(r[key], kind) for key, kind in CHANNEL_COLUMNS]] for r in rows]
    chart = {
        "labels": [r["channel_name"] for r in rows],
        "revenue": [float(r["revenue"]) for r in rows],
        "orders": [r["orders"] for r in rows],
    }
    context = _context(
        request,
        filters,
        "channels",
        subtitle=_("Channels"),
        headers=[labels[key] for key, _kind in CHANNEL_COLUMNS],
        table=table,
        chart=chart,
    )
    return render(request, "kpis/channels.html", context)


STORE_COLUMNS = [
    ("own_orders", _("own orders"), "count"),
    ("own_sales", _("own sales"), "money"),
    ("credited_orders", _("credited online orders"), "count"),
    ("credited_endless_aisle", _("endless aisle taken here"), "money"),
    ("credited_pickup", _("collected here"), "money"),
    ("credited_influenced", _("bought online after buying here"), "money"),
    ("credited_sales", _("credited online sales"), "money"),
    ("returns_accepted", _("returns accepted"), "count"),
    ("returned_amount", _("returned amount"), "money"),
]


@dashboard
def stores(request: HttpRequest, filters: DashboardFilters) -> HttpResponse:
    """Store incentives: each store's own sales and the online sales credited to it."""
    scope = filters.scope()
    rows = selectors.store_incentives(scope)
    if _wants_csv(request, "stores"):
        return csv_response(
            "store-incentives.csv",
            ["store", "name", *[key for key, _label, _kind in STORE_COLUMNS]],
            [[r.code, r.name, *[getattr(r, key) for key, _label, _kind in STORE_COLUMNS]] for r in rows],
        )
    table = [
        [f"{r.code} · {r.name}", *[_display(getattr(r, key), kind) for key, _label, kind in STORE_COLUMNS]]
        for r in rows
    ]
    chart = {
        "labels": [r.code for r in rows],
        "own": [float(r.own_sales) for r in rows],
        "credited": [float(r.credited_sales) for r in rows],
    }
    context = _context(
        request,
        filters,
        "stores",
        subtitle=_("Stores"),
        headers=[label for _key, label, _kind in STORE_COLUMNS],
        table=table,
        chart=chart,
        influence_days=rollups.influence_days(),
    )
    return render(request, "kpis/stores.html", context)


@dashboard
def journeys(request: HttpRequest, filters: DashboardFilters) -> HttpResponse:
    """Research online then buy in store, and the reverse; the commonest channel paths before a purchase."""
    scope = filters.scope()
    found = selectors.journeys(scope)
    if _wants_csv(request, "paths"):
        return csv_response("journey-paths.csv", ["path", "purchases"], found.paths)
    share_online = selectors.share(found.researched_online, found.store_buyers)
    share_store = selectors.share(found.visited_store, found.online_buyers)
    paths = [(selectors.path_label(path), n) for path, n in found.paths]
    context = _context(
        request,
        filters,
        "journeys",
        subtitle=_("Journeys"),
        found=found,
        paths=paths,
        share_online=_display(share_online, "share"),
        share_store=_display(share_store, "share"),
        chart={"labels": [p for p, _n in paths], "purchases": [n for _p, n in paths]},
        journey_days=rollups.journey_days(),
    )
    return render(request, "kpis/journeys.html", context)
