"""An API order with an Idempotency-Key runs in the middleware's transaction, which is run again as a whole on a
collision: the sale and identify take no savepoints in it, and what fails rolls all of it back before the
answer is kept.

A receipt another request committed meanwhile breaks that transaction at the INSERT: the number is read on
the next attempt, by the external-id check, so the loser still hears 409 duplicate_order with that number.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from customers.models import Customer
from inventory.models import StockLevel, StockMovement
from omni.models import IdempotencyRecord
from omni.orders import notices
from omni.orders.models import Order
from tests.orders.conftest import stock

BODY = {
    "channel": "store",
    "location": "MI01",
    "fulfilment": {"type": "carry_out"},
    "lines": [{"sku": "CAM-ROSSA-M", "quantity": 1}],
    "payments": [{"tender": "card", "amount": "39.90"}],
}


def savepoints(queries: CaptureQueriesContext) -> list[str]:
    """The savepoints taken up to the statement that keeps the request's answer. What its outbox row starts
    after the COMMIT (the day's KPI refresh, run inline where Celery is eager, as on SQLite) is another
    transaction, with savepoints of its own."""
    statements = [query["sql"] for query in queries.captured_queries]
    answers = [
        at
        for at, sql in enumerate(statements)
        if sql.startswith('UPDATE "omni_idempotencyrecord" SET') and "state" in sql.split(" WHERE ")[0]
    ]
    if answers:
        statements = statements[: answers[-1] + 1]
    return [sql for sql in statements if "SAVEPOINT" in sql.upper()]


def test_a_receipt_committed_by_a_racing_request_is_answered_duplicate_with_its_number(
    postgres, network, make_api_client
):
    """Two tills send the same receipt under different keys: the second passes the external-id check before
    the first commits, waits on its row, then meets the unique constraint. No savepoint to go back to: the
    middleware runs it again, and the check answers 409 duplicate_order with the first one's number."""
    stock(network["milano"], network["shirt"], 10)
    first_api, second_api = make_api_client(), make_api_client()
    first_api.raise_request_exception = second_api.raise_request_exception = False  # a 500 is an answer here
    first_inside, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}
    send_receipt = notices.send_receipt

    def held_receipt(order, **options):
        if order.external_id == "R-RACE" and "first_number" not in outcome:
            outcome["first_number"] = order.number
            first_inside.set()
            assert release.wait(60)
        send_receipt(order, **options)

    def first():
        try:
            outcome["first"] = first_api.post(
                "/api/v1/orders/", {**BODY, "external_id": "R-RACE"}, format="json", HTTP_IDEMPOTENCY_KEY="till-1"
            )
        finally:
            connection.close()

    def second():
        try:
            with CaptureQueriesContext(connection) as queries:
                outcome["second"] = second_api.post(
                    "/api/v1/orders/", {**BODY, "external_id": "R-RACE"}, format="json", HTTP_IDEMPOTENCY_KEY="till-2"
                )
            outcome["second_savepoints"] = savepoints(queries)
        finally:
            connection.close()

    notices.send_receipt = held_receipt
    try:
        one = threading.Thread(target=first)
        one.start()
        assert first_inside.wait(60)
        two = threading.Thread(target=second)
        two.start()
        with connection.cursor() as cursor:  # the second waits on the first's uncommitted row of that receipt
            for _ in range(6000):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s",
                    [connection.settings_dict["NAME"]],
                )
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.01)
            else:
                pytest.fail("the second request never waited on the first")
        release.set()
        one.join(60)
        two.join(60)
    finally:
        notices.send_receipt = send_receipt
        release.set()

    assert outcome["first"].status_code == 201, outcome["first"].content
    answer = outcome["second"]
    assert answer.status_code == 409, answer.content
    assert answer.json()["code"] == "duplicate_order"
    assert answer.json()["number"] == outcome["first_number"]
    assert outcome["second_savepoints"] == []
    # Nothing of the second request is kept but its answer.
    assert Order.objects.filter(external_id="R-RACE").count() == 1 and Order.objects.count() == 1
    assert StockMovement.objects.filter(on_hand_delta__lt=0).count() == 1
    assert StockLevel.objects.get(location=network["milano"], variant=network["shirt"]).on_hand == 9
    replay = second_api.post(
        "/api/v1/orders/", {**BODY, "external_id": "R-RACE"}, format="json", HTTP_IDEMPOTENCY_KEY="till-2"
    )
    assert replay.status_code == 409 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == answer.json()
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_refused_api_order_writes_nothing_and_its_answer_is_kept(network, api):
    """The new customer is written before the stock is found short: with no savepoint of the sale's own, the
    middleware's rollback takes the customer away too, and the refusal is stored after it and replayed."""
    stock(network["milano"], network["shirt"], 0)
    customers = Customer.objects.count()
    body = {**BODY, "external_id": "R-SHORT", "identifiers": [{"kind": "email", "value": "nuova@example.it"}]}
    with CaptureQueriesContext(connection) as queries:
        refused = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="short-1")
    assert refused.status_code == 409, refused.content
    assert refused.json()["code"] == "insufficient_stock"
    assert savepoints(queries) == []
    assert Customer.objects.count() == customers
    assert not Order.objects.exists()
    assert IdempotencyRecord.objects.get(key="short-1").status_code == 409
    replay = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="short-1")
    assert replay.status_code == 409 and replay["Idempotent-Replayed"] == "true"
    assert replay.json() == refused.json()
    assert Customer.objects.count() == customers


