"""Order numbers come from a counter of the database: many a day, none retried, none taken twice."""

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from loyalty.pricing import LineIn
from omni.catalog.models import Channel
from omni.errors import DuplicateOrder
from omni.orders import notices, services
from omni.orders.models import Order
from tests.orders.conftest import stock

NUMBER = re.compile(r"^OM(\d{6})-(\d{6,})$")


def sell(network, external_id: str | None = None):
    return services.record_order(
        channel=Channel.objects.get(code="store"),
        location=network["milano"],
        external_id=external_id,
        lines=[LineIn("CAM-ROSSA-M", 1)],
        payments=[services.PaymentIn(tender="card", amount=Decimal("39.90"))],
    )


@pytest.mark.django_db
def test_a_busy_day_of_orders_never_repeats_a_number_and_never_retries(network):
    # Six random hex digits a day met a taken number within about 5,000 orders; 50,000 is a very busy day.
    numbers = services.order_numbers(50_000)
    assert len(set(numbers)) == 50_000
    today = f"{timezone.localdate():%y%m%d}"
    assert all(NUMBER.match(number).group(1) == today for number in numbers)

    stock(network["milano"], network["shirt"], 100)
    with CaptureQueriesContext(connection) as queries:
        orders = [sell(network, f"R-{index}") for index in range(40)]
    assert len({order.number for order in orders}) == 40
    assert not set(numbers) & {order.number for order in orders}
    # One savepoint per order (the test's transaction around record_order's own), no retry of the INSERT.
    savepoints = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("SAVEPOINT")]
    assert len(savepoints) == 40


@pytest.mark.django_db
def test_the_number_reads_as_the_prefix_the_day_and_a_counter(network):
    stock(network["milano"], network["shirt"], 2)
    first, second = sell(network), sell(network)
    a, b = NUMBER.match(first.number), NUMBER.match(second.number)
    assert a and b and a.group(1) == f"{timezone.localdate():%y%m%d}"
    assert int(b.group(2)) == int(a.group(2)) + 1
    assert len(first.number) == len("OM261203-000001")  # short enough to read off a receipt and type


def test_a_receipt_committed_by_another_request_meanwhile_is_refused_as_a_duplicate(postgres, network):
    """The second sale passes the external-id check before the first commits, then meets the unique constraint:
    it is rolled back and answered DuplicateOrder with the first one's number, as before the counter."""
    stock(network["milano"], network["shirt"], 10)
    first_inside, release = threading.Event(), threading.Event()
    outcome: dict[str, object] = {}
    send_receipt = notices.send_receipt

    def held_receipt(order, **options):
        if order.external_id == "R-RACE" and "first" not in outcome:
            outcome["first"] = order.number
            first_inside.set()
            assert release.wait(60)
        send_receipt(order, **options)

    def first():
        try:
            sell(network, "R-RACE")
        except BaseException as error:  # shown by the assertion below
            outcome["first_error"] = error
        finally:
            connection.close()

    def second():
        try:
            sell(network, "R-RACE")
            outcome["second"] = "recorded"
        except DuplicateOrder as error:
            outcome["second"] = error
        except BaseException as error:
            outcome["second"] = error
        finally:
            connection.close()

    notices.send_receipt = held_receipt
    try:
        one = threading.Thread(target=first)
        one.start()
        assert first_inside.wait(60)
        two = threading.Thread(target=second)
        two.start()
        # The second sale waits on the first's uncommitted row of the same external id.
        with connection.cursor() as cursor:
            for _ in range(6000):
                cursor.execute(
                    "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = %s",
                    [connection.settings_dict["NAME"]],
                )
                if cursor.fetchone()[0]:
                    break
                threading.Event().wait(0.01)
        release.set()
        one.join(60)
        two.join(60)
    finally:
        notices.send_receipt = send_receipt
    assert "first_error" not in outcome, outcome
    assert isinstance(outcome["second"], DuplicateOrder), outcome
    assert outcome["second"].extra == {"number": outcome["first"]}
    assert Order.objects.filter(external_id="R-RACE").count() == 1
