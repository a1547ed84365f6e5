"""POST /api/v1/events/ and /api/v1/social-metrics/: stored in bulk, once each, and nothing on bad input."""

from __future__ import annotations

import pytest

from customers.services import identify
from kpis.models import SocialMetric, TouchpointEvent
from tests.factories import CustomerFactory, IdentifierFactory, LocationFactory, VariantFactory

pytestmark = pytest.mark.django_db


def event(n: int, **extra) -> dict:
    return {
        "id": f"ev-{n}",
        "type": "page_view",
        "occurred_at": "2025-03-10T10:00:00+01:00",
        "channel": "web",
        "session_id": "s-1",
        "device_id": "dev-1",
        **extra,
    }


def test_a_batch_is_stored_and_a_repeated_id_is_counted_once(api):
    first = api.post("/api/v1/events/", [event(1), event(2), event(2)], format="json")
    assert first.status_code == 202
    assert first.json() == {"accepted": 2, "duplicates": 1}
    again = api.post("/api/v1/events/", [event(2), event(3)], format="json")
    assert again.json() == {"accepted": 1, "duplicates": 1}
    assert TouchpointEvent.objects.count() == 3


def test_a_thousand_events_cost_a_fixed_number_of_queries(api, django_assert_max_num_queries):
    batch = [event(n, properties={"sku": "nope"}) for n in range(1000)]
    with django_assert_max_num_queries(25):
        response = api.post("/api/v1/events/", batch, format="json")
    assert response.json() == {"accepted": 1000, "duplicates": 0}


def test_events_join_the_customer_by_id_by_known_device_and_the_product_by_sku(api):
    known = CustomerFactory()
    IdentifierFactory(customer=known, kind="device", value="dev-known")
    merged_away = CustomerFactory(merged_into=known)
    variant = VariantFactory(sku="RED-M")
    store = LocationFactory(code="MI01")
    response = api.post(
        "/api/v1/events/",
        [
            event(1, device_id="dev-known"),
            event(2, customer=merged_away.pk, device_id=""),
            event(3, device_id="dev-new", type="product_view", properties={"sku": "RED-M"}),
            event(
                4, channel="store", type="store_visit", location="MI01", session_id="", device_id="", customer=known.pk
            ),
        ],
        format="json",
    )
    assert response.status_code == 202
    rows = {e.event_id: e for e in TouchpointEvent.objects.all()}
    assert rows["ev-1"].customer_id == known.pk
    assert rows["ev-2"].customer_id == known.pk
    assert rows["ev-3"].customer_id is None and rows["ev-3"].product_id == variant.product_id
    assert rows["ev-4"].location_id == store.pk
    assert rows["ev-1"].day.isoformat() == "2025-03-10"


def test_a_device_linked_later_brings_its_events_into_the_customers_timeline(api):
    api.post("/api/v1/events/", [event(1, device_id="dev-9"), event(2, device_id="dev-9")], format="json")
    result = identify(identifiers=[{"kind": "email", "value": "anna@example.it"}, {"kind": "device", "value": "dev-9"}])
    customer = result.customer
    assert TouchpointEvent.objects.filter(customer=customer).count() == 2
    timeline = api.get(f"/api/v1/customers/{customer.pk}/timeline/").json()
    assert [entry["kind"] for entry in timeline["results"]].count("page_view") == 2


@pytest.mark.parametrize(
    ("batch", "field"),
    [
        ([event(1, id=None)], "0.id"),
        ([{k: v for k, v in event(1).items() if k != "id"}], "0.id"),
        ([{k: v for k, v in event(1).items() if k != "type"}], "0.type"),
        ([event(1, type="teleport")], "0.type"),
        ([event(1), event(2, channel="pigeon")], "1.channel"),
        ([event(1, location="NOWHERE")], "0.location"),
        ([event(1, customer=999999)], "0.customer"),
        ([event(1, occurred_at="yesterday")], "0.occurred_at"),
        ([event(n) for n in range(1001)], "non_field_errors"),
        ([], "non_field_errors"),
    ],
)
def test_bad_events_answer_400_naming_the_field_and_store_nothing(api, batch, field):
    response = api.post("/api/v1/events/", batch, format="json")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "invalid"
    assert field in body["errors"]
    assert TouchpointEvent.objects.count() == 0


def test_events_need_the_events_scope(make_api_client):
    response = make_api_client(["kpis"]).post("/api/v1/events/", [event(1)], format="json")
    assert response.status_code == 403


def social(day: str, network: str, **figures) -> dict:
    return {
        "date": day,
        "network": network,
        "likes": 1,
        "shares": 2,
        "comments": 3,
        "mentions": 4,
        "followers": 5,
        **figures,
    }


def test_social_figures_sent_again_replace_the_earlier_ones(api):
    assert api.post("/api/v1/social-metrics/", [social("2025-03-10", "instagram")], format="json").json() == {
        "saved": 1
    }
    api.post(
        "/api/v1/social-metrics/",
        [social("2025-03-10", "Instagram", likes=40), social("2025-03-10", "tiktok")],
        format="json",
    )
    rows = {m.network: m for m in SocialMetric.objects.all()}
    assert set(rows) == {"instagram", "tiktok"}
    assert rows["instagram"].likes == 40
    assert rows["instagram"].engagement == 40 + 2 + 3 + 4


def test_social_figures_below_zero_answer_400_and_store_nothing(api):
    response = api.post(
        "/api/v1/social-metrics/", [social("2025-03-10", "x"), social("2025-03-11", "x", likes=-1)], format="json"
    )
    assert response.status_code == 400
    assert "1.likes" in response.json()["errors"]
    assert SocialMetric.objects.count() == 0


def test_social_figures_of_an_unknown_network_answer_400_and_store_nothing(api):
    response = api.post(
        "/api/v1/social-metrics/", [social("2025-03-10", "instagram"), social("2025-03-10", "myspace")], format="json"
    )
    assert response.status_code == 400
    assert response.json()["code"] == "invalid" and "1.network" in response.json()["errors"]
    assert SocialMetric.objects.count() == 0