@pytest.mark.django_db(transaction=True)
def test_a_sale_in_a_callers_savepoint_keeps_its_own(network):
    """Only where the whole transaction is run again does the sale go without a savepoint: inside a caller's
    transaction it still takes one, so a caller that catches its error can go on."""
    from decimal import Decimal

    from django.db import transaction

    from loyalty.pricing import LineIn
    from omni.catalog.models import Channel
    from omni.errors import DuplicateOrder
    from omni.orders import services

    stock(network["milano"], network["shirt"], 10)
    till = Channel.objects.get(code="store")

    def sell():
        return services.record_order(
            channel=till,
            location=network["milano"],
            external_id="R-1",
            lines=[LineIn("CAM-ROSSA-M", 1)],
            payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
        )

    first = sell()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        with pytest.raises(DuplicateOrder):
            sell()
        assert Order.objects.count() == 1  # the caller's transaction is still usable
    assert savepoints(queries)[0].startswith("SAVEPOINT"), savepoints(queries)
    assert Order.objects.get().number == first.number


@pytest.mark.django_db(transaction=True)
def test_an_identify_race_lost_in_an_api_order_runs_the_whole_request_again(network, api, monkeypatch):
    """identify's first read misses the stored e-mail, as when a concurrent request inserted it a moment later:
    its INSERT fails, and with no savepoint to take the decision again under, the middleware runs the request
    again in a fresh transaction. One order, one customer, nothing of the lost attempt."""
    from customers import services as customer_services
    from tests.factories import CustomerFactory, IdentifierFactory

    stock(network["milano"], network["shirt"], 10)
    anna = IdentifierFactory(value="anna@example.it", customer=CustomerFactory(email="anna@example.it")).customer
    held, reads = customer_services._held, []

    def late(cleaned, **options):
        reads.append(1)
        return ({}, {}, {}) if len(reads) == 1 else held(cleaned, **options)

    monkeypatch.setattr(customer_services, "_held", late)
    body = {**BODY, "external_id": "R-LATE", "identifiers": [{"kind": "email", "value": "anna@example.it"}]}
    with CaptureQueriesContext(connection) as queries:
        response = api.post("/api/v1/orders/", body, format="json", HTTP_IDEMPOTENCY_KEY="late-1")
    assert response.status_code == 201, response.content
    assert len(reads) == 2
    claim_locks = [
        query for query in queries.captured_queries if 'FROM "omni_idempotencyrecord" WHERE id' in query["sql"]
    ]
    assert len(claim_locks) == 2  # the whole transaction ran again, not identify alone
    assert savepoints(queries) == []
    assert list(Customer.objects.values_list("pk", flat=True)) == [anna.pk]
    assert Order.objects.get().customer_id == anna.pk
