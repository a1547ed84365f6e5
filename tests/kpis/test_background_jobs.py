"""Long admin actions run in the background: a job row, a worker that moves it, a progress page."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from celery import current_app
from celery.result import AsyncResult
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, connections

from kpis.models import DailyFigures, RollupDay, SocialMetric
from omni import jobs
from omni.models import Job, JobStatus, OutboxMessage
from tests.kpis.conftest import at

FIRST_DAY = date(2025, 1, 1)


@pytest.fixture
def eager(monkeypatch):
    """Tasks run in the process after the commit, as in the demo."""
    monkeypatch.setitem(current_app.conf, "task_always_eager", True)


@pytest.fixture
def boss(client, transactional_db):
    client.force_login(User.objects.create_superuser("boss", "b@example.it", "pw-Secret-1"))
    return client


def hundred_days(history) -> list[int]:
    history.roll(FIRST_DAY, FIRST_DAY + timedelta(days=99))
    for n in range(0, 100, 10):
        history.order("web", "10.00", when=at(FIRST_DAY + timedelta(days=n)))
    return list(RollupDay.objects.order_by("day").values_list("pk", flat=True))


def recompute(boss, pks: list[int]):
    return boss.post("/admin/kpis/rollupday/", {"action": "recompute", "_selected_action": pks})


def wait_for(job_pk: int, check, seconds: float = 60) -> Job:
    """The job's row once `check(job)` holds; the worker is another process, so the row is polled."""
    deadline = time.monotonic() + seconds
    while True:
        job = Job.objects.get(pk=job_pk)
        if check(job) or time.monotonic() > deadline:
            return job
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_recompute_in_the_demo_runs_at_once_and_the_progress_page_shows_it_done(eager, boss, history):
    pks = hundred_days(history)
    response = recompute(boss, pks)
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/admin/omni/job/{job.pk}/progress/"
    assert (job.status, job.done, job.total, job.result["days"]) == (JobStatus.DONE, 100, 100, 100)
    assert DailyFigures.objects.filter(day__gte=FIRST_DAY).values("day").distinct().count() == 10
    page = boss.get(response["Location"], HTTP_ACCEPT_LANGUAGE="it").content.decode()
    assert "Fatto" in page and "100 di 100" in page and "/admin/kpis/rollupday/" in page
    status = boss.get(f"/admin/omni/job/{job.pk}/status/").json()
    assert status["finished"] and status["percent"] == 100


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_worker_recomputes_a_hundred_days_and_the_progress_moves(celery_workers, boss, history):
    pks = hundred_days(history)
    # Day 50 is held by another transaction: the worker waits for it, part way through the 100 days.
    holder = connections.create_connection("default")
    holder.set_autocommit(False)
    with holder.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {RollupDay._meta.db_table} WHERE day = %s FOR UPDATE", [FIRST_DAY + timedelta(days=49)]
        )
    try:
        response = recompute(boss, pks)
        assert response.status_code == 302
        job = Job.objects.get()
        assert job.status == JobStatus.QUEUED and job.done == 0
        celery_workers(["imports"])  # the queue CELERY_TASK_ROUTES gives long admin jobs
        half_way = wait_for(job.pk, lambda j: j.done >= 30)
        # It cannot finish while day 50 is held: it is seen running, part done, in steps of a run of days.
        assert half_way.status == JobStatus.RUNNING and 30 <= half_way.done < 100 and half_way.done % 10 == 0
        status = boss.get(f"/admin/omni/job/{job.pk}/status/").json()
        assert 30 <= status["done"] < 100 and status["total"] == 100 and not status["finished"]
        page = boss.get(f"/admin/omni/job/{job.pk}/progress/", HTTP_ACCEPT_LANGUAGE="it").content.decode()
        assert "In corso" in page and "si aggiorna da sola" in page
    finally:
        holder.rollback()
        holder.close()
    sent = OutboxMessage.objects.get(task="kpis.recompute_days")
    assert AsyncResult(sent.task_id, app=current_app).get(timeout=60) == JobStatus.DONE
    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.error) == (JobStatus.DONE, 100, 100, "")
    assert job.started_at and job.finished_at
    assert DailyFigures.objects.filter(day__gte=FIRST_DAY).values("day").distinct().count() == 10


