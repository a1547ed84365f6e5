"""Small pieces the stories share: weighted draws, number scrambles, pools of customers, channel plans."""

from __future__ import annotations

import bisect
import random
import unicodedata
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from omni.demo.data import (
    ONLINE_LINES,
    STORE_LINES,
    Site,
)


def _cumulative(weights: Sequence[float]) -> list[float]:
    total = 0.0
    out = []
    for weight in weights:
        total += weight
        out.append(total)
    return out


STORE_LINES_CUMULATIVE = _cumulative(STORE_LINES)


ONLINE_LINES_CUMULATIVE = _cumulative(ONLINE_LINES)


def _pick(rng: random.Random, cumulative: Sequence[float]) -> int:
    """Index drawn by cumulative weights: what ``random.choices`` does, without building a list per call."""
    return bisect.bisect(cumulative, rng.random() * cumulative[-1], 0, len(cumulative) - 1)


def _shelf_price(rng: random.Random, euros: int) -> int:
    """Cents of an Italian shelf price near `euros`: mostly 49,90-style, sometimes a round 135,00."""
    if rng.random() < 0.8:
        return max(990, round(euros, -1) * 100 - 10)
    return max(5, round(euros / 5) * 5) * 100


def _ascii(text: str) -> str:
    """'Niccolò D'Angelo' -> 'niccolodangelo': the local part of a believable e-mail address."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in folded.lower() if ch.isalnum())


def _scramble(number: int, modulus: int, multiplier: int, offset: int) -> int:
    """A bijection on [0, modulus): numbers that look random yet never collide (multiplier coprime to modulus)."""
    return (number * multiplier + offset) % modulus


def _luhn_digit(digits: str) -> str:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2 == 0:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return str((10 - total % 10) % 10)


@dataclass
class _Store:
    id: int
    site: Site
    warehouse_id: int  # the warehouse that serves this store's region


@dataclass
class _Assortment:
    """What one channel sells: variant ids, their price on that channel (cents) and their popularity."""

    variant_ids: list[int] = field(default_factory=list)
    prices: list[int] = field(default_factory=list)
    price_texts: list[str] = field(default_factory=list)
    cumulative: list[float] = field(default_factory=list)


class _Pool:
    """Customers of one kind in the order they joined, so "who existed on that day" is one bisect."""

    __slots__ = ("created", "ids")

    def __init__(self) -> None:
        self.ids = array("q")
        self.created = array("q")

    def add(self, customer_id: int, created: int) -> None:
        self.ids.append(customer_id)
        self.created.append(created)

    def pick(self, rng: random.Random, epoch: int) -> int | None:
        eligible = bisect.bisect_right(self.created, epoch)
        if not eligible:
            return None
        # Older customers buy a little more often than the ones who have just joined.
        return self.ids[int(eligible * rng.random() ** 1.2)]


@dataclass
class _ChannelPlan:
    """How one channel sells: what, at which hours, in baskets of which size, delivered how."""

    code: str
    id: int
    prefix: str
    assortment: _Assortment
    hours: list[int]
    hour_cumulative: list[float]
    lines_cumulative: list[float]
    fulfilments: list[str]
    fulfilment_cumulative: list[float]
    sequence: int = 0  # orders so far: the site's order number


def _black_friday(year: int) -> date:
    """The day after the fourth Thursday of November."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return thursday + timedelta(days=22)
