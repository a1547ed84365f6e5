"""The API's URL modules are tried busiest first: that is only safe while no two of them answer the same path."""

from django.urls import URLResolver

from omni.urls import api_v1, urlpatterns


def first_segments(resolver: URLResolver) -> set[str]:
    return {str(pattern.pattern).lstrip("^").split("/")[0] for pattern in resolver.url_patterns}


def test_no_two_api_modules_share_a_first_path_segment():
    seen: dict[str, str] = {}
    for include in api_v1:
        for segment in first_segments(include):
            assert segment not in seen, f"{segment!r} is in {seen.get(segment)} and {include.urlconf_name.__name__}"
            seen[segment] = include.urlconf_name.__name__
    assert {"orders", "availability", "customers"} <= seen.keys()


def test_the_order_post_is_the_first_pattern_an_api_path_meets():
    assert str(urlpatterns[0].pattern) == "api/v1/"
    assert api_v1[0].urlconf_name.__name__ == "omni.orders.api.urls"
