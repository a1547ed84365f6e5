"""The shared cache (Redis, `CACHE_URL`): Django's backend, with one Redis client kept per server.

Django's backend makes a new `redis.Redis` for every call. With redis-py 8
that costs more than the call itself (0.2 ms of CPU, filling the client's
table of reply parsers; a GET on the local network takes 0.1 ms), and an API
request makes two calls: the rate limit's and the webhooks' listened types. A
client is safe to share between threads (it takes a connection from its pool
for each command), so each server's is made once.
"""

from __future__ import annotations

from typing import Any

from django.core.cache.backends import redis as django_redis


class _KeptClients(django_redis.RedisCacheClient):
    def __init__(self, *args: Any, **options: Any) -> None:
        super().__init__(*args, **options)
        self._clients: dict[int, Any] = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class RedisCache(django_redis.RedisCache):
    def __init__(self, server, params) -> None:
        super().__init__(server, params)
        self._class = _KeptClients

    def client_for(self, key: str) -> Any:
        """The Redis client that holds `key` (a key made by `make_and_validate_key`), for a command the cache's
        API has no word for, such as the rate limit's script."""
        return self._cache.get_client(key, write=True)  # type: ignore[attr-defined]  # a cached_property of Django
