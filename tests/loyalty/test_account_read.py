"""open_account: the account read in one plain statement, with its tier, exactly as the ORM reads it."""

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from loyalty import services
from loyalty.models import LoyaltyAccount, Tier
from tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


def fields(account: LoyaltyAccount) -> dict:
    return {field.attname: getattr(account, field.attname) for field in LoyaltyAccount._meta.concrete_fields}


def test_a_known_account_comes_back_with_its_tier_in_one_statement():
    black = Tier.objects.create(code="black", name="Black", min_spend=Decimal("500"), earn_multiplier=Decimal("1.50"))
    opened = services.open_account(customer=CustomerFactory())
    LoyaltyAccount.objects.filter(pk=opened.pk).update(
        tier=black, balance=120, debt=3, lifetime_points=400, rolling_spend=Decimal("612.40")
    )

    with CaptureQueriesContext(connection) as queries:
        account = services.open_account(customer=opened.customer)
        tier = account.tier  # read with the account: no second query

    assert len(queries.captured_queries) == 1
    assert fields(account) == fields(LoyaltyAccount.objects.get(pk=opened.pk))
    assert (tier.pk, tier.code, tier.earn_multiplier) == (black.pk, "black", Decimal("1.50"))
    assert account._state.adding is False and account._state.db == "default"


def test_an_account_without_a_tier_has_none_and_a_new_one_is_written_once():
    customer = CustomerFactory()
    with CaptureQueriesContext(connection) as queries:
        opened = services.open_account(customer=customer)
    assert [q["sql"].split()[0] for q in queries.captured_queries] == ["SELECT", "INSERT"]
    assert opened.tier is None

    again = services.open_account(customer=customer)
    assert again.pk == opened.pk and again.tier is None
    assert fields(again) == fields(LoyaltyAccount.objects.get(pk=opened.pk))
    assert LoyaltyAccount.objects.filter(customer=customer).count() == 1
