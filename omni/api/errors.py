"""One error body for every failure: ``{"code", "detail"}`` (+ ``errors`` on 400).

The DRF exception handler maps framework exceptions and the domain errors of
``omni.errors`` to the contract's codes. The Django-level handlers below give
the same body for URLs no view matched (404) and crashes (500) under /api/.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import set_rollback

from omni.errors import DomainError, Invalid

CODES_BY_EXCEPTION: list[tuple[type[Exception], str]] = [
    (exceptions.ParseError, "invalid"),
    (exceptions.ValidationError, "invalid"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.AuthenticationFailed, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """Turn DRF's nested error detail into ``{"field.sub.0.name": [messages]}``."""
    flat: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = str(key) if not prefix else f"{prefix}.{key}"
            if key == "non_field_errors" and prefix:
                name = prefix
            for field, messages in flatten_errors(value, name).items():
                flat.setdefault(field, []).extend(messages)
    elif isinstance(detail, list):
        if all(not isinstance(item, (dict, list)) for item in detail):
            flat.setdefault(prefix or "non_field_errors", []).extend(str(item) for item in detail)
        else:
            for index, item in enumerate(detail):
                name = f"{prefix}.{index}" if prefix else str(index)
                if item:
                    for field, messages in flatten_errors(item, name).items():
                        flat.setdefault(field, []).extend(messages)
    else:
        flat.setdefault(prefix or "non_field_errors", []).append(str(detail))
    return flat


def error_body(code: str, detail: str, errors: dict[str, list[str]] | None = None, **extra: Any) -> dict:
    body: dict[str, Any] = {"code": code, "detail": detail}
    if errors is not None:
        body["errors"] = errors
    body.update(extra)
    return body


def validation_summary(errors: dict[str, list[str]]) -> str:
    if not errors:
        return _("The request is not valid.")
    field, messages = next(iter(errors.items()))
    summary = f"{field}: {messages[0]}"
    if len(errors) == 1:
        return summary
    others = len(errors) - 1
    return ngettext("%(summary)s (and %(count)d more)", "%(summary)s (and %(count)d more)", others) % {
        "summary": summary,
        "count": others,
    }


def exception_handler(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    if isinstance(exc, Invalid):
        set_rollback()
        return Response(error_body(exc.code, exc.detail, exc.errors, **exc.extra), status=exc.status)
    if isinstance(exc, DomainError):
        set_rollback()
        retry_after = getattr(exc, "retry_after", None)
        headers = {"Retry-After": str(retry_after)} if retry_after else None
        return Response(error_body(exc.code, exc.detail, **exc.extra), status=exc.status, headers=headers)
    if not isinstance(exc, exceptions.APIException):
        return None

    code = next((code for cls, code in CODES_BY_EXCEPTION if isinstance(exc, cls)), "error")
    headers: dict[str, str] = {}
    if isinstance(exc, exceptions.ValidationError):
        errors = flatten_errors(exc.detail)
        body = error_body(code, validation_summary(errors), errors)
    elif isinstance(exc, exceptions.ParseError):
        body = error_body(code, str(exc.detail), {"non_field_errors": [str(exc.detail)]})
    elif isinstance(exc, exceptions.Throttled):
        body = error_body(code, throttled_detail(exc.wait))
    else:
        body = error_body(code, str(exc.detail))
    if isinstance(exc, exceptions.Throttled) and exc.wait is not None:
        headers["Retry-After"] = str(max(int(exc.wait), 1))  # the seconds throttled_detail says
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    set_rollback()
    response_status = exc.status_code
    if isinstance(exc, (exceptions.NotAuthenticated, exceptions.AuthenticationFailed)):
        response_status = status.HTTP_401_UNAUTHORIZED
        headers.setdefault("WWW-Authenticate", 'Bearer realm="api"')
    return Response(body, status=response_status, headers=headers)


def throttled_detail(wait: float | None) -> str:
    """Too many requests, and the seconds of `Retry-After`. DRF's own sentence fills in the seconds before it
    looks up the translation, so no catalogue can translate it."""
    if wait is None:
        return _("Too many requests.")
    seconds = max(int(wait), 1)
    return ngettext(
        "Too many requests: try again in %(seconds)d second.",
        "Too many requests: try again in %(seconds)d seconds.",
        seconds,
    ) % {"seconds": seconds}


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


def api_not_found(request, exception=None) -> JsonResponse:
    return JsonResponse(error_body("not_found", _("No endpoint answers at this address.")), status=404)


def api_server_error(request) -> JsonResponse:
    return JsonResponse(error_body("server_error", _("The server could not answer; nothing was written.")), status=500)
