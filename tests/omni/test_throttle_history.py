"""The rate limit's memory: DRF's sliding window, kept in the cache as one packed array instead of a pickled list."""

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


def test_decisions_and_waits_are_drf_own_over_a_day_of_requests():
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
        ours.timer = reference.timer = clock
        allowed = ours.allow_request(request, None)
        assert allowed == reference.allow_request(request, None)
        if not allowed:
            assert ours.wait() == reference.wait()
        outcomes.append(allowed)
    assert True in outcomes and False in outcomes


def test_a_list_left_by_drf_in_the_cache_is_read_as_it_was():
    assert list(history_of([3.5, 2.25, 1.0])) == [3.5, 2.25, 1.0]
    assert list(history_of(None)) == []
