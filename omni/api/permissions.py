"""Who may call what: one rule per endpoint and action, the same for an API key and a staff session.

Every API view declares its rules once, in ``access``: a mapping from the
action (a viewset's action name, or the lower-case HTTP method of a plain
view) to a :class:`Rule`. A rule names the API scope an API key must hold
and the Django permissions a staff user's session must hold: the same
model and personal-data permissions the admin checks, so a session never
gets more through the API than its user has in the admin.

Which locations' rows a session sees and acts for is decided by
``omni.catalog.scoping`` (``narrow`` for querysets, ``check_location`` for
a location named in a request), the same module the admin uses.

An action with no rule is refused to everybody (403); the access matrix in
``tests/security/test_access_matrix.py`` fails on any endpoint without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from rest_framework import exceptions, permissions

from omni.models import ApiClient


@dataclass(frozen=True)
class Rule:
    """An API key needs ``scope``; a staff session needs every permission in ``perms``."""

    scope: str
    perms: tuple[str, ...] = ()
    sessions: bool = True  # False: API keys only (a view that declares no rules of its own)


def rule(scope: str, *perms: str) -> Rule:
    return Rule(scope=scope, perms=tuple(perms))


def action_of(request, view) -> str:
    """The name a view's rules are keyed by: a viewset's action, else the HTTP method."""
    action = getattr(view, "action", None)
    if action:
        return action
    method = request.method.lower()
    return {"head": "get", "options": "get"}.get(method, method)


def rule_for(request, view) -> Rule | None:
    access: Mapping[str, Rule] | None = getattr(view, "access", None)
    if access is None:
        # A view without rules keeps its API scope for keys and is closed to sessions.
        scope = getattr(view, "required_scope", None)
        return Rule(scope=scope, sessions=False) if scope else None
    return access.get(action_of(request, view))


def principal_may(principal, rule_: Rule | None) -> bool:
    """Whether an API client or a staff user may act under ``rule_`` (``None``: nobody may)."""
    if rule_ is None:
        return False
    if isinstance(principal, ApiClient):
        return principal.has_scope(rule_.scope)
    if not rule_.sessions or not (getattr(principal, "is_staff", False) and getattr(principal, "is_active", False)):
        return False
    return principal.has_perms(rule_.perms)


class Authorised(permissions.BasePermission):
    """Allows a request when the view's rule for its action lets its principal through.

    No credentials at all: 401. Credentials without the right: 403 ``permission_denied``.
    """

    message = "You are not allowed to do this."

    def has_permission(self, request, view) -> bool:
        principal = request.user
        if principal is None or not getattr(principal, "is_authenticated", False):
            raise exceptions.NotAuthenticated()
        if getattr(view, request.method.lower(), None) is None:
            return True  # no such method here: the view answers 405, which opens nothing
        return principal_may(principal, rule_for(request, view))


def is_api_client(principal) -> bool:
    return isinstance(principal, ApiClient)
