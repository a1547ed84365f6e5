"""Celery tasks of kpis: thin, idempotent wrappers around `kpis.services.rebuild`."""

from __future__ import annotations

from datetime import date, timedelta

import tablib
from celery import shared_task
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from kpis import services
from kpis.importing import rows_of
from omni import jobs
from omni.errors import Invalid


@shared_task(name="kpis.refresh_day")
def refresh_day(day: str, location: int | None = None) -> dict[str, int]:
    """Recompute the rollups of `day` (ISO date), sent through the outbox after a sale, a return or events.

    `location` is accepted as the sender knows it, but the whole day is
    recomputed: one sale touches the rows of several stores (selling,
    pick-up, credited) and the buyer and visitor tables, and a day is small.
    """
    return services.refresh_day(day=date.fromisoformat(day)).rows


@shared_task(name="kpis.rollup_yesterday")
def rollup_yesterday(days: int = 1) -> dict[str, int]:
    """The nightly run: recompute the last `days` days before today (Europe/Rome)."""
    today = timezone.localdate()
    return services.rebuild(start=today - timedelta(days=max(days, 1)), end=today - timedelta(days=1)).rows


@shared_task(name="kpis.count_periods")
def count_periods(start: str, end: str) -> int:
    """Count again the finished periods of start..end (ISO dates) whose distinct counts were dropped."""
    return services.count_periods(start=date.fromisoformat(start), end=date.fromisoformat(end))


RECOMPUTE_CHUNK_DAYS = 10  # a chunk is one transaction; the progress moves after each


def day_runs(days: list[date], most: int = RECOMPUTE_CHUNK_DAYS) -> list[tuple[date, date]]:
    """The days as runs of consecutive days, at most `most` long: each run is one rebuild."""
    runs: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if runs and day == runs[-1][1] + timedelta(days=1) and (day - runs[-1][0]).days < most:
            runs[-1] = (runs[-1][0], day)
        else:
            runs.append((day, day))
    return runs


@shared_task(name="kpis.recompute_days")
def recompute_days(job_id: int) -> str:
    """The admin's "recompute" on many days, in the background, a run of days per transaction.

    Consecutive days are rebuilt together (one pass over a run costs far less
    than a pass per day); the progress moves after each run. Safe to receive
    twice: a finished job is left alone, and a day recomputed again gives the same figures.
    """

    def work(job, progress):
        days = [date.fromisoformat(day) for day in job.params["days"]]
        done = rows = 0
        for start, end in day_runs(days):
            rows += sum(services.rebuild(start=start, end=end).rows.values())
            done += (end - start).days + 1
            progress(done)
        message = ngettext("%(days)d day recomputed.", "%(days)d days recomputed.", done) % {"days": done}
        return {"days": done, "rows": rows}, message

    return jobs.run(job_id, work)


@shared_task(name="kpis.import_social_figures")
def import_social_figures(job_id: int) -> str:
    """A confirmed social-figures file, saved in the background by services.save_social_figures (all or nothing)."""

    def work(job, progress):
        dataset = tablib.Dataset().load(bytes(job.content).decode("utf-8"), format="csv")
        rows, errors = rows_of(dataset)
        if errors:
            line, problems = min(errors.items())
            raise Invalid(gettext("Line %(line)s: %(problems)s") % {"line": line, "problems": " ".join(problems)})
        progress(0, len(rows))
        saved = services.save_social_figures(rows=rows)
        message = ngettext("%(rows)d row of figures saved.", "%(rows)d rows of figures saved.", saved) % {"rows": saved}
        return {"rows": saved}, message

    return jobs.run(job_id, work)
