"""Rate limits per API client (or per staff user), answered with 429 and Retry-After.

The allowance is DRF's sliding window: a request is let through while fewer
than the rate's number of requests were let through over the last period,
and the wait is DRF's. Two places keep the window:

- With the shared cache production runs (Redis, `CACHE_URL`), the times are
  a sorted set in Redis, and one script drops the times that left the
  window, counts, and adds the new time: one round trip of a few bytes. DRF
  reads the whole list of times and writes it back, which at a few thousand
  requests a minute is kilobytes each way on every request, and two round
  trips between which another process's request goes unseen.
- With any other cache (the per-process default: the demo, SQLite), the times
  are one packed array of doubles under the client's key, read and written
  whole as DRF does, without pickling each float.
"""

from __future__ import annotations

import os
from array import array
from typing import Any

from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.core.cache import cache as default_cache
from rest_framework.throttling import SimpleRateThrottle

from omni.cache import RedisCache
from omni.models import ApiClient

# KEYS[1]: the client's window. ARGV: now, the period in seconds, the number allowed, a member unique to this
# request. Answers {1} when let through; {0, the times in the window, the oldest of them} when not. Times go
# in and out as text (%.17g), so they are the doubles Python holds and the arithmetic is DRF's.
WINDOW_SCRIPT = """
local now = tonumber(ARGV[1])
local duration = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - duration)
local count = redis.call('ZCARD', KEYS[1])
if count >= tonumber(ARGV[3]) then
  return {0, count, redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2]}
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], math.ceil(duration * 1000))
return {1}
"""

_window_script: Any = None  # registered once per process, run with each request's own client


def history_of(stored: object) -> array:
    """The times kept in the cache as an array of doubles, newest first (a list left by DRF's throttle too)."""
    history = array("d")
    if isinstance(stored, bytes):
        history.frombytes(stored)
    elif stored:
        history.extend(stored)  # type: ignore[arg-type]
    return history


class ClientRateThrottle(SimpleRateThrottle):
    scope = "client"

    def allow_request(self, request, view):
        principal = request.user
        if isinstance(principal, ApiClient) and principal.rate_limit:
            self.rate = principal.rate_limit
            self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        self.now = self.timer()
        # DRF's `cache` is Django's proxy of the default cache; the backend behind it is this thread's.
        backend = caches[DEFAULT_CACHE_ALIAS] if self.cache is default_cache else self.cache
        if isinstance(backend, RedisCache):
            return self._allow_in_redis(backend)
        self.history = history_of(self.cache.get(self.key))
        # The times that left the window are at the end (newest first): drop them, as DRF does.
        history, oldest_kept = self.history, self.now - self.duration
        while history and history[-1] <= oldest_kept:
            history.pop()
        if len(history) >= self.num_requests:
            return self.throttle_failure()
        return self.throttle_success()

    def throttle_success(self):
        self.history.insert(0, self.now)
        self.cache.set(self.key, self.history.tobytes(), self.duration)
        return True

    def _allow_in_redis(self, cache: RedisCache) -> bool:
        key = cache.make_and_validate_key(self.key)
        client = cache.client_for(key)
        global _window_script
        if _window_script is None:
            _window_script = client.register_script(WINDOW_SCRIPT)
        args = [repr(self.now), repr(float(self.duration)), self.num_requests, os.urandom(8).hex()]
        answer = _window_script(keys=[key], args=args, client=client)
        if answer[0] == 1:
            return True
        # What wait() reads: as many times as the window holds, the oldest of them last.
        count = int(answer[1])
        self.history = [float(answer[2])] * count if count else []
        return self.throttle_failure()

    def get_cache_key(self, request, view):
        principal = request.user
        if isinstance(principal, ApiClient):
            ident = f"client:{principal.pk}"
        elif principal is not None and getattr(principal, "is_authenticated", False):
            ident = f"user:{principal.pk}"
        else:
            ident = f"anon:{self.get_ident(request)}"
        return self.cache_format % {"scope": self.scope, "ident": ident}
