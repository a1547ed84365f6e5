"""OpenAPI schema additions shared by every endpoint.

Each operation documents the ``Idempotency-Key`` header (POST), the error
body with its ``code``, and the statuses the frame itself answers
(400, 401, 403, 404, 409, 422, 429), so the schema says what the code does.
"""

from __future__ import annotations

from typing import Any

from django.utils import translation
from django.utils.functional import Promise
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers


class ErrorSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable error code, e.g. `invalid` or `insufficient_stock`.")
    detail = serializers.CharField(help_text="A sentence for people.")
    errors = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()),
        required=False,
        help_text="Validation errors: field name (dotted for nested fields) to messages.",
    )


IDEMPOTENCY_KEY = OpenApiParameter(
    name="Idempotency-Key",
    location=OpenApiParameter.HEADER,
    required=False,
    type=str,
    description=(
        "Repeat a POST safely: the same key with the same body within 24 hours answers the "
        "first answer again; with another body 422 `idempotency_key_reused`; while the first "
        "request runs 409 `request_in_progress`."
    ),
)

ERROR_DESCRIPTIONS = {
    "400": "`invalid`: a field is missing, of the wrong type or out of range; `errors` names it.",
    "401": "`not_authenticated`: no key, or an unknown or revoked key.",
    "403": "`permission_denied`: the key does not hold this endpoint's scope.",
    "404": "`not_found`: an unknown object (in the path or the body), or a page past the end of a list.",
    "409": "A conflict with the current state (see the code), or `request_in_progress`.",
    "422": "`idempotency_key_reused`: the Idempotency-Key came with another body.",
    "429": "`throttled`: too many requests; wait `Retry-After` seconds.",
}


class OmniAutoSchema(AutoSchema):
    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self.method == "POST":
            parameters.append(IDEMPOTENCY_KEY)
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        # 404 too on every operation: an unknown object in the path or the body, or a page past the end.
        codes = ["400", "401", "403", "404", "429"]
        if self.method == "POST":
            codes += ["409", "422"]
        elif self.method == "PUT":
            codes += ["409"]  # e.g. a stock count below the units held, a change to an erased customer
        for code in codes:
            if code not in responses:
                response = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                response["description"] = ERROR_DESCRIPTIONS[code]
                responses[code] = response
        return responses


class BearerKeyScheme(OpenApiAuthenticationExtension):
    target_class = "omni.api.authentication.BearerKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API client key made with `manage.py create_api_client`.",
        }


class StaffSessionScheme(OpenApiAuthenticationExtension):
    target_class = "omni.api.authentication.StaffSessionAuthentication"
    name = "staffSession"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "cookie", "name": "sessionid"}


SCHEMA_LANGUAGE = "en"


def _settled(value: Any) -> Any:
    """The document with every lazy (translatable) text turned into the string it is now."""
    if isinstance(value, Promise):
        return str(value)
    if isinstance(value, dict):
        return {_settled(key): _settled(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_settled(item) for item in value]
    return value


class StableSchemaGenerator(SchemaGenerator):
    """The schema in English, whatever the request's language, its ``?lang=`` or the project's default.

    Field titles appear only where a label differs from the field's name, and
    a titled enum field is wrapped in ``allOf``: generated in Italian, the
    document would change shape, not only wording, and a client generated
    from it would change too. So the whole document is generated, and its
    lazy texts settled, in one language: the API's own.
    """

    def get_schema(self, request=None, public=False):
        with translation.override(SCHEMA_LANGUAGE):
            return _settled(super().get_schema(request=request, public=public))
