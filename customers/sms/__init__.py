"""Sending SMS through a pluggable backend, as Django sends mail through EMAIL_BACKEND.

SMS_BACKEND names a class with `send_messages(messages) -> int`. The default
console backend prints each SMS; the locmem backend keeps them in
`customers.sms.outbox` for tests; a real gateway is one small class more.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string

DEFAULT_BACKEND = "customers.sms.backends.ConsoleBackend"

outbox: list[SMS] = []  # what the locmem backend has "sent"


@dataclass(frozen=True)
class SMS:
    to: str
    body: str


def get_backend(path: str | None = None):
    """An instance of the configured backend (SMS_BACKEND), or of `path`."""
    chosen: str = path or getattr(settings, "SMS_BACKEND", None) or DEFAULT_BACKEND
    return import_string(chosen)()


def send_sms(to: str, body: str) -> int:
    """Send one SMS through the configured backend; returns how many went (raises what the backend raises)."""
    return get_backend().send_messages([SMS(to=to, body=body)])
