"""Scheduled and background stock work: thin wrappers around the services, safe to run twice."""

import tablib
from celery import shared_task
from django.utils.translation import gettext

from inventory import services
from inventory.importing import rows_of
from omni import jobs
from omni.actor import Actor
from omni.errors import Invalid


@shared_task(name="inventory.release_expired_holds")
def release_expired_holds() -> int:
    """Release click & collect holds whose time has passed (beat: every 5 minutes)."""
    return services.release_expired_holds()


@shared_task(name="inventory.propose_replenishment")
def propose_replenishment() -> int:
    """Recompute the replenishment and rebalancing proposals (beat: nightly)."""
    return services.propose_replenishment().proposals


@shared_task(name="inventory.import_stock_count")
def import_stock_count(job_id: int) -> str:
    """A confirmed stock count file, applied in the background by services.count_many (all or nothing)."""

    def work(job, progress):
        dataset = tablib.Dataset().load(bytes(job.content).decode("utf-8"), format="csv")
        rows = rows_of(dataset)
        progress(0, len(rows))
        try:
            outcomes = services.count_many(rows, actor=Actor.of(job.user))
        except services.CountFileInvalid as exc:
            problems = [
                f"{line}: {' '.join(messages)}"
                for line, fields in sorted(exc.row_errors.items())
                for messages in fields.values()
            ]
            raise Invalid(
                gettext("Rows to correct (nothing was imported): %(rows)s") % {"rows": "; ".join(problems[:20])}
            ) from None
        changed = sum(1 for outcome in outcomes if outcome.delta)
        message = gettext("%(rows)d rows counted, %(changed)d changed.") % {"rows": len(outcomes), "changed": changed}
        return {"rows": len(outcomes), "changed": changed}, message

    return jobs.run(job_id, work)
