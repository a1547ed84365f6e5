"""Staff see their own location's data: admin querysets scoped, not just links hidden.

`StoreScopedAdmin` filters a change list (and so every change page, action
and export built on it) to the rows of the user's location, through one or
more lookups (`store_lookups = ["location"]`, or `["location",
"pickup_location"]` for orders, any one matching). Users with
`catalog.see_all_locations` and superusers see everything; staff with no
assignment and no such permission see nothing, the safe default.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q, QuerySet

from omni.catalog.models import Location, StaffAssignment
from omni.errors import PermissionDenied
from omni.models import ApiClient

SEE_ALL = "catalog.see_all_locations"


def sees_all_locations(user) -> bool:
    return bool(user.is_superuser or user.has_perm(SEE_ALL))


def location_of(user) -> Location | None:
    """The location a member of staff works at (cached on the user object for the request)."""
    if not hasattr(user, "_omni_location"):
        assignment = StaffAssignment.objects.select_related("location").filter(user_id=user.pk).first()
        user._omni_location = assignment.location if assignment else None
    return user._omni_location


def locations_for(user) -> QuerySet[Location]:
    """The locations a user may act for: all of them, or their own."""
    active = Location.objects.filter(is_active=True).order_by("code")
    if sees_all_locations(user):
        return active
    own = location_of(user)
    return active.filter(pk=own.pk) if own else active.none()


def scope(queryset: QuerySet, user, lookups: list[str]) -> QuerySet:
    """Rows of `queryset` that belong to the user's location through any of `lookups`."""
    if sees_all_locations(user):
        return queryset
    location = location_of(user)
    if location is None:
        return queryset.none()
    condition = Q()
    for lookup in lookups:
        condition |= Q(**{lookup: location})
    return (
        queryset.filter(condition).distinct()
        if any("__" in lookup for lookup in lookups)
        else queryset.filter(condition)
    )


class StoreScopedAdmin:
    """Mix into a ModelAdmin; set `store_lookups`."""

    store_lookups: list[str] = ["location"]

    def get_queryset(self, request):
        return scope(super().get_queryset(request), request.user, self.store_lookups)  # type: ignore[misc]

    def get_list_filter(self, request):
        """Location filters list only the locations the user can see."""
        filters = list(super().get_list_filter(request))  # type: ignore[misc]
        if sees_all_locations(request.user):
            return filters
        return [
            (name, admin.RelatedOnlyFieldListFilter) if isinstance(name, str) and name in self.store_lookups else name
            for name in filters
        ]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)  # type: ignore[misc]
        if db_field.related_model is Location and field is not None:
            field.queryset = field.queryset.filter(pk__in=locations_for(request.user).values("pk"))
        return field


def narrow(queryset: QuerySet, principal, lookups: list[str]) -> QuerySet:
    """The rows a request may see: all of them for an API key, the user's locations' for a session."""
    if isinstance(principal, ApiClient):
        return queryset
    if principal is None or not getattr(principal, "is_authenticated", False):
        return queryset.none()  # the schema generator's anonymous request
    return scope(queryset, principal, lookups)


def may_act_at(principal, location: Location | None) -> bool:
    """Whether an API key or a member of staff may act for `location` (None: no location named)."""
    if location is None or isinstance(principal, ApiClient) or sees_all_locations(principal):
        return True
    own = location_of(principal)
    return own is not None and own.pk == location.pk


def check_location(principal, location: Location | None) -> None:
    """Raise PermissionDenied when a session names a location outside the user's own."""
    if not may_act_at(principal, location):
        raise PermissionDenied(f"You may not act for {location.code if location else ''}.")


def check_sees_all(principal) -> None:
    """Raise PermissionDenied unless the request may read the whole network's figures."""
    if not (isinstance(principal, ApiClient) or sees_all_locations(principal)):
        raise PermissionDenied("Network-wide figures need the permission to see every location.")
