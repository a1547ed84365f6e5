"""Template filters that write money, moments and channels for people: `{% load omni_format %}`.

{{ order.total|money }}            € 364,70 (Italian), € 364.70 (English)
{{ order.total|money:"CHF" }}      364,70 CHF
{{ order.created_at|moment }}      03/12/2026 17:05, in Europe/Rome
{{ "call_center"|channel_label }}  Call center / the channel's name in the active language
"""

from __future__ import annotations

from django import template

from omni.catalog.reference import channel_label as label_of
from omni.money import format_moment, format_money

register = template.Library()


@register.filter
def money(amount, currency: str = "EUR") -> str:
    return format_money(amount, currency or "EUR")


@register.filter
def moment(value) -> str:
    return format_moment(value)


@register.filter
def channel_label(code: str) -> str:
    return label_of(code)
