"""Reading a social figures file (CSV or XLSX): one row per date and network."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from kpis.services import SOCIAL_FIGURES, SocialFiguresIn, network_problem

COLUMNS = ("date", "network", *SOCIAL_FIGURES)


def _date(value: Any) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value).strip()[:10])


def _count(value: Any) -> int:
    if value in (None, ""):
        return 0
    number = float(value)
    if number != int(number):
        raise ValueError("not a whole number")
    return int(number)


def rows_of(dataset) -> tuple[list[SocialFiguresIn], dict[int, list[str]]]:
    """The rows of the file and, per line (the header is line 1), what is wrong with it."""
    headers = [str(h or "").strip().lower() for h in dataset.headers or []]
    missing = [name for name in ("date", "network") if name not in headers]
    if missing:
        return [], {1: [f"Missing column(s): {', '.join(missing)}. Expected: {', '.join(COLUMNS)}."]}
    rows, errors = [], {}
    for line, values in enumerate(dataset, start=2):
        record = dict(zip(headers, values, strict=False))
        problems = []
        try:
            day = _date(record.get("date"))
        except ValueError:
            problems.append("date: not a date like 2025-03-10.")
        network = str(record.get("network") or "").strip().lower()
        if problem := network_problem(network):
            problems.append(f"network: {problem}")
        figures = {}
        for name in SOCIAL_FIGURES:
            try:
                figures[name] = _count(record.get(name))
            except (TypeError, ValueError):
                problems.append(f"{name}: not a whole number.")
                continue
            if figures[name] < 0:
                problems.append(f"{name}: must be zero or more.")
        if problems:
            errors[line] = problems
        else:
            rows.append(SocialFiguresIn(date=day, network=network, **figures))
    return rows, errors
