"""Who may do what, on every door: generated from the URL conf and the admin registry.

Each role that `setup_roles` makes gets a session (store roles work at MI01,
network roles at no store). Every API endpoint and action, and every admin
change list, change form, add form and action, is tried with each of them,
and the answer is compared with the tables below, which are the README's
roles table written out door by door. A door missing from the tables, or an
API action without a declared rule, fails the test: a new door cannot open
by accident.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.db import transaction
from django.test import RequestFactory
from django.urls import URLResolver, get_resolver, reverse

from omni.catalog.models import Location, StaffAssignment
from tests.security.conftest import HO, LG, MK, SM, SS, session

pytestmark = pytest.mark.django_db

EVERYONE = {SS, SM, LG, MK, HO}
NOBODY: set[str] = set()
AT_THE_COUNTER = {SS, SM, HO}  # sell, take back, serve the customer
SEE_CUSTOMERS = {SS, SM, MK, HO}
STOCK = {SS, SM, LG, HO}
FIGURES = {MK, HO}

# API: "ViewClass.action" -> the roles whose session passes (an API key needs the scope instead).
API_EXPECTED: dict[str, set[str]] = {
    "LocationViewSet.list": EVERYONE,
    "LocationViewSet.retrieve": EVERYONE,
    "LocationViewSet.create": NOBODY,
    "ProductViewSet.list": EVERYONE,
    "ProductViewSet.retrieve": EVERYONE,
    "ProductViewSet.create": NOBODY,
    "VariantDetailView.get": EVERYONE,
    "VariantListView.get": EVERYONE,
    "AccountView.get": SEE_CUSTOMERS,
    "LedgerView.get": SEE_CUSTOMERS,
    "QuoteView.post": EVERYONE,
    "GiftCardView.get": SEE_CUSTOMERS,  # the counter reads a card's balance before taking it as payment
    "ParityView.get": {MK, HO},  # as the parity page of the admin (loyalty.view_programme)
    "CustomerListView.get": SEE_CUSTOMERS,
    "IdentifyView.post": AT_THE_COUNTER,
    "CustomerDetailView.get": SEE_CUSTOMERS,
    "CustomerDetailView.patch": AT_THE_COUNTER,
    "ConsentsView.get": SEE_CUSTOMERS,
    "ConsentsView.put": AT_THE_COUNTER,
    "TimelineView.get": SEE_CUSTOMERS,
    "ExportView.get": {HO},
    "EraseView.post": {HO},
    "CustomerImportView.post": {HO},  # bringing customers in from another system merges them by the contract
    "CustomerImportStatusView.get": {HO},
    "StockLevelView.get": STOCK,
    "StockLevelView.put": STOCK,
    "StockListView.get": STOCK,
    "ReservationListView.get": STOCK,
    "ReservationListView.post": STOCK,
    "ReservationDetailView.get": STOCK,
    "ReservationCancelView.post": STOCK,
    "AvailabilityView.get": STOCK,
    "OrderViewSet.list": EVERYONE,
    "OrderViewSet.retrieve": EVERYONE,
    "OrderViewSet.create": AT_THE_COUNTER,
    "OrderViewSet.events": AT_THE_COUNTER,
    "EventListView.post": FIGURES,
    "SocialMetricListView.post": FIGURES,
    "KpiView.get": FIGURES,
    "ReturnViewSet.list": SEE_CUSTOMERS,
    "ReturnViewSet.retrieve": SEE_CUSTOMERS,
    "ReturnViewSet.create": AT_THE_COUNTER,
    "ReturnViewSet.receive": AT_THE_COUNTER,
    "ReturnViewSet.cancel": AT_THE_COUNTER,
    # Webhook subscriptions: API keys with the scope, and superusers; no role holds them.
    "SubscriptionListView.get": NOBODY,
    "SubscriptionListView.post": NOBODY,
    "SubscriptionDetailView.get": NOBODY,
    "SubscriptionDetailView.patch": NOBODY,
    "SubscriptionDetailView.delete": NOBODY,
    "DeliveryListView.get": NOBODY,
    "RedeliverView.post": NOBODY,
}


def api_doors() -> list[tuple[str, str, str, type, dict]]:
    """(door id, route, HTTP method, view class, the route's keyword names) for every /api/v1/ action."""

    def walk(patterns, prefix=""):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, prefix + str(pattern.pattern))
            else:
                yield prefix + str(pattern.pattern), pattern

    doors = []
    for route, pattern in walk(get_resolver().url_patterns):
        if not route.startswith("api/v1/"):
            continue
        cls = pattern.callback.cls
        actions = getattr(pattern.callback, "actions", None) or {
            method: method for method in ("get", "post", "put", "patch", "delete") if hasattr(cls, method)
        }
        for method, action in actions.items():
            doors.append((f"{cls.__name__}.{action}", route, method, cls, action))
    return doors


DOORS = api_doors()


