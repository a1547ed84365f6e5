"""The shared cache production runs (Redis): one client per server for the process, not one per call."""

import threading

import redis

from omni.cache import RedisCache


def test_calls_reuse_one_client_from_every_thread(shared_cache, monkeypatch):
    shared_cache.set("warm", 1)
    made = []
    make = redis.Redis.__init__

    def counted(client, *args, **options):
        made.append(client)
        make(client, *args, **options)

    monkeypatch.setattr(redis.Redis, "__init__", counted)
    for n in range(5):
        shared_cache.set(f"k{n}", n, 30)
        assert shared_cache.get(f"k{n}") == n
        shared_cache.delete(f"k{n}")
    seen = []
    threads = [threading.Thread(target=lambda: seen.append(shared_cache.get("warm"))) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == [1] * 8
    assert made == []  # Django's backend makes a client for each of these 23 calls
    assert isinstance(shared_cache, RedisCache)
