"""Who is calling: an API client with a Bearer key, or a staff user's session."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone
from rest_framework import authentication, exceptions

from omni.api.keys import client_for_key
from omni.models import ApiClient

LAST_USED_RESOLUTION = timedelta(minutes=1)


class BearerKeyAuthentication(authentication.BaseAuthentication):
    """``Authorization: Bearer <key>``. The request's user and auth are the ApiClient."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        keyword, _, key = header.partition(" ")
        if keyword.lower() != self.keyword.lower():
            return None
        key = key.strip()
        if not key:
            raise exceptions.AuthenticationFailed("No key after Bearer.")
        client = client_for_key(key)
        if client is None:
            raise exceptions.AuthenticationFailed("Unknown or revoked API key.")
        now = timezone.now()
        if client.last_used_at is None or now - client.last_used_at > LAST_USED_RESOLUTION:
            ApiClient.objects.filter(pk=client.pk).update(last_used_at=now)  # no signal: the kept clients stay
            client.last_used_at = now  # on the client this process keeps: written again a minute on at the earliest
        return client, client

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class StaffSessionAuthentication(authentication.SessionAuthentication):
    """A staff user logged into the admin may use the API (CSRF-checked)."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result
