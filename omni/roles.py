"""The staff roles of a retailer, as Django groups with their permissions.

`python manage.py setup_roles` makes (or brings up to date) these groups;
it is safe to run again after every deploy. Which location's data a member
of staff sees is their StaffAssignment; `catalog.see_all_locations` lifts
that limit.
"""

from __future__ import annotations

from django.contrib.auth.models import Group, Permission
from django.db.models import Q

VIEW = "view"
# Each role: (group name, permission specs). A spec is "app_label.codename", or
# "app_label.*" for every permission of the app, or "app_label.view_*" for its views; a spec
# starting with "-" takes a permission away again (it wins over every grant of the same role).
ROLES: dict[str, list[str]] = {
    "Store staff": [
        "catalog.view_*",
        "customers.view_*",
        "-customers.view_personaldataaudit",
        "customers.add_customer",
        "customers.change_customer",
        "orders.view_*",
        "orders.add_order",
        "orders.change_order",
        "inventory.view_*",
        "inventory.change_stocklevel",
        "inventory.add_reservation",
        "inventory.change_reservation",
        "loyalty.view_loyaltyaccount",
        "loyalty.add_loyaltyaccount",
        "loyalty.add_card",
        "loyalty.view_ledgerentry",
        "loyalty.view_storecreditbalance",
        "loyalty.view_giftcard",
        "loyalty.view_giftcardentry",
        "returns.view_*",
        "returns.add_return",
        "returns.change_return",
    ],
    "Store managers": [
        "@Store staff",
        "loyalty.adjust_points",
        "orders.import_receipts",
        "inventory.add_transfer",
        "inventory.change_transfer",
        "inventory.view_transfer",
    ],
    "Logistics": [
        "catalog.see_all_locations",
        "catalog.view_*",
        "inventory.*",
        "orders.view_*",
    ],
    "Marketing": [
        "catalog.see_all_locations",
        "catalog.view_*",
        "customers.view_*",
        "-customers.view_personaldataaudit",
        "customers.add_segment",
        "customers.change_segment",
        "customers.delete_segment",
        "loyalty.view_*",
        "orders.view_*",
        "returns.view_*",
        "kpis.*",
    ],
    "Head office": [
        "@Store managers",
        "@Marketing",
        "catalog.see_all_locations",
        "customers.export_personal_data",
        "customers.erase_personal_data",
        "customers.merge_customers",
        "customers.import_customers",
        "customers.view_personaldataaudit",
        "loyalty.*",
    ],
}


def _matching(spec: str) -> Q:
    app_label, codename = spec.split(".", 1)
    if codename == "*":
        return Q(content_type__app_label=app_label)
    if codename.endswith("*"):
        return Q(content_type__app_label=app_label, codename__startswith=codename[:-1])
    return Q(content_type__app_label=app_label, codename=codename)


def permissions_for(specs: list[str], seen: set[str] | None = None) -> Q:
    """The permissions a role's specs grant, less the ones its own "-" specs take away."""
    seen = seen or set()
    condition = Q(pk__in=[])
    for spec in specs:
        if spec.startswith("-"):
            continue
        if spec.startswith("@"):
            name = spec[1:]
            if name not in seen:
                condition |= permissions_for(ROLES[name], seen | {name})
            continue
        condition |= _matching(spec)
    for spec in specs:
        if spec.startswith("-"):
            condition &= ~_matching(spec[1:])
    return condition


def setup_roles() -> dict[str, int]:
    """Create or update every role's group; returns the number of permissions of each."""
    counts = {}
    for name, specs in ROLES.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = list(Permission.objects.filter(permissions_for(specs)))
        group.permissions.set(permissions)
        counts[name] = len(permissions)
    return counts
