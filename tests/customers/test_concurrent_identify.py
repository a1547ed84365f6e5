"""Identify calls racing on the same identifiers end with one customer (PostgreSQL, real threads)."""

import threading

from django.db import connection

from customers import services
from customers.models import Customer, CustomerMerge, Identifier
from omni.catalog.models import Channel
from tests.factories import CustomerFactory, IdentifierFactory, OrderFactory

THREADS = 8


def race(work) -> list:
    start = threading.Barrier(THREADS)
    outcomes: list = []
    errors: list = []

    def run(index: int):
        try:
            start.wait(60)
            outcomes.append(work(index))
        except Exception as error:  # a failure in a thread must fail the test
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    return outcomes


def test_eight_identify_calls_with_the_same_new_email_make_one_customer(postgres):
    results = race(
        lambda index: services.identify(identifiers=[services.IdentifierIn("email", "Race@Example.it")]).customer.pk
    )
    assert len(set(results)) == 1
    assert Customer.objects.count() == 1
    assert Identifier.objects.get().value == "race@example.it"


def test_eight_calls_each_bringing_a_new_device_and_the_same_email_end_on_one_customer(postgres):
    results = race(
        lambda index: (
            services.identify(
                identifiers=[services.IdentifierIn("device", f"dev-{index}"), services.IdentifierIn("email", "a@b.it")]
            ).customer.pk
        )
    )
    live = Customer.objects.filter(merged_into__isnull=True)
    assert live.count() == 1
    assert set(results) == {live.get().pk}
    assert Identifier.objects.filter(customer=live.get()).count() == THREADS + 1


def test_racing_merges_of_the_same_customers_merge_each_once_and_lose_no_order(postgres):
    web, _ = Channel.objects.get_or_create(code="web", defaults={"name": "Web"})  # a flushed database has none
    customers = [CustomerFactory() for _ in range(3)]
    for n, customer in enumerate(customers):
        IdentifierFactory(customer=customer, kind="device", value=f"dev-{n}")
        OrderFactory(customer=customer, channel=web)
    devices = [services.IdentifierIn("device", f"dev-{n}") for n in range(3)]

    results = race(lambda index: services.identify(identifiers=devices[index % 3 :] + devices[: index % 3]).customer.pk)

    assert set(results) == {customers[0].pk}
    assert CustomerMerge.objects.count() == 2
    assert customers[0].orders.count() == 3
    assert Identifier.objects.filter(customer=customers[0], kind="device").count() == 3
