"""Moving in: customers, identifiers, consents, cards and opening balances brought in from another system."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db.models import Sum
from django.utils import timezone

from customers import moving_in, services
from customers.models import ConsentChange, Customer, CustomerMerge, Identifier, ImportedCustomer
from customers.selectors import current_consents, personal_data
from loyalty import services as loyalty
from loyalty.models import Card, EntryKind, LedgerEntry, LoyaltyAccount, PointsLot
from omni.errors import Invalid

pytestmark = pytest.mark.django_db

HEADER = moving_in.columns()
NEXT_YEAR = (timezone.localdate() + timedelta(days=365)).isoformat()


def row(**values) -> dict:
    base = {
        "external_id": "C-1",
        "first_name": "Anna",
        "last_name": "Rossi",
        "email": "anna@example.com",
        "email_verified": "yes",
        "phone": "333 123 4567",
        "phone_verified": "no",
        "card": "CRM-0001",
        "points": "1200",
        "points_expire_on": NEXT_YEAR,
        "consent_marketing_email": "yes",
        "consent_marketing_email_at": "2024-05-01",
        "consent_marketing_email_channel": "store",
    }
    base.update(values)
    return base


def table(*rows: dict) -> list:
    return moving_in.rows_from_table(HEADER, [[r.get(name, "") for name in HEADER] for r in rows])


def imported(*rows: dict, **kwargs) -> moving_in.ImportReport:
    return moving_in.import_customers(table(*rows), **kwargs)


def test_a_new_customer_arrives_with_identifiers_consent_card_and_opening_balance():
    report = imported(row())
    assert [r.status for r in report.rows] == ["new"]
    customer = Customer.objects.get(imported_as__external_id="C-1")
    assert (customer.first_name, customer.email, customer.phone) == ("Anna", "anna@example.com", "+393331234567")
    held = set(Identifier.objects.filter(customer=customer).values_list("kind", "value", "is_verified"))
    assert held == {
        ("email", "anna@example.com", True),
        ("phone", "+393331234567", False),
        ("card", "CRM-0001", True),
    }
    consent = current_consents([customer.pk])[customer.pk]["marketing_email"]
    assert consent.is_granted and consent.channel == "store" and consent.changed_at.date().isoformat() == "2024-05-01"
    account = LoyaltyAccount.objects.get(customer=customer)
    assert account.balance == 1200
    assert Card.objects.get(number="CRM-0001").account == account
    entry = LedgerEntry.objects.get(account=account)
    assert (entry.kind, entry.points, entry.reference) == (EntryKind.OPENING, 1200, "C-1")
    lot = PointsLot.objects.get(account=account)
    assert timezone.localtime(lot.expires_at).date().isoformat() == NEXT_YEAR
    assert lot.remaining == 1200


def test_the_opening_entry_is_in_the_timeline_and_the_personal_data_export():
    imported(row())
    customer = Customer.objects.get(imported_as__external_id="C-1")
    from customers.selectors import timeline_entries

    kinds = [entry.kind for entry in timeline_entries(customer, offset=0, limit=20)]
    assert "points_opening" in kinds
    export = personal_data(customer)
    assert [move["kind"] for move in export["loyalty"]["movements"]] == ["opening"]
    assert export["imported_as"][0]["external_id"] == "C-1"


def test_the_same_file_twice_changes_nothing():
    rows = [row(), row(external_id="C-2", email="bruno@example.com", phone="", card="CRM-0002", points="5")]
    imported(*rows)
    counts = (
        Customer.objects.count(),
        Identifier.objects.count(),
        LedgerEntry.objects.count(),
        ConsentChange.objects.count(),
    )
    report = imported(*rows)
    assert [r.status for r in report.rows] == ["unchanged", "unchanged"]
    assert (
        Customer.objects.count(),
        Identifier.objects.count(),
        LedgerEntry.objects.count(),
        ConsentChange.objects.count(),
    ) == counts


def test_a_corrected_file_updates_what_changed_and_corrects_the_balance_with_a_second_opening_entry():
    imported(row())
    report = imported(row(first_name="Annamaria", points="1500", web_account="anna-web"))
    assert [r.status for r in report.rows] == ["updated"]
    customer = Customer.objects.get(imported_as__external_id="C-1")
    assert customer.first_name == "Annamaria"
    assert Identifier.objects.filter(customer=customer, kind="web_account", value="anna-web").exists()
    account = LoyaltyAccount.objects.get(customer=customer)
    assert account.balance == 1500
    openings = LedgerEntry.objects.filter(account=account, kind=EntryKind.OPENING)
    assert sorted(openings.values_list("points", flat=True)) == [300, 1200]
    imported(row(first_name="Annamaria", points="1000", web_account="anna-web"))
    account.refresh_from_db()
    assert account.balance == 1000
    assert loyalty.recompute_balances() == []


def test_a_changed_balance_after_points_moved_in_omni_is_an_error_row_and_nothing_is_written():
    imported(row())
    account = LoyaltyAccount.objects.get(customer__imported_as__external_id="C-1")
    loyalty.redeem(account=account, points=200)
    with pytest.raises(moving_in.ImportRejected) as rejected:
        imported(row(points="1500", first_name="Changed"))
    [bad] = rejected.value.report.error_rows
    assert "points" in bad.errors
    assert Customer.objects.get(imported_as__external_id="C-1").first_name == "Anna"


def test_every_bad_row_gets_its_reason_and_nothing_is_imported():
    other = services.identify(identifiers=[{"kind": "email", "value": "someone@example.com"}]).customer
    loyalty.add_card(account=loyalty.open_account(customer=other), number="TAKEN-1")
    rows = [
        row(external_id="B-1", email="not-an-email", card=""),
        row(external_id="B-2", email="b2@example.com", phone="call me", card=""),
        row(external_id="B-3", email="b3@example.com", phone="", card="TAKEN-1"),
        row(external_id="B-4", email="b4@example.com", phone="", card="", points="-5"),
        row(external_id="B-5", email="b5@example.com", phone="", card="", tier="platinum"),
        row(external_id="B-6", email="b6@example.com", phone="", card="", consent_marketing_email_at=""),
        row(external_id="OK-1", email="fine@example.com", phone="", card="FINE-1", tier="gold"),
    ]
    before = Customer.objects.count()
    with pytest.raises(moving_in.ImportRejected) as rejected:
        imported(*rows)
    errors = {r.external_id: set(r.errors) for r in rejected.value.report.error_rows}
    assert errors == {
        "B-1": {"email"},
        "B-2": {"phone"},
        "B-3": {"card"},
        "B-4": {"points"},
        "B-5": {"tier"},
        "B-6": {"consent_marketing_email_at"},
    }
    assert Customer.objects.count() == before


def test_with_partial_the_good_rows_are_imported_and_the_bad_ones_reported():
    report = imported(
        row(external_id="B-4", email="b4@example.com", phone="", card="", points="-5"),
        row(external_id="OK-1", email="fine@example.com", phone="", card="FINE-1", tier="gold"),
        partial=True,
    )
    assert [(r.external_id, r.status) for r in report.rows] == [("B-4", "error"), ("OK-1", "new")]
    account = LoyaltyAccount.objects.get(customer__imported_as__external_id="OK-1")
    assert account.tier.code == "gold"
    assert not ImportedCustomer.objects.filter(external_id="B-4").exists()
    loyalty.recompute_tiers()  # the imported tier holds: its threshold counts as spent today
    account.refresh_from_db()
    assert account.tier.code == "gold"


def test_verified_identifiers_of_two_customers_in_omni_merge_them_and_the_preview_says_so():
    first = services.identify(identifiers=[{"kind": "email", "value": "anna@example.com"}]).customer
    second = services.identify(identifiers=[{"kind": "phone", "value": "3331234567"}]).customer
    merging = row(phone_verified="yes")
    preview = imported(merging, dry_run=True)
    [outcome] = preview.rows
    assert outcome.status == "merge"
    assert outcome.merges == [f"#{first.pk}", f"#{second.pk}"]
    assert Customer.objects.filter(merged_into__isnull=False).count() == 0  # a preview writes nothing
    imported(merging)
    second.refresh_from_db()
    assert second.merged_into_id == first.pk
    assert ImportedCustomer.objects.get(external_id="C-1").customer_id == first.pk
    assert LoyaltyAccount.objects.get(customer=first).balance == 1200


def test_an_unverified_identifier_held_by_someone_else_is_not_moved_and_does_not_merge():
    holder = services.identify(identifiers=[{"kind": "phone", "value": "3331234567"}]).customer
    report = imported(row())  # the phone is given unverified
    [outcome] = report.rows
    assert outcome.status == "new" and outcome.notes
    assert Identifier.objects.get(kind="phone").customer_id == holder.pk
    assert CustomerMerge.objects.count() == 0


def test_two_rows_of_the_file_with_the_same_verified_email_become_one_customer():
    report = imported(
        row(external_id="A", card="CARD-A", points="10", phone=""),
        row(external_id="B", card="CARD-B", points="20", phone=""),
    )
    assert [r.status for r in report.rows] == ["new", "merge"]
    assert [m.split()[-1] for m in report.rows[1].merges] == ["2"]  # "line 2", in the language of the request
    assert ImportedCustomer.objects.values("customer").distinct().count() == 1
    account = LoyaltyAccount.objects.get()
    assert account.balance == 30
    assert set(account.cards.values_list("number", flat=True)) == {"CARD-A", "CARD-B"}


def test_a_row_known_by_its_old_id_merges_with_the_customer_its_new_verified_email_names():
    imported(row(email="", phone="", card="", points=""))
    other = services.identify(identifiers=[{"kind": "email", "value": "anna@example.com"}]).customer
    [outcome] = imported(row(phone="", card="", points="")).rows
    assert outcome.status == "merge"
    keyed = ImportedCustomer.objects.get(external_id="C-1").customer
    other.refresh_from_db()
    assert keyed.merged_into_id is None
    assert other.merged_into_id == keyed.pk  # the older of the two survives


def test_an_erased_customer_is_not_imported_again():
    imported(row())
    customer = Customer.objects.get(imported_as__external_id="C-1")
    services.erase_customer(customer=customer)
    with pytest.raises(moving_in.ImportRejected):
        imported(row(first_name="Again"))


def test_a_file_without_the_external_id_column_is_refused():
    with pytest.raises(Invalid):
        moving_in.rows_from_table(["email"], [["a@example.com"]])


@pytest.mark.postgres_only("COPY writes the rows; the ledger's sums are checked on the real database")
def test_after_an_import_the_ledger_explains_every_balance_and_the_openings_add_up_to_the_file(postgres):
    rows = [
        row(
            external_id=f"P-{n}",
            email=f"p{n}@example.com",
            phone="",
            card=f"PC-{n}",
            points=str(n * 7),
            points_expire_on=NEXT_YEAR if n % 2 else "",
        )
        for n in range(1, 301)
    ]
    imported(*rows)
    assert loyalty.recompute_balances() == []
    total = LedgerEntry.objects.filter(kind=EntryKind.OPENING).aggregate(total=Sum("points"))["total"]
    assert total == sum(n * 7 for n in range(1, 301))
    assert LedgerEntry.objects.filter(kind=EntryKind.OPENING).count() == LoyaltyAccount.objects.count() == 300
    assert PointsLot.objects.aggregate(left=Sum("remaining"))["left"] == total


def test_a_consent_the_customer_changed_in_omni_after_the_files_date_is_kept():
    imported(row())
    customer = Customer.objects.get(imported_as__external_id="C-1")
    services.set_consents(customer=customer, choices={"marketing_email": False}, channel="web")
    changes = ConsentChange.objects.filter(customer=customer).count()
    imported(row(first_name="Anna Maria", consent_marketing_email_at="2024-06-01"))  # still "yes", but older
    assert current_consents([customer.pk])[customer.pk]["marketing_email"].is_granted is False
    assert ConsentChange.objects.filter(customer=customer).count() == changes  # the older "yes" records nothing
