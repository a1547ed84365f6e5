"""Every API request reads the version tokens (`omni.versions`) at most once.

The caller's key is checked against the API clients each process keeps, so
authentication reads the tokens; the view's kept things (an order's
channel, places and rules, a quote's rules) then use that same read instead
of one of their own. The middleware is the innermost: the idempotency
middleware opens a block of its own for each attempt of a POST with an
Idempotency-Key, whose lock on the claim carries the read, and this one is
then part of it.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from omni import versions
from omni.api.errors import is_api_path


class OneReadPerRequestMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path):
            return self.get_response(request)
        with versions.one_read():
            return self.get_response(request)
