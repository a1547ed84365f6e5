"""The admin's home page: a clerk's day at their store, and the daily actions one click away.

A member of staff bound to one store sees today's tasks there (each a count
that opens the filtered admin list) above the actions they do all day; head
office sees the same actions for the whole network. The counts cost a fixed
number of queries, whatever the data.

This module sits with the composition root: it reads several apps to gather
one page, and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.db.models import Count, Q
from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from inventory.models import Transfer, TransferStatus
from loyalty.enrolment import ENROL_PERMISSIONS
from omni.catalog.models import Location
from omni.catalog.scoping import location_of, sees_all_locations
from omni.orders import selectors as orders
from omni.orders.models import Order
from returns.models import Return, ReturnStatus


@dataclass(frozen=True)
class Task:
    key: str
    label: Promise
    count: int
    url: str


@dataclass(frozen=True)
class Action:
    key: str
    label: Promise
    hint: Promise
    url: str


def _link(url_name: str, query: dict) -> str:
    return f"{reverse(url_name)}?{urlencode(query)}"


def tasks_at(store: Location, user) -> list[Task]:
    """Today's work at `store`: pick-ups to prepare and overdue, returns announced, transfers arriving.

    Three queries: one for the orders' two counts, one for returns, one for transfers.
    """
    figures = Order.objects.aggregate(
        to_prepare=Count("pk", filter=Q(pk__in=orders.pickups_to_prepare(Order.objects.all(), store).values("pk"))),
        overdue=Count("pk", filter=Q(pk__in=orders.pickups_overdue(Order.objects.all(), store).values("pk"))),
    )
    returns_query = {"status__exact": ReturnStatus.REQUESTED, "location__id__exact": store.pk}
    transfers_query = {"status__exact": TransferStatus.IN_TRANSIT, "to_location__id__exact": store.pk}
    tasks = []
    if user.has_perm("orders.view_order"):
        tasks += [
            Task(
                "pickups-to-prepare",
                _("Pick-ups to prepare"),
                figures["to_prepare"],
                _link("admin:orders_order_changelist", {"pickup": "to_prepare"}),
            ),
            Task(
                "pickups-overdue",
                _("Pick-ups overdue"),
                figures["overdue"],
                _link("admin:orders_order_changelist", {"pickup": "overdue"}),
            ),
        ]
    if user.has_perm("returns.view_return"):
        tasks.append(
            Task(
                "returns-requested",
                _("Returns announced online for this store"),
                Return.objects.filter(**returns_query).count(),
                _link("admin:returns_return_changelist", returns_query),
            )
        )
    if user.has_perm("inventory.view_transfer"):
        tasks.append(
            Task(
                "transfers-arriving",
                _("Transfers arriving"),
                Transfer.objects.filter(**transfers_query).count(),
                _link("admin:inventory_transfer_changelist", transfers_query),
            )
        )
    return tasks


def daily_actions(user, store: Location | None) -> list[Action]:
    """The clerk's five daily actions (and enrolment), each shown to those allowed to do it.

    The forms behind them open on the user's store; the count form is told it in the link.
    """
    actions = []
    if user.has_perm("customers.view_customer"):
        actions.append(
            Action(
                "find-customer",
                _("Find a customer"),
                _("Card, phone, e-mail or name"),
                reverse("admin:customers_customer_changelist"),
            )
        )
    if user.has_perms(ENROL_PERMISSIONS):
        actions.append(
            Action(
                "enrol",
                _("Enrol a customer"),
                _("Customer, loyalty card and consents in one form"),
                reverse("admin:loyalty_enrol"),
            )
        )
    if user.has_perm("orders.add_order"):
        actions.append(
            Action(
                "endless-aisle",
                _("Sell from the network"),
                _("A basket of items taken now or shipped home or to this store, paid any way"),
                reverse("admin:orders_counter_basket"),
            )
        )
    if user.has_perm("returns.add_return"):
        actions.append(
            Action(
                "take-back",
                _("Take back a return"),
                _("Bought on any channel"),
                reverse("admin:returns_take_back"),
            )
        )
    if user.has_perm("orders.change_order"):
        actions.append(
            Action(
                "handover",
                _("Hand over"),
                _("Click & collect: mark ready, mark collected"),
                reverse("admin:orders_handover"),
            )
        )
    if user.has_perm("inventory.change_stocklevel"):
        count_url = reverse("admin:inventory_stocklevel_count")
        actions.append(
            Action(
                "count",
                _("Count stock"),
                _("Scan the SKU, type what is on the shelf"),
                f"{count_url}?{urlencode({'location': store.pk})}" if store is not None else count_url,
            )
        )
    return actions


def home_context(user) -> dict:
    """What the admin index shows above the model list."""
    store = None if sees_all_locations(user) else location_of(user)
    return {
        "home_store": store,
        "home_tasks": tasks_at(store, user) if store is not None else [],
        "home_actions": daily_actions(user, store),
    }