def test_every_api_door_is_in_the_table_and_declares_its_rule():
    found = {door for door, *_ in DOORS}
    assert found == set(API_EXPECTED), {"undeclared": found - set(API_EXPECTED), "gone": set(API_EXPECTED) - found}
    for door, _route, _method, cls, action in DOORS:
        assert action in (getattr(cls, "access", None) or {}), f"{door} declares no rule"


# ----------------------------------------------------------------------------------------------------------------
# The world every door is tried in: two stores, a customer with a card, an order, a return and a hold at MI01.


def url_of(route: str, kwargs: dict) -> str:
    path = route
    for name, value in kwargs.items():
        path = re.sub(rf"\(\?P<{name}>[^)]*\)|<(?:\w+:)?{name}>", str(value), path)
    path = path.replace("^", "").replace("$", "")
    assert "<" not in path and "(" not in path, path
    return "/" + path


QUERIES = {"AvailabilityView.get": {"sku": "CAM-M"}, "KpiView.get": {"from": "2026-01-01", "to": "2026-01-31"}}


def test_each_role_gets_through_each_api_door_exactly_as_the_roles_table_says(world):
    clients = {role: session(user) for role, user in world["users"].items()}
    wrong = []
    for door, route, method, _, _ in DOORS:
        url = url_of(route, world["kwargs"])
        for role, client in clients.items():
            point = transaction.savepoint()
            if method == "get":
                response = client.get(url, QUERIES.get(door, {}))
            else:
                response = getattr(client, method)(url, data="{}", content_type="application/json")
            transaction.savepoint_rollback(point)
            refused = response.status_code == 403 and response.json()["code"] == "permission_denied"
            if response.status_code == 500 or refused == (role in API_EXPECTED.get(door, set())):
                wrong.append((door, role, response.status_code))
    assert wrong == []


def test_an_api_key_needs_only_its_scope(world, make_api_client):
    orders_only = make_api_client(scopes=["orders"])
    assert orders_only.get("/api/v1/orders/").status_code == 200
    assert orders_only.get("/api/v1/customers/").status_code == 403


# ----------------------------------------------------------------------------------------------------------------
# The admin: every registered model's change list, add form, change form and actions.

V, A, C, D = "view", "add", "change", "delete"
READ_ONLY_FOR = {V}

# "app.model" -> {"view"/"add"/"change"/"delete"/action name: roles}. Roles not listed are refused.
ADMIN_EXPECTED: dict[str, dict[str, set[str]]] = {}


def _grant(model: str, **rights: set[str]) -> None:
    ADMIN_EXPECTED[model] = {name: set(roles) for name, roles in rights.items()}


ALL_BUT_LOGISTICS = {SS, SM, MK, HO}
# Reference data: everybody reads it, only superusers write it.
for model in ("catalog.channel", "catalog.location", "catalog.product", "catalog.variant", "catalog.channelprice"):
    _grant(model, view=EVERYONE)
# The frame's own tables: superusers only.
_grant("omni.apiclient")
_grant("omni.outboxmessage")
# Background jobs: every member of staff follows the jobs they started (the queryset holds only those).
_grant("omni.job", view=EVERYONE)
_grant("auth.user")
_grant("auth.group")
for model in ("clockedschedule", "crontabschedule", "intervalschedule", "periodictask", "solarschedule"):
    _grant(f"django_celery_beat.{model}")
