"""Whatever sequence of identify calls comes, each identifier has one live owner and no order is lost."""

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from customers import services
from customers.models import Customer, Identifier
from customers.normalise import normalise_identifier
from omni.orders.models import Order
from tests.factories import OrderFactory

POOL = [
    ("email", "anna@example.it"),
    ("email", "ANNA@example.it "),
    ("email", "bruno@example.it"),
    ("phone", "333 123 4567"),
    ("phone", "+393331234567"),
    ("phone", "02 1234 5678"),
    ("card", "0420000000017"),
    ("card", "0420000000024"),
    ("device", "dev-1"),
    ("device", "dev-2"),
    ("web_account", "u-1"),
]

identifier = st.tuples(st.sampled_from(POOL), st.booleans())
call = st.tuples(st.lists(identifier, min_size=1, max_size=4), st.booleans())


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(calls=st.lists(call, min_size=1, max_size=8))
def test_identify_keeps_one_live_owner_per_identifier_and_every_order(calls):
    with transaction.atomic():  # each example starts from an empty table and leaves nothing behind
        check_sequence(calls)
        transaction.set_rollback(True)


def check_sequence(calls) -> None:
    orders = 0
    for identifiers, places_order in calls:
        result = services.identify(
            identifiers=[services.IdentifierIn(kind, value, verified) for (kind, value), verified in identifiers]
        )
        assert result.customer.merged_into_id is None
        if places_order:
            OrderFactory(customer=result.customer)
            orders += 1

    live = set(Customer.objects.filter(merged_into__isnull=True).values_list("pk", flat=True))
    owners = list(Identifier.objects.values_list("kind", "value", "customer_id"))
    given_values = {
        (kind, normalise_identifier(kind, value)) for identifiers, _ in calls for (kind, value), _ in identifiers
    }
    assert {(kind, value) for kind, value, _ in owners} == given_values
    assert len({(kind, value) for kind, value, _ in owners}) == len(owners)
    assert all(owner in live for _, _, owner in owners)
    assert Order.objects.count() == orders
    assert set(Order.objects.values_list("customer_id", flat=True)) <= live
