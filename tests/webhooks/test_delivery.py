"""Deliveries: signed per Standard Webhooks, sent after the commit, retried with growing delays, logged, redelivered."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction

from omni import versions
from omni.models import OutboxMessage
from omni.webhooks import services
from omni.webhooks.models import Delivery, Dispatch, Event, Subscription

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_event_is_sent_after_the_commit_signed_so_the_library_verifies_it(eager, receiver, subscribed):
    subscribed()
    with transaction.atomic():
        event = services.publish("customer.erased", {"customer": 42})
        assert receiver.received == []  # nothing leaves before the commit
    assert len(receiver.received) == 1
    got = receiver.received[0]
    assert got.payload == {
        "type": "customer.erased",
        "timestamp": event.created_at.isoformat(),
        "data": {"customer": 42},
    }
    assert got.headers["webhook-id"] == event.id
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.headers["content-type"] == "application/json"
    delivery = Delivery.objects.get()
    assert (delivery.status_code, delivery.error, delivery.event_id) == (200, "", event.id)
    assert Dispatch.objects.get().delivered_at is not None


def test_a_rolled_back_change_publishes_nothing(eager, receiver, subscribed):
    subscribed()
    with pytest.raises(RuntimeError), transaction.atomic():
        services.publish("customer.erased", {"customer": 42})
        raise RuntimeError("the change failed")
    assert receiver.received == []
    assert not Event.objects.exists() and not OutboxMessage.objects.exists()


def test_without_a_subscriber_publishing_costs_no_query(eager, receiver, subscribed, django_assert_num_queries):
    services.listened_types()  # the cache is warm, as on a running site
    with django_assert_num_queries(0):
        assert services.publish("customer.erased", {"customer": 42}) is None
    subscribed(["order.created"])  # a subscription clears the cache
    with django_assert_num_queries(1):
        assert services.publish("customer.erased", lambda: 1 / 0) is None  # no one listens: data never built
    services.publish("order.created", lambda: {"number": "OM1"})
    assert [p["data"] for p in receiver.verified] == [{"number": "OM1"}]


def test_a_subscription_switched_off_or_deleted_in_the_admin_is_seen_by_the_next_publish(eager, receiver, subscribed):
    """The admin saves and deletes the model itself, not through the services: the model's signals clear the
    cached event types, so the next publish sees the change."""
    subscription = subscribed(["order.created"])
    assert services.listens("order.created")
    subscription.is_active = False
    subscription.save()  # as the admin's change form does
    assert not services.listens("order.created")
    assert services.publish("order.created", lambda: 1 / 0) is None
    subscription.is_active = True
    subscription.save()
    assert services.listens("order.created")
    Subscription.objects.get(pk=subscription.pk).delete()  # as the admin's delete does
    assert not services.listens("order.created")
    assert receiver.received == []


def test_a_request_reads_the_listened_types_once_and_sees_a_subscription_it_makes(subscribed, monkeypatch):
    """Inside a request (`one_read`) the cached event types are read at the first publish and kept for the rest
    of it: a sale asks for three kinds of event. A subscription the request itself makes is seen at once."""
    reads = []
    read = services.cache.get
    monkeypatch.setattr(services.cache, "get", lambda key, *a, **k: reads.append(key) or read(key, *a, **k))
    with versions.one_read():
        assert not services.listens("order.created")
        assert not services.listens("loyalty.balance_changed")
        assert services.publish("availability.changed", lambda: 1 / 0) is None
        assert reads == [services.LISTENED_TYPES_KEY]
        subscribed(["order.created"])
        assert services.listens("order.created")
    assert len(reads) == 2
    assert services.listens("order.created") and len(reads) == 3  # outside a request: the cache every time


def test_only_subscribers_to_the_type_get_it(eager, receiver, subscribed):
    subscribed(["order.created"])
    services.publish("customer.erased", {"customer": 1})
    services.publish("order.created", {"number": "OM1"})
    assert [p["type"] for p in receiver.verified] == ["order.created"]


def test_a_wrong_secret_does_not_verify(eager, receiver, subscribed):
    subscribed()
    receiver.secret = services.new_secret()  # the site holds another key
    services.publish("customer.erased", {"customer": 1})
    assert len(receiver.received) == 1 and receiver.verified == []


def test_failed_attempts_are_retried_with_growing_delays_for_more_than_a_day_with_one_id(eager, receiver, subscribed):
    subscribed()
    receiver.statuses = [500] * 7  # then 200
    event = services.publish("customer.erased", {"customer": 7})  # first attempt right after the commit
    dispatch = Dispatch.objects.get()
    assert dispatch.attempts == 1 and dispatch.delivered_at is None
    start = Delivery.objects.get().at

    clock, delays = start, []
    while dispatch.next_attempt_at is not None:
        delay = dispatch.next_attempt_at - clock
        delays.append(delay)
        assert services.send_due(now=dispatch.next_attempt_at - timedelta(seconds=1)) == 0  # not yet due
        clock = dispatch.next_attempt_at
        services.send_due(now=clock)
        dispatch.refresh_from_db()

    assert delays == sorted(delays) and len(set(delays)) > 3  # the delays grow
    assert sum(delays, timedelta()) > timedelta(days=1)
    assert dispatch.delivered_at == clock and dispatch.attempts == 8
    assert receiver.ids() == [event.id] * 8  # the same webhook-id on every retry
    assert [d.status_code for d in Delivery.objects.order_by("at")] == [500] * 7 + [200]
    assert all(
        d.duration_ms >= 0 and (d.error == "" if d.status_code == 200 else "500" in d.error)
        for d in Delivery.objects.all()
    )


def test_a_dispatch_that_never_succeeds_is_given_up_after_the_last_retry(eager, receiver, subscribed):
    subscribed()
    receiver.statuses = [503] * 20
    services.publish("customer.erased", {"customer": 7})
    start = Delivery.objects.get().at
    clock = start
    for _ in range(20):
        dispatch = Dispatch.objects.get()
        if dispatch.next_attempt_at is None:
            break
        clock = dispatch.next_attempt_at
        services.send_due(now=clock)
    dispatch = Dispatch.objects.get()
    assert dispatch.given_up_at is not None and dispatch.delivered_at is None
    assert dispatch.attempts == len(services.RETRY_DELAYS) + 1
    assert dispatch.given_up_at - start > timedelta(days=1)


def test_a_subscription_failing_for_a_day_is_marked_and_admins_are_told_once(eager, receiver, subscribed, settings):
    settings.ADMINS = [("Ops", "ops@example.it")]
    subscription = subscribed()
    receiver.statuses = [500] * 20
    services.publish("customer.erased", {"customer": 7})
    start = Delivery.objects.get().at
    assert Subscription.objects.get(pk=subscription.pk).failing_since == start

    clock = start
    while clock - start < timedelta(days=1):
        clock = Dispatch.objects.get().next_attempt_at
        services.send_due(now=clock)
        marked = Subscription.objects.get(pk=subscription.pk)
        assert marked.is_failing == (clock - start >= timedelta(days=1))
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["ops@example.it"] and receiver.url in mail.outbox[0].subject

    services.publish("customer.erased", {"customer": 8}, now=clock)
    services.send_due(now=clock)  # fails again: no second e-mail
    assert len(mail.outbox) == 1

    receiver.statuses = []  # the site is back
    services.send_due(now=clock + timedelta(days=1))
    back = Subscription.objects.get(pk=subscription.pk)
    assert not back.is_failing and back.failing_since is None


def test_redelivery_from_the_api_keeps_the_webhook_id(eager, receiver, api):
    response = api.post("/api/v1/webhooks/", {"url": receiver.url, "events": ["*"]}, format="json")
    assert response.status_code == 201, response.content
    receiver.secret, hook = response.json()["secret"], response.json()["id"]
    event = services.publish("customer.erased", {"customer": 3})
    delivery = api.get(f"/api/v1/webhooks/{hook}/deliveries/").json()["results"][0]
    assert delivery["event_id"] == event.id and delivery["status_code"] == 200 and delivery["type"] == "customer.erased"

    again = api.post(f"/api/v1/webhooks/{hook}/deliveries/{delivery['id']}/redeliver/")
    assert again.status_code == 202, again.content
    assert receiver.ids() == [event.id, event.id]
    assert len(receiver.verified) == 2
    log = api.get(f"/api/v1/webhooks/{hook}/deliveries/").json()
    assert log["count"] == 2 and {row["event_id"] for row in log["results"]} == {event.id}


def test_redelivery_from_the_admin_keeps_the_webhook_id(eager, receiver, subscribed, admin_client):
    subscribed()
    event = services.publish("customer.erased", {"customer": 3})
    delivery = Delivery.objects.get()
    response = admin_client.post(
        "/admin/webhooks/delivery/", {"action": "redeliver", "_selected_action": [delivery.pk]}, follow=True
    )
    assert response.status_code == 200
    assert receiver.ids() == [event.id, event.id]


def test_a_url_that_turned_private_is_not_posted_to_and_the_attempt_is_logged(eager, receiver, subscribed, settings):
    subscribed()
    settings.WEBHOOKS_ALLOW_PRIVATE = False  # e.g. production settings, with a row saved earlier
    services.publish("customer.erased", {"customer": 3})
    assert receiver.received == []
    delivery = Delivery.objects.get()
    assert delivery.status_code is None and "https" in delivery.error
    assert Dispatch.objects.get().next_attempt_at is not None  # retried later


def test_a_redirect_is_not_followed_and_counts_as_a_failure(eager, receiver, subscribed):
    subscribed()
    receiver.statuses = [302]  # it could point anywhere, a private address included
    services.publish("customer.erased", {"customer": 5})
    assert len(receiver.received) == 1
    delivery = Delivery.objects.get()
    assert delivery.status_code == 302 and "302" in delivery.error
    assert Dispatch.objects.get().next_attempt_at is not None


@pytest.mark.celery_worker
def test_a_real_worker_sends_what_a_commit_published(celery_worker, receiver, subscribed):
    import time

    subscribed()
    with transaction.atomic():
        event = services.publish("customer.erased", {"customer": 9})
    deadline = time.monotonic() + 60
    # The receiver answers before the worker logs the delivery and commits: wait for both.
    while not (receiver.received and Delivery.objects.exists()) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert receiver.ids() == [event.id]
    assert receiver.verified[0]["data"] == {"customer": 9}
    assert Delivery.objects.get().status_code == 200
