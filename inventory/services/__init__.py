"""Writes of stock: every change of a stock row comes with its StockMovement, in one transaction.

The package, by concern (everything is re-exported here: `services.take`, `services.hold`, ...):

- `stock`: one stock row at a time (count, adjust, receive, quarantine, reserve,
  release, take, ship_reserved) and the ledger helpers they share;
- `holds`: holds for customers and orders, and the job that tidies expired ones;
- `sourcing`: which locations serve an order, and taking or holding their units;
- `guarded`: the guarded change of one stock row with its movement (and an
  order's hold) in one statement, and the UPDATE the bulk forms share;
- `bulk`: the set-based forms of the one-row services (take, reserve and
  restock many lines at once; a whole count file), with the same guards and
  movement kinds;
- `transfers` and `replenishment`.

The rules, in one place:

- available = on_hand - held - safety_stock, where held = reserved less the
  units of holds past their expiry: `inventory.available` is the only place
  that writes it (a Python function and the SQL every query uses).
- Taking or holding units is ONE conditional UPDATE whose WHERE clause says
  there is enough (`stock.can_give`); the number of rows it changed decides
  success. Two channels after the last unit therefore get one success and one
  InsufficientStock, on PostgreSQL and SQLite alike, and on_hand never goes
  below zero.
- Holding (reserve) respects the safety stock; carry out (take) does not: the
  safety stock keeps units back from remote channels, but a customer holding
  the item at the till may buy it. Neither may touch units held for someone
  else.
- A count is the physical truth: it sets on_hand to what was counted (>= 0),
  but never below the units held for customers and orders.
- Where several rows change together (allocation of an order), their guarded
  updates are issued in primary-key order (each update locks its row), so two
  orders never wait on each other in opposite orders.
"""

from inventory.services.bulk import (
    TILL_SHORTFALL_REASON,
    CountFileInvalid,
    CountOutcome,
    CountRow,
    LineShortfall,
    StockLine,
    TillPlan,
    count_many,
    ensure_rows,
    plan_till_sales,
    reserve_many,
    restock_many,
    take_many,
)
from inventory.services.holds import (
    cancel_hold,
    collect_hold,
    hold,
    release_expired_holds,
    release_order_holds,
    ship_order_holds,
)
from inventory.services.replenishment import (
    MIN_COVER_DAYS,
    TARGET_COVER_DAYS,
    VELOCITY_WEEKS,
    ReplenishmentRun,
    accept_proposal,
    propose_replenishment,
)
from inventory.services.sourcing import (
    CARRY_OUT,
    CLICK_AND_COLLECT,
    FULFILMENTS,
    SHIP_TO_HOME,
    SHIP_TO_STORE,
    Allocated,
    LineNeed,
    allocate,
    distance_km,
    distances_from,
    distances_to_points,
    prefers_warehouses,
)
from inventory.services.stock import (
    DEFAULT_HOLD_MINUTES,
    MAX_HOLD_MINUTES,
    MAX_ON_HAND,
    MAX_QUANTITY,
    REASON_MAX_LENGTH,
    RECEIVING_KINDS,
    RESERVE,
    TAKE,
    Step,
    adjust,
    announce_availability,
    can_give,
    check_count_covers_holds,
    count,
    held_units,
    quarantine,
    receive,
    receiving,
    release,
    reserve,
    ship_reserved,
    take,
)
from inventory.services.transfers import (
    cancel_transfer,
    receive_transfer,
    request_transfer,
    ship_transfer,
)

__all__ = [
    "Allocated",
    "CARRY_OUT",
    "CLICK_AND_COLLECT",
    "CountFileInvalid",
    "CountOutcome",
    "CountRow",
    "DEFAULT_HOLD_MINUTES",
    "FULFILMENTS",
    "LineNeed",
    "LineShortfall",
    "MAX_HOLD_MINUTES",
    "MAX_ON_HAND",
    "MAX_QUANTITY",
    "MIN_COVER_DAYS",
    "REASON_MAX_LENGTH",
    "RECEIVING_KINDS",
    "RESERVE",
    "ReplenishmentRun",
    "SHIP_TO_HOME",
    "SHIP_TO_STORE",
    "Step",
    "StockLine",
    "TAKE",
    "TARGET_COVER_DAYS",
    "TILL_SHORTFALL_REASON",
    "TillPlan",
    "VELOCITY_WEEKS",
    "accept_proposal",
    "adjust",
    "allocate",
    "announce_availability",
    "can_give",
    "cancel_hold",
    "cancel_transfer",
    "check_count_covers_holds",
    "collect_hold",
    "count",
    "count_many",
    "distance_km",
    "distances_from",
    "distances_to_points",
    "ensure_rows",
    "held_units",
    "hold",
    "plan_till_sales",
    "prefers_warehouses",
    "propose_replenishment",
    "quarantine",
    "receive",
    "receive_transfer",
    "receiving",
    "release",
    "release_expired_holds",
    "release_order_holds",
    "request_transfer",
    "reserve",
    "reserve_many",
    "restock_many",
    "ship_order_holds",
    "ship_reserved",
    "ship_transfer",
    "take",
    "take_many",
]
