"""The one definition of the units a stock row can still promise.

    held      = reserved - units of active holds past their `expires_at`
    available = on_hand - held - safety_stock

A hold past its expiry holds nothing from that moment on, whether or not the
scheduled job has tidied it yet (that job only closes the hold and lowers
`reserved`, which changes no figure here). A till sale may sell the safety
stock (`keep_safety=False`), never a held unit.

Two forms of the same formula, and nothing else writes it:

- `available()` for figures already read into Python;
- `available_sql()` for every query: the raw SQL of the availability
  selector and of the set-based stock updates, and, through
  `available_expression()`, the ORM's annotations and the conditional
  updates of the one-row services.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import IntegerField, QuerySet, Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Greatest
from django.utils import timezone

from inventory.models import Reservation, ReservationStatus, StockLevel


def held(reserved: int, lapsed: int = 0) -> int:
    """Units a stock row holds now for customers and orders: its reserved units less those of lapsed holds."""
    return reserved - lapsed  # an active hold's units are always part of `reserved`


def available(on_hand: int, reserved: int, safety_stock: int = 0, *, lapsed: int = 0, keep_safety: bool = True) -> int:
    """Units that may be promised now (may be negative: a count below what is held; floor it to show it)."""
    return on_hand - held(reserved, lapsed) - (safety_stock if keep_safety else 0)


def lapsed_sql(row: str, *, now: datetime | None = None) -> tuple[str, list[Any]]:
    """SQL for the units of the active holds past their expiry on the stock row aliased `row`, and its params."""
    # A row with nothing reserved has no hold to look up (most rows): the subquery runs only for the others,
    # on the partial index of active holds (reservation_active_row_idx).
    return (
        f"(CASE WHEN {row}.reserved > 0 THEN "
        f"COALESCE((SELECT SUM(lapsed.quantity) FROM {Reservation._meta.db_table} lapsed "
        f"WHERE lapsed.location_id = {row}.location_id AND lapsed.variant_id = {row}.variant_id "
        "AND lapsed.status = %s AND lapsed.expires_at <= %s), 0) ELSE 0 END)",
        [ReservationStatus.ACTIVE.value, now or timezone.now()],
    )


def available_sql(
    row: str = StockLevel._meta.db_table, *, keep_safety: bool = True, now: datetime | None = None
) -> tuple[str, list[Any]]:
    """`available()` in SQL for the stock row aliased `row` (PostgreSQL and SQLite alike), and its params."""
    lapsed, params = lapsed_sql(row, now=now)
    safety = f" - {row}.safety_stock" if keep_safety else ""
    return f"({row}.on_hand - ({row}.reserved - {lapsed}){safety})", params


def available_expression(*, keep_safety: bool = True, now: datetime | None = None) -> RawSQL:
    """`available_sql()` as an ORM expression on a query whose base table is StockLevel's."""
    sql, params = available_sql(keep_safety=keep_safety, now=now)
    return RawSQL(sql, params, output_field=IntegerField())


def annotate_available(rows: QuerySet[StockLevel]) -> QuerySet[StockLevel]:
    """Stock rows annotated with `units_available`: available_expression(), floored at 0 as it is shown."""
    return rows.annotate(units_available=Greatest(available_expression(), Value(0), output_field=IntegerField()))


def units_available(row: StockLevel) -> int:
    """The annotation made by annotate_available()."""
    return int(row.units_available)  # type: ignore[attr-defined]


def lapsed_expression() -> RawSQL:
    """The lapsed units of each stock row, as an ORM expression (for figures read into Python)."""
    sql, params = lapsed_sql(StockLevel._meta.db_table)
    return RawSQL(sql, params, output_field=IntegerField())
