"""A request guard in front of the API: text the database cannot store never reaches a query."""

from __future__ import annotations

from django.http import JsonResponse

from omni.api.errors import error_body, is_api_path


class RejectNulMiddleware:
    """A NUL character in the path or the query string (`%00`) answers 400 `invalid` under /api/."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if is_api_path(request.path) and (
            "\x00" in request.path or "\x00" in "".join(request.GET.keys()) + "".join(request.GET.values())
        ):
            return JsonResponse(
                error_body("invalid", "The address holds a NUL character.", {"non_field_errors": ["NUL in the URL."]}),
                status=400,
            )
        return self.get_response(request)
