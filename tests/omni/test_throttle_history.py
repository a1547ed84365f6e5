"""The rate limit's memory: DRF's sliding window, kept as one packed array in the per-process cache, and as a
sorted set that one script keeps in the shared cache (Redis)."""

import threading
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from rest_framework.throttling import SimpleRateThrottle

from omni.api.throttling import ClientRateThrottle, history_of
from omni.models import ApiClient

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


class DrfThrottle(SimpleRateThrottle):
    """DRF's own throttle over the same rate, the reference the packed history must agree with."""

    rate = "5/min"

    def get_cache_key(self, request, view):
        return "test_drf_reference"


def test_the_times_are_kept_as_packed_doubles_not_a_pickled_list(make_api_client):
    api = make_api_client(["catalog"], rate_limit="10/min")
    for _ in range(3):
        assert api.get("/api/v1/locations/").status_code == 200
    stored = cache.get(f"throttle_client_client:{api.record.pk}")
    assert isinstance(stored, bytes) and len(stored) == 3 * 8
    times = history_of(stored)
    assert list(times) == sorted(times, reverse=True)  # newest first, as DRF keeps them


def agrees_with_drf_over_a_day_of_requests(kept_in=None) -> None:
    """Our throttle and DRF's, each with its own memory, asked the same requests on a clock: the same answers."""
    cache.delete("test_drf_reference")
    principal = ApiClient(pk=987654, name="clock", rate_limit="5/min")
    request = SimpleNamespace(user=principal, META={})
    cache.delete(ClientRateThrottle().get_cache_key(request, None))
    clock = Clock()
    # Bursts, pauses shorter and longer than the window, and requests at the window's very edge.
    steps = [0.5] * 8 + [59.5, 0.5, 0.0, 60.0, 1.0] + [10.0] * 9 + [30.0, 29.0, 1.0, 0.25] * 6 + [3600.0, 0.1]
    outcomes = []
    for step in steps:
        clock.now += step
        ours, reference = ClientRateThrottle(), DrfThrottle()
        if kept_in is not None:
            ours.cache = kept_in
        ours.timer = reference.timer = clock
        allowed = ours.allow_request(request, None)
        assert allowed == reference.allow_request(request, None)
        if not allowed:
            assert ours.wait() == reference.wait()
        outcomes.append(allowed)
    assert True in outcomes and False in outcomes


def test_decisions_and_waits_are_drf_own_over_a_day_of_requests():
    agrees_with_drf_over_a_day_of_requests()


def test_in_the_shared_cache_decisions_and_waits_are_drf_own_over_a_day_of_requests(shared_cache):
    agrees_with_drf_over_a_day_of_requests(kept_in=shared_cache)


def test_in_the_shared_cache_a_request_is_one_round_trip_of_a_few_bytes(shared_cache, redis_commands):
    principal = ApiClient(pk=987655, name="busy", rate_limit="1200/min")
    request = SimpleNamespace(user=principal, META={})
    throttle = ClientRateThrottle()
    throttle.cache = shared_cache
    for _ in range(1000):  # a busy till's last minute
        assert throttle.allow_request(request, None)
    commands = redis_commands()
    assert throttle.allow_request(request, None)
    assert commands.sent == ["EVALSHA"]  # DRF's way was a GET of the whole window and a SET of it
    key = shared_cache.make_and_validate_key(throttle.key)
    client = shared_cache.client_for(key)
    assert client.type(key) == b"zset" and client.zcard(key) == 1001
    assert 0 < client.pttl(key) <= 60_000


def test_in_the_shared_cache_requests_at_once_never_pass_more_than_the_rate(shared_cache):
    """Read and write apart (DRF's GET, then SET), requests at once each see the window before the others' times."""
    principal = ApiClient(pk=987656, name="crowd", rate_limit="10/min")
    request = SimpleNamespace(user=principal, META={})
    start, answers = threading.Barrier(40), []

    def ask() -> None:
        throttle = ClientRateThrottle()
        throttle.cache = shared_cache
        start.wait()
        answers.append(throttle.allow_request(request, None))

    threads = [threading.Thread(target=ask) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert answers.count(True) == 10 and answers.count(False) == 30


def test_in_the_shared_cache_the_api_answers_429_with_retry_after(
    shared_default_cache, make_api_client, redis_commands
):
    api = make_api_client(["catalog"], rate_limit="3/min")
    commands = redis_commands()
    for _ in range(3):
        assert api.get("/api/v1/locations/").status_code == 200
    assert commands.sent.count("EVALSHA") == 3 and "SET" not in commands.sent  # the script, not DRF's GET and SET
    response = api.get("/api/v1/locations/", HTTP_ACCEPT_LANGUAGE="it")
    assert response.status_code == 429 and response.json()["code"] == "throttled"
    assert 1 <= int(response["Retry-After"]) <= 60
    other = make_api_client(["catalog"], rate_limit="3/min")
    assert other.get("/api/v1/locations/").status_code == 200  # each client has its own window


def test_a_list_left_by_drf_in_the_cache_is_read_as_it_was():
    assert list(history_of([3.5, 2.25, 1.0])) == [3.5, 2.25, 1.0]
    assert list(history_of(None)) == []
