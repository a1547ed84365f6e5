"""Request guards in front of the API: every answer under /api/ is JSON with a `code`.

- Text the database cannot store never reaches a query (`RejectNulMiddleware`).
- `ApiAnswersJsonMiddleware`, the outermost middleware, refuses a body over
  the size limit before anything reads it (413 `too_large`), and turns any
  error answer that is not JSON (Django's own 400 and 404 pages, the debug
  404 page when DEBUG is on, a CSRF failure, a crash page) into the
  contract's error body with the same status.
"""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import translation
from django.utils.translation import gettext as _

from omni.api.errors import error_body, is_api_path
from omni.api.language import api_language

CODE_BY_STATUS = {
    400: "invalid",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
    429: "throttled",
}


def max_body_bytes() -> int:
    """The largest body the API reads: Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB unless set)."""
    return settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0


def too_large() -> JsonResponse:
    limit = max_body_bytes()
    return JsonResponse(
        error_body("too_large", _("The request body is larger than %(limit)d bytes.") % {"limit": limit}, limit=limit),
        status=413,
    )


def json_error_for(response: HttpResponse) -> JsonResponse:
    status = response.status_code
    if status == 404:
        return JsonResponse(error_body("not_found", _("No endpoint answers at this address.")), status=404)
    if status == 413:
        return too_large()
    if status >= 500:
        code, detail = "server_error", _("The server could not answer; nothing was written.")
    else:
        code, detail = CODE_BY_STATUS.get(status, "error"), _("The request was refused.")
    answer = JsonResponse(error_body(code, detail), status=status)
    for header in ("Retry-After", "Allow", "WWW-Authenticate"):
        if header in response:
            answer[header] = response[header]
    return answer


class ApiAnswersJsonMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path):
            return self.get_response(request)
        limit = max_body_bytes()
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        with translation.override(api_language(request)):  # its own answers come before or after the view's
            if limit and length > limit:
                return too_large()
            response = self.get_response(request)
            if response.status_code >= 400 and "json" not in response.get("Content-Type", ""):
                return json_error_for(response)
        return response


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
