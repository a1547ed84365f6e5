"""Scopes: an API client may read and write only the scopes it was given."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from omni.models import ApiClient


class HasScope(permissions.BasePermission):
    """Allows a request when its client holds the view's ``required_scope``.

    Staff users on their session pass (their store scoping happens in the
    querysets of the apps). No credentials at all: 401.
    """

    message = "This API key does not hold the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if principal is None or not getattr(principal, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        scope = getattr(view, "required_scope", None)
        if isinstance(principal, ApiClient):
            return scope is not None and principal.has_scope(scope)
        return bool(getattr(principal, "is_staff", False))
