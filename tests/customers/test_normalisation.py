"""Identifiers are stored in one normal form, so the same person matches however they typed it."""

import pytest

from customers.normalise import candidate_values, normalise_identifier
from omni.errors import Invalid


@pytest.mark.parametrize(
    ("kind", "typed", "stored"),
    [
        ("email", "  Giulia.Rossi@Example.IT ", "giulia.rossi@example.it"),
        ("phone", "333 123 4567", "+393331234567"),
        ("phone", "+39 333 1234567", "+393331234567"),
        ("phone", "0039 02 1234 5678", "+390212345678"),
        ("phone", "+44 20 7946 0958", "+442079460958"),
        ("card", "  0420000000017 ", "0420000000017"),
        ("device", " dev-abc ", "dev-abc"),
        ("web_account", "user-42", "user-42"),
    ],
)
def test_identifiers_are_stored_in_their_normal_form(kind, typed, stored):
    assert normalise_identifier(kind, typed) == stored


@pytest.mark.parametrize(
    ("kind", "typed"),
    [
        ("email", ""),
        ("email", "not-an-email"),
        ("email", "two@@example.it"),
        ("phone", ""),
        ("phone", "abc"),
        ("phone", "12"),
        ("card", "   "),
        ("card", "x" * 201),
    ],
)
def test_malformed_values_are_refused_naming_the_field(kind, typed):
    with pytest.raises(Invalid) as refused:
        normalise_identifier(kind, typed, field="identifiers.0.value")
    assert list(refused.value.errors) == ["identifiers.0.value"]


def test_an_unknown_kind_is_refused_naming_the_kind_field():
    with pytest.raises(Invalid) as refused:
        normalise_identifier("fax", "123", kind_field="identifiers.3.kind")
    assert list(refused.value.errors) == ["identifiers.3.kind"]


def test_a_typed_search_text_yields_the_phone_in_e164_among_its_candidates():
    assert "+393331234567" in candidate_values("333 123 4567")
    assert "giulia@example.it" in candidate_values("Giulia@Example.it")


@pytest.mark.django_db
def test_a_phone_typed_in_groups_finds_its_customer_and_no_name_holding_those_digits():
    from customers.models import Customer
    from customers.selectors import search_filter
    from tests.factories import CustomerFactory

    anna = CustomerFactory(first_name="Anna", last_name="Verdi", phone="+393331234567")
    CustomerFactory(first_name="Bruno", last_name="Rossi1234")  # digits in a name: imported data, or a factory's
    found = Customer.objects.filter(search_filter("333 123 4567")).distinct()
    assert list(found) == [anna]
    assert list(Customer.objects.filter(search_filter("Verdi")).distinct()) == [anna]
