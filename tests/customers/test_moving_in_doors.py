"""The customer import's doors: the admin's preview and import, the command, the API batch and its job."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from celery import current_app
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command

from customers import moving_in
from customers.models import Customer, ImportedCustomer
from loyalty.models import EntryKind, LedgerEntry, LoyaltyAccount
from omni.models import Job, JobStatus

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "customers.csv"


def csv_of(*rows: dict) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=moving_in.columns())
    writer.writeheader()
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode()


GOOD = {"external_id": "X-1", "first_name": "Carla", "email": "carla@example.com", "card": "XC-1", "points": "50"}
BAD = {"external_id": "X-2", "email": "not an e-mail", "points": "-3"}


@pytest.fixture
def eager(monkeypatch):
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)  # the demo's Celery


@pytest.fixture
def boss(client, transactional_db):
    client.force_login(User.objects.create_superuser("capo", "capo@example.it", "pw-Secret-1"))
    return client


def upload(client, content: bytes, name: str = "customers.csv"):
    file = io.BytesIO(content)
    file.name = name
    return client.post("/admin/customers/customer/import/", {"format": 0, "import_file": file, "resource": 0})


@pytest.mark.django_db(transaction=True)
def test_the_example_file_previews_in_the_admin_then_imports_on_confirm(boss, eager):
    preview = upload(boss, EXAMPLE.read_bytes())
    assert preview.status_code == 200
    result = preview.context["result"]
    assert not result.has_validation_errors() and not result.has_errors()
    assert Customer.objects.count() == 0  # a preview writes nothing
    kinds = [row.import_type for row in result.rows]
    assert kinds.count("new") >= 3 and "update" in kinds  # the example has a row that merges with an earlier one
    last = result.rows[-1].diff  # CRM-1005 has CRM-1001's verified e-mail: it merges with line 2
    assert last[1] == "CRM-1005" and last[5].endswith(" 2"), last
    response = boss.post("/admin/customers/customer/process_import/", preview.context["confirm_form"].initial)
    assert response.status_code == 302
    assert ImportedCustomer.objects.count() == len(result.rows)
    again = upload(boss, EXAMPLE.read_bytes()).context["result"]
    assert {row.import_type for row in again.rows} == {"skip"}  # unchanged


@pytest.mark.django_db(transaction=True)
def test_the_admin_lists_every_bad_row_with_its_reason_and_imports_nothing(boss):
    preview = upload(boss, csv_of(GOOD, BAD))
    result = preview.context["result"]
    assert result.has_validation_errors()
    [invalid] = result.invalid_rows
    assert invalid.number == 3 and {"email", "points"} <= set(invalid.error_dict)
    assert Customer.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_large_file_is_imported_by_a_job_with_progress(boss, eager, settings):
    settings.IMPORT_IN_REQUEST_ROWS = 1
    rows = [{**GOOD, "external_id": f"J-{n}", "email": f"j{n}@example.com", "card": f"JC-{n}"} for n in range(3)]
    preview = upload(boss, csv_of(*rows))
    response = boss.post("/admin/customers/customer/process_import/", preview.context["confirm_form"].initial)
    job = Job.objects.get()
    assert response["Location"] == f"/admin/omni/job/{job.pk}/progress/"
    assert (job.status, job.done, job.total) == (JobStatus.DONE, 3, 3)
    assert job.result["created"] == 3
    assert LoyaltyAccount.objects.filter(balance=50).count() == 3


def test_the_command_refuses_a_file_with_bad_rows_and_writes_the_rejects(tmp_path, db):
    source = tmp_path / "in.csv"
    source.write_bytes(csv_of(GOOD, BAD))
    rejects = tmp_path / "rejects.csv"
    with pytest.raises(CommandError):
        call_command("import_customers", str(source), "--rejects", str(rejects), stdout=io.StringIO())
    assert Customer.objects.count() == 0
    [line] = list(csv.DictReader(rejects.open()))
    assert line["external_id"] == "X-2" and "email" in line["error"] and "points" in line["error"]


def test_the_command_with_good_rows_only_imports_the_good_ones(tmp_path, db):
    source = tmp_path / "in.csv"
    source.write_bytes(csv_of(GOOD, BAD))
    rejects = tmp_path / "rejects.csv"
    out = io.StringIO()
    call_command("import_customers", str(source), "--good-rows-only", "--rejects", str(rejects), stdout=out)
    assert list(ImportedCustomer.objects.values_list("external_id", flat=True)) == ["X-1"]
    assert len(list(csv.DictReader(rejects.open()))) == 1
    assert "1 new" in out.getvalue()


def test_the_command_dry_run_writes_nothing(tmp_path, db):
    source = tmp_path / "in.csv"
    source.write_bytes(csv_of(GOOD))
    out = io.StringIO()
    call_command("import_customers", str(source), "--dry-run", stdout=out)
    assert "Dry run" in out.getvalue() and "1 new" in out.getvalue()
    assert Customer.objects.count() == 0


BATCH = {
    "rows": [
        {
            "external_id": "API-1",
            "profile": {"first_name": "Dario", "last_name": "Neri", "birth_date": "1980-02-03"},
            "identifiers": [{"kind": "email", "value": "dario@example.com", "verified": True}],
            "consents": [{"kind": "marketing_sms", "granted": True, "at": "2025-01-10", "channel": "web"}],
            "loyalty": {"card": "API-C1", "points": 300, "tier": "silver", "points_expire_on": "2099-12-31"},
        }
    ]
}


@pytest.mark.django_db(transaction=True)
def test_the_api_answers_202_with_a_job_whose_status_gives_the_figures(make_api_client, eager):
    api = make_api_client(scopes=["customers"])
    response = api.post("/api/v1/customers/import/", BATCH, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    status = api.get(body["status_url"]).json()
    assert status["status"] == "done"
    assert (status["rows"], status["created"], status["errors"]) == (1, 1, [])
    account = LoyaltyAccount.objects.get(customer__imported_as__external_id="API-1")
    assert (account.balance, account.tier.code) == (300, "silver")
    assert LedgerEntry.objects.get(account=account).kind == EntryKind.OPENING
    again = api.get(api.post("/api/v1/customers/import/", BATCH, format="json").json()["status_url"]).json()
    assert (again["unchanged"], again["created"]) == (1, 0)


@pytest.mark.django_db(transaction=True)
def test_an_api_batch_with_a_bad_row_imports_nothing_and_lists_it(make_api_client, eager):
    api = make_api_client(scopes=["customers"])
    bad = {"external_id": "API-2", "identifiers": [{"kind": "phone", "value": "abc"}], "loyalty": {"tier": "x"}}
    body = api.post("/api/v1/customers/import/", {"rows": [BATCH["rows"][0], bad]}, format="json").json()
    status = api.get(body["status_url"]).json()
    assert status["status"] == "failed"
    assert {(e["row"], e["field"]) for e in status["errors"]} == {(1, "identifiers.0.value"), (1, "loyalty.tier")}
    assert Customer.objects.count() == 0
    partial = api.post("/api/v1/customers/import/", {"rows": BATCH["rows"] + [bad], "partial": True}, format="json")
    status = api.get(partial.json()["status_url"]).json()
    assert (status["status"], status["created"], len(status["errors"])) == ("done", 1, 2)


@pytest.mark.django_db(transaction=True)
def test_a_job_is_seen_only_by_the_client_that_started_it(make_api_client, eager):
    mine = make_api_client(scopes=["customers"])
    other = make_api_client(scopes=["customers"])
    url = mine.post("/api/v1/customers/import/", BATCH, format="json").json()["status_url"]
    answer = other.get(url)
    assert answer.status_code == 404 and answer.json()["code"] == "not_found"


def test_a_batch_that_is_not_a_list_of_rows_is_400_and_starts_no_job(make_api_client):
    api = make_api_client(scopes=["customers"])
    response = api.post("/api/v1/customers/import/", {"rows": "nope"}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert Job.objects.count() == 0
