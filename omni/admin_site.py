"""The admin site of Omni: the project's name, the user's store, and logins limited against guessing."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.core.cache import cache
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _


class OmniAdminSite(admin.AdminSite):
    site_header = _("Omni back-office")
    site_title = "Omni"
    index_title = _("Back-office")

    def each_context(self, request):
        context = super().each_context(request)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.is_staff:
            from omni.catalog.scoping import location_of

            context["omni_location"] = location_of(user)
        return context

    def index(self, request, extra_context=None):
        """The model list, under the clerk's tasks at their store and the daily actions (omni.home)."""
        from omni.home import home_context

        return super().index(request, {**home_context(request.user), **(extra_context or {})})

    def login(self, request, extra_context=None):
        """Refuse more tries after too many failures for one username, or from one address.

        The two are counted apart: ADMIN_LOGIN_FAILURE_LIMIT failures lock that
        username; ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT (higher: a store's staff share
        one address) lock the address, so one clerk's mistakes never lock out
        their colleagues. The counts live in the cache, which production shares
        between processes (CACHE_URL).
        """
        if request.method != "POST":
            return super().login(request, extra_context)
        window = settings.ADMIN_LOGIN_LOCKOUT_SECONDS
        username = (request.POST.get("username") or "").strip().lower()[:150]
        limits = {
            f"admin-login:ip:{request.META.get('REMOTE_ADDR', '')}": settings.ADMIN_LOGIN_ADDRESS_FAILURE_LIMIT,
            f"admin-login:user:{username}": settings.ADMIN_LOGIN_FAILURE_LIMIT,
        }
        keys = list(limits)
        if any((cache.get(key) or 0) >= limit for key, limit in limits.items()):
            context = {
                **self.each_context(request),
                "title": _("Too many failed logins"),
                "minutes": max(1, window // 60),
            }
            response = TemplateResponse(request, "admin/login_locked.html", context, status=429)
            response["Retry-After"] = str(window)
            return response
        response = super().login(request, extra_context)
        if request.user.is_authenticated and response.status_code == 302:
            cache.delete(keys[1])
        else:
            for key in keys:
                cache.add(key, 0, window)
                try:
                    cache.incr(key)
                except ValueError:  # expired in between
                    cache.set(key, 1, window)
        return response
