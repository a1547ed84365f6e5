"""A chain's rows from one statement: each piece's rows come back whole and with their own types."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from omni.statements import Piece, run_each

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.postgres_only("one statement of data-modifying CTEs: SQLite runs the pieces one by one"),
]


def chain() -> list[Piece]:
    return [
        Piece(
            "word",
            "SELECT CAST(n AS bigint) AS n, CAST(w AS text) AS w FROM (VALUES (1, 'uno'), (2, 'due')) v(n, w)",
            columns=("n", "w"),
        ),
        Piece(
            "paid",
            "SELECT CAST(%s AS numeric(12, 2)) AS amount, CAST(%s AS timestamp with time zone) AS at",
            params=[Decimal("39.90"), datetime(2026, 12, 4, 17, 0, tzinfo=UTC)],
            columns=("amount", "at"),
        ),
        Piece("twice", "SELECT n * 2 AS n2, w = 'due' AS second FROM word", columns=("n2", "second")),
        Piece("none", "SELECT n FROM word WHERE n > 5", columns=("n",)),
    ]


@pytest.mark.parametrize("order", [("word", "paid", "twice", "none"), ("none", "twice", "paid", "word")])
def test_each_piece_gets_its_rows_with_their_types_whichever_comes_first(order):
    found = run_each(chain(), results=order)
    assert sorted(found["word"]) == [(1, "uno"), (2, "due")]
    assert found["paid"] == [(Decimal("39.90"), datetime(2026, 12, 4, 17, 0, tzinfo=UTC))]
    assert sorted(found["twice"]) == [(2, False), (4, True)]
    assert found["none"] == []
    amount, at = found["paid"][0]
    assert isinstance(amount, Decimal) and isinstance(at, datetime)
    assert all(isinstance(second, bool) for _, second in found["twice"])
