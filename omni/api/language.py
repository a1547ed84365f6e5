"""The API's language: English, or Italian when the request's ``Accept-Language`` asks for it.

The admin and the pages follow the project's default language (Italian) and
the language cookie; an integrator's program sends neither on purpose, so
under /api/ only the ``Accept-Language`` header counts and anything else
gets English. Error ``detail`` and validation messages follow it; codes,
field names and the schema never do (``omni.api.schema.StableSchemaGenerator``).
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.translation.trans_real import parse_accept_lang_header

from omni.api.errors import is_api_path

API_LANGUAGE = "en"


def api_language(request: HttpRequest) -> str:
    """The first supported language the ``Accept-Language`` header names (by its weights), else English."""
    for code, _weight in parse_accept_lang_header(request.META.get("HTTP_ACCEPT_LANGUAGE", "")):
        if code == "*":
            break
        try:
            return translation.get_supported_language_variant(code)
        except LookupError:
            continue
    return API_LANGUAGE


class ApiLanguageMiddleware:
    """After ``LocaleMiddleware``: under /api/, the language is the header's, not the cookie's or the default."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not is_api_path(request.path):
            return self.get_response(request)
        language = api_language(request)
        translation.activate(language)
        request.LANGUAGE_CODE = language  # type: ignore[attr-defined]
        return self.get_response(request)
