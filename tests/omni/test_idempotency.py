"""The Idempotency-Key behaviour of every POST."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from omni.catalog import services
from omni.catalog.models import Location
from omni.models import IdempotencyRecord

LOCATIONS = "/api/v1/locations/"


def milano(code: str = "MI01", **extra) -> dict:
    return {
        "code": code,
        "name": "Milano Duomo",
        "kind": "store",
        "city": "Milano",
        "postcode": "20121",
        "latitude": "45.464211",
        "longitude": "9.191383",
        "is_pickup_point": True,
        "ships_to_customers": False,
        **extra,
    }


@pytest.mark.django_db
def test_the_same_key_and_body_answers_the_first_answer_and_writes_nothing_new(api):
    first = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Location.objects.count() == 1


@pytest.mark.django_db
def test_without_a_key_a_repeated_post_is_a_new_request(api):
    api.post(LOCATIONS, milano(), format="json")
    response = api.post(LOCATIONS, milano(), format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["code"]


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(api):
    api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    response = api.post(LOCATIONS, milano("RM01"), format="json", HTTP_IDEMPOTENCY_KEY="k-2")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert list(Location.objects.values_list("code", flat=True)) == ["MI01"]


@pytest.mark.django_db
def test_an_error_answer_is_replayed_too(api):
    bad = milano(latitude="123")
    first = api.post(LOCATIONS, bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    again = api.post(LOCATIONS, bad, format="json", HTTP_IDEMPOTENCY_KEY="k-3")
    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()


@pytest.mark.django_db
def test_keys_of_different_clients_do_not_collide(make_api_client):
    shop, app = make_api_client(["catalog"]), make_api_client(["catalog"])
    assert shop.post(LOCATIONS, milano("MI01"), format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert app.post(LOCATIONS, milano("RM01"), format="json", HTTP_IDEMPOTENCY_KEY="same").status_code == 201
    assert Location.objects.count() == 2


@pytest.mark.django_db
def test_a_refused_key_does_not_burn_the_idempotency_key(make_api_client):
    api = make_api_client(["catalog"])
    no_scope = make_api_client(["orders"])
    assert no_scope.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="k-4").status_code == 403
    assert not IdempotencyRecord.objects.exists()
    assert api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="k-4").status_code == 201


@pytest.mark.django_db
def test_after_expiry_the_key_starts_a_new_request(api):
    api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.post(LOCATIONS, milano("RM01"), format="json", HTTP_IDEMPOTENCY_KEY="k-5")
    assert response.status_code == 201
    assert Location.objects.count() == 2


@pytest.mark.django_db
def test_expired_records_are_purged_by_the_scheduled_task(api):
    from omni.tasks import purge_idempotency_keys

    api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="old")
    api.post(LOCATIONS, milano("RM01"), format="json", HTTP_IDEMPOTENCY_KEY="fresh")
    IdempotencyRecord.objects.filter(key="old").update(expires_at=timezone.now() - timedelta(hours=1))
    assert purge_idempotency_keys() == 1
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == ["fresh"]


@pytest.mark.postgres_only("two requests in threads at once: in-memory SQLite locks the whole table for the second")
@pytest.mark.django_db(transaction=True)
def test_a_repeat_while_the_first_request_runs_is_a_409_request_in_progress(make_api_client, monkeypatch):
    api = make_api_client(["catalog"])
    inside, release = threading.Event(), threading.Event()
    real_create = services.create_location

    def slow_create(**fields):
        inside.set()
        assert release.wait(10)
        return real_create(**fields)

    monkeypatch.setattr(services, "create_location", slow_create)
    answers = {}

    def first_request():
        try:
            answers["first"] = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="slow")
        finally:
            connection.close()  # the thread's own connection, or the test database cannot be dropped

    worker = threading.Thread(target=first_request)
    worker.start()
    try:
        assert inside.wait(10)
        second = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="slow")
        assert second.status_code == 409
        assert second.json()["code"] == "request_in_progress"
    finally:
        release.set()
        worker.join(10)
    assert answers["first"].status_code == 201
    replay = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="slow")
    assert replay.status_code == 201
    assert replay.json() == answers["first"].json()
    assert Location.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_request_that_crashes_leaves_no_claim_and_writes_nothing(make_api_client, monkeypatch):
    api = make_api_client(["catalog"])
    api.raise_request_exception = False

    def crash(**fields):
        services.Location.objects.create(**{**fields, "latitude": 45, "longitude": 9})
        raise RuntimeError("the worker fell over")

    monkeypatch.setattr(services, "create_location", crash)
    response = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="crash")
    assert response.status_code == 500
    assert not IdempotencyRecord.objects.exists()
    assert not Location.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_the_answer_is_stored_in_the_transaction_of_the_work(make_api_client, monkeypatch):
    from django.db import DatabaseError

    from omni.api.idempotency import IdempotencyMiddleware

    api = make_api_client(["catalog"])
    api.raise_request_exception = False

    def store_fails(record, response):
        raise DatabaseError("the answer could not be stored")

    monkeypatch.setattr(IdempotencyMiddleware, "store", staticmethod(store_fails))
    response = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="atomic")
    assert response.status_code == 500
    assert not Location.objects.exists()  # no answer kept, so no work kept either
    assert not IdempotencyRecord.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_claim_left_by_a_dead_worker_lapses_and_the_retry_runs_again(make_api_client):
    api = make_api_client(["catalog"])
    assert api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="dead").status_code == 201
    # What a worker killed before its commit leaves: the claim alone, and none of its work.
    Location.objects.all().delete()
    IdempotencyRecord.objects.update(state="in_progress", status_code=None, body=None)
    assert api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="dead").status_code == 409
    IdempotencyRecord.objects.update(expires_at=timezone.now() - timedelta(seconds=1))  # the lease lapses
    again = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="dead")
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert Location.objects.count() == 1


def test_a_request_running_past_its_lease_still_holds_its_key(postgres, make_api_client, monkeypatch, settings):
    settings.IDEMPOTENCY_LEASE_SECONDS = 0  # lapsed at once: only the row lock says the first is alive
    api = make_api_client(["catalog"])
    inside, release = threading.Event(), threading.Event()
    real_create = services.create_location

    def slow_create(**fields):
        inside.set()
        assert release.wait(10)
        return real_create(**fields)

    monkeypatch.setattr(services, "create_location", slow_create)
    answers = {}

    def first_request():
        try:
            answers["first"] = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="long")
        finally:
            connection.close()

    worker = threading.Thread(target=first_request)
    worker.start()
    try:
        assert inside.wait(10)
        second = api.post(LOCATIONS, milano(), format="json", HTTP_IDEMPOTENCY_KEY="long")
        assert second.status_code == 409
        assert second.json()["code"] == "request_in_progress"
    finally:
        release.set()
        worker.join(10)
    assert answers["first"].status_code == 201
    assert Location.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_claim_is_one_statement_and_a_held_key_fails_nothing():
    """No transaction is opened around the claim (it was BEGIN, INSERT, COMMIT), and a key held already
    answers None without an error that would break the caller's transaction."""
    from django.test.utils import CaptureQueriesContext

    from omni.api.idempotency import IdempotencyMiddleware

    now = timezone.now()
    with CaptureQueriesContext(connection) as claimed:
        record = IdempotencyMiddleware.insert_claim("key:abc", "k-one", "f" * 64, now, now + timedelta(seconds=60))
    assert [query["sql"].split()[0] for query in claimed.captured_queries] == ["INSERT"]
    stored = IdempotencyRecord.objects.get(pk=record.pk)
    assert (stored.owner, stored.key, stored.state, stored.expires_at) == (
        "key:abc",
        "k-one",
        "in_progress",
        record.expires_at,
    )
    assert IdempotencyMiddleware.insert_claim("key:abc", "k-one", "e" * 64, now, now) is None
    assert IdempotencyRecord.objects.get().fingerprint == "f" * 64