@pytest.mark.celery_worker
@pytest.mark.django_db(transaction=True)
def test_a_failing_job_shows_its_error_on_the_progress_page(celery_workers, boss):
    job = jobs.start(
        kind="kpis.recompute",
        title="Recompute",
        task="kpis.recompute_days",
        total=2,
        params={"days": ["2025-03-10", "2025-02-30"]},
    )
    Job.objects.filter(pk=job.pk).update(user=User.objects.get(username="boss"))
    celery_workers(["imports"])
    sent = OutboxMessage.objects.get(task="kpis.recompute_days")
    assert AsyncResult(sent.task_id, app=current_app).get(timeout=60) == JobStatus.FAILED
    job.refresh_from_db()
    assert job.status == JobStatus.FAILED and job.done == 0 and "day is out of range" in job.error
    page = boss.get(f"/admin/omni/job/{job.pk}/progress/").content.decode()
    assert "errornote" in page and "day is out of range" in page


@pytest.mark.django_db(transaction=True)
def test_a_job_received_twice_runs_once(eager, boss, history):
    history.roll(FIRST_DAY, FIRST_DAY)
    recompute(boss, list(RollupDay.objects.values_list("pk", flat=True)))
    job = Job.objects.get()
    assert job.status == JobStatus.DONE
    from kpis.tasks import recompute_days

    assert recompute_days(job.pk) == "nothing to do"


@pytest.mark.django_db(transaction=True)
def test_staff_see_only_their_own_jobs(eager, boss, history, client):
    history.roll(FIRST_DAY, FIRST_DAY)
    recompute(boss, list(RollupDay.objects.values_list("pk", flat=True)))
    job = Job.objects.get()
    clerk = User.objects.create_user("clerk", password="pw-Secret-1", is_staff=True)
    client.force_login(clerk)
    assert client.get(f"/admin/omni/job/{job.pk}/progress/").status_code == 404
    assert client.get(f"/admin/omni/job/{job.pk}/status/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_a_large_social_figures_file_is_saved_by_a_job(eager, boss, settings):
    settings.IMPORT_IN_REQUEST_ROWS = 1
    data = b"date,network,likes\n2025-03-10,instagram,40\n2025-03-10,tiktok,5\n"
    preview = boss.post(
        "/admin/kpis/socialmetric/import/",
        {"resource": "0", "format": "0", "import_file": SimpleUploadedFile("social.csv", data, "text/csv")},
    )
    response = boss.post("/admin/kpis/socialmetric/process_import/", preview.context["confirm_form"].initial)
    job = Job.objects.get()
    assert response["Location"] == f"/admin/omni/job/{job.pk}/progress/"
    assert (job.status, job.total, job.result) == (JobStatus.DONE, 2, {"rows": 2})
    assert {(m.network, m.likes) for m in SocialMetric.objects.all()} == {("instagram", 40), ("tiktok", 5)}
    assert connection.vendor  # the job's file is kept on its row, read by any worker
    assert bytes(job.content).startswith(b"date,network")


def test_selected_days_are_rebuilt_in_runs_of_consecutive_days():
    from kpis.tasks import day_runs

    days = [date(2025, 1, d) for d in (1, 2, 3, 5, 6, 9)] + [date(2025, 2, 1) + timedelta(days=n) for n in range(12)]
    assert day_runs(days, most=10) == [
        (date(2025, 1, 1), date(2025, 1, 3)),
        (date(2025, 1, 5), date(2025, 1, 6)),
        (date(2025, 1, 9), date(2025, 1, 9)),
        (date(2025, 2, 1), date(2025, 2, 10)),
        (date(2025, 2, 11), date(2025, 2, 12)),
    ]
