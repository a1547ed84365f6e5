"""The demo's clock: the services write the history as it happened."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

from django.utils import timezone

from omni.demo.data import (
    ROME,
)


@contextmanager
def clock(at: datetime) -> Iterator[None]:
    """The demo's clock: inside, `timezone.now()` answers `at`, so the services write the history as it happened.

    Every service reads the time through `django.utils.timezone.now` (the models' auto_now fields too): a
    sale, its stock movements, its points and its events are dated at the sale. The seeder runs in one
    thread; the clock is put back whatever happens.
    """
    real = timezone.now
    timezone.now = lambda: at  # type: ignore[assignment]
    try:
        yield
    finally:
        timezone.now = real  # type: ignore[assignment]


def _moment(epoch: int | float) -> datetime:
    return datetime.fromtimestamp(epoch, UTC)


def _rome_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=ROME)
