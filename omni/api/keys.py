"""API keys: made once, shown once, stored as a SHA-256 hash.

A key reads ``omni_<prefix>_<secret>``. The prefix finds the client; the
hash of the whole key is compared in constant time. The secret has 256 bits
of entropy, so a fast hash is enough (nothing to brute-force).

Every process keeps the active clients (a retailer has a handful) behind a
version token (`omni.versions`): a client saved or deleted anywhere, or
revoked with `revoke`, gives the token a new value, and the next request of
every process reads the clients again. So a revoked key stops working at
the next request, and a request whose transaction has read the tokens
already (an API order: its Idempotency-Key's lock reads them) checks its key
with no query at all.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from django.db.models import QuerySet
from django.utils import timezone

from omni import versions
from omni.models import ApiClient

KEY_START = "omni_"
API_CLIENTS = "omni.api_clients"  # the token of the active clients each process keeps


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_client(*, name: str, scopes: list[str], rate_limit: str = "") -> tuple[ApiClient, str]:
    """Create an API client; returns it with its key, which is not kept anywhere."""
    prefix = secrets.token_hex(6)
    key = f"{KEY_START}{prefix}_{secrets.token_urlsafe(32)}"
    client = ApiClient.objects.create(
        name=name, key_prefix=prefix, key_hash=hash_key(key), scopes=sorted(set(scopes)), rate_limit=rate_limit
    )
    return client, key


def client_for_key(key: str) -> ApiClient | None:
    """The active client that owns `key`, or None.

    The client is the one this process keeps, shared by its requests: read it, never change it (but for
    `last_used_at`, which authentication keeps up to date)."""
    parts = key.split("_")
    if len(parts) < 3 or not key.startswith(KEY_START):
        return None
    client = versions.kept(API_CLIENTS, _active_clients).get(parts[1])
    if client is None or not hmac.compare_digest(client.key_hash, hash_key(key)):
        return None
    return client


def _active_clients() -> dict[str, ApiClient]:
    return {client.key_prefix: client for client in ApiClient.objects.filter(is_active=True)}


def revoke(clients: QuerySet[ApiClient]) -> int:
    """Revoke the active clients among `clients`; returns how many. Their keys stop working at the next request
    of every process once the caller's transaction commits."""
    count = clients.filter(is_active=True).update(is_active=False, revoked_at=timezone.now())
    if count:
        versions.changed(API_CLIENTS)  # an update sends no signal: the kept clients are read again
    return count
