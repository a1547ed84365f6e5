"""Rate limits per API client (or per staff user), answered with 429 and Retry-After."""

from __future__ import annotations

from rest_framework.throttling import SimpleRateThrottle

from omni.models import ApiClient


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def allow_request(self, request, view):
        principal = request.user
        if isinstance(principal, ApiClient) and principal.rate_limit:
            self.rate = principal.rate_limit
            self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request, view)

    def get_cache_key(self, request, view):
        principal = request.user
        if isinstance(principal, ApiClient):
            ident = f"client:{principal.pk}"
        elif principal is not None and getattr(principal, "is_authenticated", False):
            ident = f"user:{principal.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
