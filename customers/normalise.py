"""One normal form per identifier kind, so the same person is matched however they typed it.

- e-mail: trimmed and lower-cased, and it must look like an address;
- phone: E.164 (``+393331234567``) through the `phonenumbers` library, Italy
  being the region of numbers written without a country prefix;
- card, web account, device: trimmed (and at most 200 characters).

Invalid values raise `omni.errors.Invalid` naming the field the caller gave.
"""

from __future__ import annotations

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from customers.models import IdentifierKind
from omni.errors import Invalid

DEFAULT_REGION = "IT"
KINDS = frozenset(IdentifierKind.values)  # read once: an enum's values are rebuilt on every access
MAX_LENGTH = 200


def _invalid(field: str, message: str) -> Invalid:
    return Invalid(f"{field}: {message}", errors={field: [message]})


def normalise_email(value: str, *, field: str = "email") -> str:
    email = (value or "").strip().lower()
    if not email:
        raise _invalid(field, _("An e-mail address is required."))
    try:
        validate_email(email)
    except ValidationError:
        raise _invalid(field, _("%(value)r is not a valid e-mail address.") % {"value": value}) from None
    if len(email) > MAX_LENGTH:
        raise _invalid(field, _("At most %(count)d characters.") % {"count": MAX_LENGTH})
    return email


def normalise_phone(value: str, *, field: str = "phone") -> str:
    raw = (value or "").strip()
    if not raw:
        raise _invalid(field, _("A phone number is required."))
    try:
        number = phonenumbers.parse(raw, DEFAULT_REGION)
    except phonenumbers.NumberParseException:
        raise _invalid(field, _("%(value)r is not a phone number.") % {"value": value}) from None
    if not phonenumbers.is_valid_number(number):
        raise _invalid(field, _("%(value)r is not a valid phone number.") % {"value": value})
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalise_token(value: str, *, field: str = "value") -> str:
    token = (value or "").strip()
    if not token:
        raise _invalid(field, _("A value is required."))
    if len(token) > MAX_LENGTH:
        raise _invalid(field, _("At most %(count)d characters.") % {"count": MAX_LENGTH})
    return token


def normalise_identifier(kind: str, value: object, *, field: str = "value", kind_field: str = "kind") -> str:
    """The stored form of `value` for an identifier of `kind`."""
    if kind not in KINDS:
        raise _invalid(
            kind_field,
            _("Unknown identifier kind %(kind)r; use one of %(kinds)s.")
            % {"kind": kind, "kinds": ", ".join(IdentifierKind.values)},
        )
    if not isinstance(value, str):
        raise _invalid(field, _("A text value is required."))
    if kind == IdentifierKind.EMAIL:
        return normalise_email(value, field=field)
    if kind == IdentifierKind.PHONE:
        return normalise_phone(value, field=field)
    return normalise_token(value, field=field)


def candidate_values(text: str) -> list[str]:
    """Every normal form a typed search text could have (for the admin search and ?identifier=)."""
    text = (text or "").strip()
    if not text:
        return []
    candidates = [text, text.lower()]
    try:
        number = phonenumbers.parse(text, DEFAULT_REGION)
        if phonenumbers.is_possible_number(number):
            candidates.append(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))
    except phonenumbers.NumberParseException:
        pass
    return list(dict.fromkeys(candidates))
