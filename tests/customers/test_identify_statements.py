"""What identify costs the database, and the races its one locking statement must still lose cleanly.

The identifiers and their holders are read, and the holders locked, in one
statement; directly inside the transaction of an outermost retry_on_conflict
(a sale) identify opens no savepoint, and a race it loses runs the whole
transaction again.
"""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from customers import services
from customers.models import Customer, Identifier
from omni.concurrency import retry_on_conflict
from tests.factories import CustomerFactory, IdentifierFactory
from tests.locks import behind_a_held_change

EMAIL = [services.IdentifierIn("email", "anna@example.it")]


def anna() -> Customer:
    """A returning customer: her e-mail is her identifier and her profile's."""
    return IdentifierFactory(value="anna@example.it", customer=CustomerFactory(email="anna@example.it")).customer


def statements(fn) -> list[str]:
    with CaptureQueriesContext(connection) as queries:
        fn()
    return [query["sql"] for query in queries.captured_queries]


def in_a_sale(work):
    """`work` run as record_order runs its steps: in the transaction of an outermost retry_on_conflict."""

    @retry_on_conflict
    @transaction.atomic
    def sale():
        return work()

    return sale()


def identify_in_a_sale() -> tuple[services.IdentifyResult, list[str]]:
    """identify(EMAIL) in a sale, and the statements it sent there (the sale's BEGIN and COMMIT aside)."""
    sent: list[str] = []

    def work():
        with CaptureQueriesContext(connection) as queries:
            found = services.identify(identifiers=EMAIL)
        sent.extend(query["sql"] for query in queries.captured_queries)
        return found

    return in_a_sale(work), sent


@pytest.mark.django_db(transaction=True)
def test_a_returning_customer_in_a_sale_is_one_statement_that_reads_and_locks():
    customer = anna()

    found, sent = identify_in_a_sale()

    assert found.customer.pk == customer.pk and not found.created
    assert len(sent) == 1, sent  # no SAVEPOINT, no second read
    if connection.vendor == "postgresql":
        assert "FOR NO KEY UPDATE" in sent[0]


@pytest.mark.django_db(transaction=True)
def test_a_new_customer_in_a_sale_is_a_read_and_two_inserts_with_the_profile_written_once():
    found, sent = identify_in_a_sale()

    assert found.created and Customer.objects.get().email == "anna@example.it"
    assert [sql.split()[0] for sql in sent] == ["SELECT", "INSERT", "INSERT"], sent


@pytest.mark.django_db
def test_outside_a_sale_identify_keeps_its_savepoint_around_the_one_statement():
    anna()

    sent = statements(lambda: services.identify(identifiers=EMAIL))

    assert len(sent) == 3, sent  # SAVEPOINT, the read that locks, RELEASE


def lose_the_first_race(monkeypatch):
    """The first read misses the stored identifier, as when a concurrent call inserted it a moment later."""
    held = services._held
    calls = []

    def late(cleaned, **options):
        calls.append(1)
        return ({}, {}, {}) if len(calls) == 1 else held(cleaned, **options)

    monkeypatch.setattr(services, "_held", late)
    return calls


@pytest.mark.django_db(transaction=True)
def test_a_race_lost_in_a_sale_runs_the_whole_sale_again_and_keeps_nothing_of_the_lost_attempt(monkeypatch):
    customer = anna()
    lose_the_first_race(monkeypatch)
    attempts = []

    def work():
        attempts.append(1)
        return services.identify(identifiers=EMAIL)

    found = in_a_sale(work)

    assert len(attempts) == 2  # the sale ran again, not identify alone
    assert found.customer.pk == customer.pk and not found.created
    assert list(Customer.objects.values_list("pk", flat=True)) == [customer.pk]  # the lost attempt's customer is gone


@pytest.mark.django_db
def test_a_race_lost_outside_a_sale_is_taken_again_under_identify_s_savepoint(monkeypatch):
    customer = anna()
    calls = lose_the_first_race(monkeypatch)

    found = services.identify(identifiers=EMAIL)

    assert len(calls) == 2
    assert found.customer.pk == customer.pk and not found.created
    assert Customer.objects.count() == 1


@pytest.mark.django_db
def test_the_one_statement_decides_the_rare_cases_as_before():
    older, younger = CustomerFactory(email=""), CustomerFactory(email="")
    IdentifierFactory(customer=older, kind="device", value="dev-1")
    IdentifierFactory(customer=younger, value="anna@example.it")
    typed = IdentifierFactory(customer=CustomerFactory(), kind="phone", value="+393331234567", is_verified=False)

    merged = services.identify(identifiers=[*EMAIL, services.IdentifierIn("device", "dev-1")])
    assert (merged.customer.pk, merged.merged_from) == (older.pk, [younger.pk])

    claimed = services.identify(identifiers=[services.IdentifierIn("phone", "+393331234567")])
    assert claimed.customer.pk == typed.customer_id  # a verified claim adopts the typed holder
    assert Identifier.objects.get(pk=typed.pk).is_verified

    conflict = services.identify(
        identifiers=[*EMAIL, services.IdentifierIn("email", "someone@example.it", verified=False)]
    )
    assert conflict.customer.pk == older.pk and conflict.unverified_conflicts == []
    other = IdentifierFactory(value="other@example.it")
    conflict = services.identify(
        identifiers=[*EMAIL, services.IdentifierIn("email", "other@example.it", verified=False)]
    )
    assert conflict.customer.pk == older.pk
    assert [item.value for item in conflict.unverified_conflicts] == ["other@example.it"]
    assert Identifier.objects.get(value="other@example.it").customer_id == other.customer_id


@pytest.mark.parametrize("change", ["erase", "merge"])
@pytest.mark.parametrize("where", ["sale", "alone"])
def test_a_holder_erased_or_merged_while_identify_waits_for_its_lock_is_seen_as_it_is_now(postgres, change, where):
    held = anna()
    survivor = CustomerFactory()

    def change_it():
        if change == "erase":
            services.erase_customer(customer=held)
        else:
            services.merge_customers(survivor=survivor, merged=held)

    def identify():
        work = lambda: services.identify(identifiers=EMAIL)  # noqa: E731
        return in_a_sale(work) if where == "sale" else work()

    found = [behind_a_held_change(change_it, identify, "the identify call")]
    if change == "erase":  # the erased customer holds nothing any more: a new customer
        assert found[0].created and found[0].customer.pk not in (held.pk, survivor.pk)
    else:  # the e-mail moved with the merge: the survivor
        assert found[0].customer.pk == survivor.pk and not found[0].created