_grant("webhooks.subscription")
_grant("webhooks.delivery")
# Customers.
_grant(
    "customers.customer",
    view=SEE_CUSTOMERS,
    add=AT_THE_COUNTER,
    change=AT_THE_COUNTER,
    merge_selected={HO},
)
_grant("customers.identifier", view=SEE_CUSTOMERS)
_grant("customers.consentchange", view=SEE_CUSTOMERS)
_grant("customers.customermerge", view=SEE_CUSTOMERS)
_grant("customers.erasure", view=SEE_CUSTOMERS)
_grant("customers.personaldataaudit", view={HO})
_grant(
    "customers.segment",
    view=SEE_CUSTOMERS,
    add=FIGURES,
    change=FIGURES,
    delete=FIGURES,
    recount=FIGURES,
    export_csv=FIGURES,
    export_xlsx=FIGURES,
)
# Loyalty: the ledgers are read-only; points move by the adjustment page, with a reason.
_grant("loyalty.programme", view={MK, HO}, change={HO})
_grant("loyalty.tier", view={MK, HO}, add={HO}, change={HO}, delete={HO})
_grant("loyalty.loyaltyaccount", view=SEE_CUSTOMERS, change={HO})
_grant("loyalty.ledgerentry", view=SEE_CUSTOMERS)
_grant("loyalty.pointslot", view={MK, HO})
_grant("loyalty.earningrule", view={MK, HO}, add={HO}, change={HO}, delete={HO})
_grant("loyalty.promotion", view={MK, HO}, add={HO}, change={HO}, delete={HO})
_grant("loyalty.giftcard", view=SEE_CUSTOMERS)  # read-only: cards are sold by orders, spent by payments
_grant("loyalty.giftcardentry", view=SEE_CUSTOMERS)
# Orders: read-only rows, moved on by actions that call the order services.
_grant(
    "orders.order",
    view=EVERYONE,
    mark_ready_for_pickup=AT_THE_COUNTER,
    mark_shipped=AT_THE_COUNTER,
    mark_collected=AT_THE_COUNTER,
    mark_cancelled=AT_THE_COUNTER,
)
_grant("orders.allocation", view=EVERYONE)
_grant("orders.receiptimport", view=EVERYONE)  # the log; importing needs orders.import_receipts
# Stock: rows change by counts and services only.
_grant("inventory.stocklevel", view=STOCK, change=STOCK)  # change: the count page; the row stays read-only
_grant("inventory.stockmovement", view=STOCK)
_grant("inventory.reservation", view=STOCK, change=STOCK, cancel_holds=STOCK)
_grant(
    "inventory.transfer",
    view=STOCK,
    add={SM, LG, HO},
    change={SM, LG, HO},
    ship={SM, LG, HO},
    receive={SM, LG, HO},
    cancel={SM, LG, HO},
)
_grant(
    "inventory.replenishmentproposal",
    view=STOCK,
    change={LG},
    make_transfers={LG},
    dismiss={LG},
)
# Returns: taken back on the counter's page, moved on by actions.
_grant(
    "returns.return",
    view=ALL_BUT_LOGISTICS,
    add=AT_THE_COUNTER,  # the add button opens the take-back page, which calls accept_return
    change=AT_THE_COUNTER,
    receive_here=AT_THE_COUNTER,
    cancel_requested=AT_THE_COUNTER,
)
_grant("returns.returnreason", view=ALL_BUT_LOGISTICS)
_grant("returns.returnpolicy", view=ALL_BUT_LOGISTICS)
# KPIs.
_grant("kpis.touchpointevent", view=FIGURES, delete=FIGURES)
_grant("kpis.socialmetric", view=FIGURES, add=FIGURES, change=FIGURES, delete=FIGURES)
_grant("kpis.rollupday", view=FIGURES, change=FIGURES, delete=FIGURES, recompute=FIGURES)


def registered() -> dict[str, admin.ModelAdmin]:
    return {f"{model._meta.app_label}.{model._meta.model_name}": ma for model, ma in admin.site._registry.items()}


def test_every_admin_class_is_in_the_table():
    found = set(registered())
    assert found == set(ADMIN_EXPECTED), {
        "undeclared": found - set(ADMIN_EXPECTED),
        "gone": set(ADMIN_EXPECTED) - found,
    }


def rights_of(model_admin: admin.ModelAdmin, user, obj) -> set[str]:
    request = RequestFactory().get("/admin/")
    request.user = user
    rights = set()
    if model_admin.has_view_permission(request, obj):
        rights.add(V)
    if model_admin.has_add_permission(request):
        rights.add(A)
    if model_admin.has_change_permission(request, obj):
        rights.add(C)
    if model_admin.has_delete_permission(request, obj):
        rights.add(D)
    if rights & {V, C}:  # actions are offered on the change list, which needs view or change
        rights |= {name for name in model_admin.get_actions(request) if name != "delete_selected"}
    return rights


def test_each_role_gets_each_admin_page_and_action_exactly_as_the_roles_table_says(world):
    clients = {role: session(user) for role, user in world["users"].items()}
    clerk = RequestFactory().get("/admin/")
    clerk.user = world["users"][SS]
    wrong = []
    for model, model_admin in sorted(registered().items()):
        expected = ADMIN_EXPECTED.get(model, {})
        obj = model_admin.get_queryset(clerk).first() or model_admin.model._default_manager.first()
        opts = model_admin.model._meta
        for role, user in world["users"].items():
            wanted = {right for right, roles in expected.items() if role in roles}
            got = rights_of(model_admin, user, obj)
            if got != wanted:
                wrong.append((model, role, "rights", sorted(got ^ wanted)))
            client = clients[role]
            pages = {
                "changelist": client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")),
                "add": client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add")),
            }
            if obj is not None:
                pages["change"] = client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
            opens = {"changelist": bool(wanted & {V, C}), "add": A in wanted, "change": bool(wanted & {V, C})}
            for page, response in pages.items():
                if response.status_code == 500 or (response.status_code == 403) == opens[page]:
                    wrong.append((model, role, page, response.status_code))
    assert wrong == []


def test_the_store_roles_work_at_milano_and_the_network_roles_everywhere(world):
    users = world["users"]
    assert StaffAssignment.objects.filter(user__in=[users[SS], users[SM]], location__code="MI01").count() == 2
    assert Location.objects.count() == 2
