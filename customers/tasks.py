"""Background work of customers: messages written by `customers.messaging.tell`, and customer imports."""

from __future__ import annotations

import json

from celery import shared_task
from django.utils.translation import gettext

from customers import messaging, moving_in
from omni import jobs
from omni.actor import Actor
from omni.models import ApiClient, Job


@shared_task(name="customers.send_message", bind=True, max_retries=None)
def send_message(self, message_id: int) -> str:
    """Send one message; a failed send is tried again later, up to MESSAGE_MAX_ATTEMPTS times in all.

    Run eagerly (the demo), the error goes back to the outbox, whose relay tries again.
    """
    try:
        return messaging.deliver(message_id)
    except Exception as exc:
        if self.request.is_eager:
            raise
        raise self.retry(exc=exc, countdown=messaging.retry_delay(self.request.retries)) from exc


def rows_of_job(job: Job) -> list[moving_in.ImportRow]:
    """The rows a job holds: the API's JSON batch, or a file of the admin (CSV or XLSX)."""
    content = bytes(job.content or b"")
    if job.params.get("format") == "json":
        return moving_in.rows_from_json(json.loads(content.decode("utf-8")))
    return moving_in.rows_from_dataset(moving_in.dataset_from_bytes(content, job.params.get("suffix", ".csv")))


@shared_task(name="customers.import_customers")
def import_customers(job_id: int) -> str:
    """A customer file or API batch, imported by `customers.moving_in.import_customers` (all or nothing, or partial).

    The job's result holds the API's figures (rows, created, updated, merged,
    unchanged, errors) whether it is done or failed on bad rows.
    """

    def work(job, progress):
        rows = rows_of_job(job)
        progress(0, len(rows))
        client_id = job.params.get("api_client")
        actor = Actor(api_client=ApiClient.objects.get(pk=client_id)) if client_id else Actor.of(job.user)
        try:
            report = moving_in.import_customers(
                rows, partial=bool(job.params.get("partial")), actor=actor, progress=progress
            )
        except moving_in.ImportRejected as exc:
            Job.objects.filter(pk=job.pk).update(result=exc.report.totals())
            raise
        totals = report.totals()
        message = gettext(
            "%(rows)d rows: %(created)d new, %(updated)d updated, %(merged)d merged, %(unchanged)d unchanged, "
            "%(errors)d with errors."
        ) % {**totals, "errors": len(report.error_rows)}
        return totals, message

    return jobs.run(job_id, work)
