"""Celery tasks of kpis: thin, idempotent wrappers around `kpis.services.rebuild`."""

from __future__ import annotations

from datetime import date, timedelta

from celery import shared_task
from django.utils import timezone

from kpis import services


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
