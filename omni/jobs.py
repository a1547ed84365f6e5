"""Long admin actions in the background: a `Job` row, a Celery task, a progress page.

The admin calls `start(...)`, which writes the job and sends its task
through the outbox in one transaction: nothing runs unless the job row
committed, and a broker that is down only delays the job (the relay sends
it later). The task calls `run(job_id, work)`; `work(job, progress)` does
the job and calls `progress(done)` as it goes. Each progress update is its
own committed UPDATE, so the progress page (which polls `status_of`) sees
the figures move; the job's own writes commit in the steps the service
chooses. An exception in `work` marks the job failed with its message and
is not raised again: a failed job is an outcome to show, not a task to
retry. With eager Celery (the demo) the job runs after the request's
commit, in the request, and the page shows it done.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext

from omni import outbox
from omni.errors import DomainError
from omni.models import Job, JobStatus

logger = logging.getLogger(__name__)

Progress = Callable[..., None]  # progress(done) or progress(done, total)


def rows_in_request() -> int:
    """Import files up to this many rows are applied in the request; longer ones become a job."""
    return int(getattr(settings, "IMPORT_IN_REQUEST_ROWS", 2000))


def start(
    *,
    kind: str,
    title: str,
    task: str,
    total: int = 0,
    params: dict[str, Any] | None = None,
    content: bytes | None = None,
    user: Any = None,
    result_url: str = "",
) -> Job:
    """Record a job and send `task(job_id=...)` after the commit. Returns the queued job."""
    with transaction.atomic():
        job = Job.objects.create(
            kind=kind,
            title=title[:200],
            task=task,
            total=total,
            # The worker writes the job's sentences in the language of whoever started it.
            params={"language": translation.get_language(), **(params or {})},
            content=content,
            result_url=result_url,
            user=user if getattr(user, "pk", None) else None,
        )
        outbox.enqueue(task, job_id=job.pk)
    return job


def run(job_id: int, work: Callable[[Job, Progress], tuple[dict[str, Any], str]]) -> str:
    """Run `work(job, progress)` for a queued job and record its result or error; returns the status.

    `work` returns (result, message): a small JSON-able result and a sentence
    for the page. Safe to receive twice: a finished job is left alone.
    """
    claimed = Job.objects.filter(pk=job_id, status__in=[JobStatus.QUEUED, JobStatus.RUNNING]).update(
        status=JobStatus.RUNNING, started_at=timezone.now(), done=0
    )
    if not claimed:
        return "nothing to do"
    job = Job.objects.get(pk=job_id)

    def progress(done: int, total: int | None = None) -> None:
        changes: dict[str, Any] = {"done": done}
        if total is not None:
            changes["total"] = total
        Job.objects.filter(pk=job_id).update(**changes)

    with translation.override(job.params.get("language")):
        try:
            result, message = work(job, progress)
        except DomainError as exc:
            return _fail(job_id, exc.detail)
        except Exception as exc:
            logger.exception("job %s (%s) failed", job_id, job.kind)
            return _fail(job_id, gettext("The job stopped: %(error)s") % {"error": exc})
    Job.objects.filter(pk=job_id).update(
        status=JobStatus.DONE,
        result=result,
        message=message,
        finished_at=timezone.now(),
        done=F("total"),
    )
    return JobStatus.DONE


def _fail(job_id: int, error: str) -> str:
    Job.objects.filter(pk=job_id).update(status=JobStatus.FAILED, error=str(error)[:4000], finished_at=timezone.now())
    return JobStatus.FAILED


def status_of(job: Job) -> dict[str, Any]:
    """What the progress page polls: status, done of total, and the outcome once finished."""
    return {
        "id": job.pk,
        "status": job.status,
        "status_display": job.get_status_display(),
        "done": job.done,
        "total": job.total,
        "percent": job.percent,
        "finished": job.is_finished,
        "message": job.message,
        "error": job.error,
        "result_url": job.result_url,
    }
