"""A large stock count file is applied by a background job, followed on its progress page."""

import io

import pytest
from celery import current_app
from django.contrib.auth.models import User

from inventory.models import StockMovement
from omni.models import Job, JobStatus
from tests.inventory.conftest import level_of, stock

GOOD = "location,sku,on_hand,reason\nMI-DUOMO,SHIRT-RED-M,7,spring count\nWH-BO,SHIRT-RED-M,40,\n"


@pytest.fixture
def staff(client, transactional_db):
    client.force_login(User.objects.create_superuser("capo", "capo@example.it", "pw-Secret-1"))
    return client


@pytest.mark.django_db(transaction=True)
def test_a_count_file_longer_than_the_request_limit_is_applied_by_a_job(
    staff, store, warehouse, shirt, settings, monkeypatch
):
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)  # the demo's Celery
    settings.IMPORT_IN_REQUEST_ROWS = 1
    stock(store, shirt, 2)
    file = io.BytesIO(GOOD.encode())
    file.name = "count.csv"
    preview = staff.post("/admin/inventory/stocklevel/import/", {"format": 0, "import_file": file, "resource": 0})
    assert level_of(store, shirt).on_hand == 2
    response = staff.post("/admin/inventory/stocklevel/process_import/", preview.context["confirm_form"].initial)
    job = Job.objects.get()
    assert response["Location"] == f"/admin/omni/job/{job.pk}/progress/"
    assert (job.status, job.done, job.total, job.result) == (JobStatus.DONE, 2, 2, {"rows": 2, "changed": 2})
    assert (level_of(store, shirt).on_hand, level_of(warehouse, shirt).on_hand) == (7, 40)
    assert StockMovement.objects.filter(user__username="capo").count() == 2
    # The outcome is written in the language of whoever started the job (Italian, the default).
    page = staff.get(response["Location"], HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "2 righe contate, 2 cambiate." in page and "/admin/inventory/stocklevel/" in page
