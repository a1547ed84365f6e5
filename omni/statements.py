"""A movement of points as a chain of SQL pieces: one statement on PostgreSQL, one per piece elsewhere.

Each piece is a statement that may read the rows the earlier pieces
returned, by their names, as if they were tables. On PostgreSQL the pieces
become the common table expressions of one statement (data-modifying CTEs),
so a movement costs one round trip. SQLite has no data-modifying CTEs: there
each piece runs on its own, the rows of the earlier ones handed to it as
`WITH name(columns) AS (VALUES ...)`. The SQL of a piece is the same text on
both engines; only how the pieces are joined differs.

A piece's RETURNING names only columns of the table it writes (SQLite refuses
the others); a later piece joins what it needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection


@dataclass(frozen=True)
class Piece:
    """One statement of a chain; `columns` are the names of the rows it returns (empty: it returns none)."""

    name: str
    sql: str
    params: Sequence[Any] = ()
    columns: tuple[str, ...] = ()


def run(pieces: Sequence[Piece], *, result: str) -> list[tuple[Any, ...]]:
    """Run the chain inside the caller's transaction and return the rows of the piece named `result`."""
    if connection.vendor == "postgresql":
        return _as_one_statement(pieces, result=result)
    return _one_by_one(pieces, result=result)


def run_each(pieces: Sequence[Piece], *, results: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Like `run`, returning the rows of each piece named in `results`.

    Still one statement on PostgreSQL: the pieces' rows follow one another in
    one UNION ALL, each piece in columns of its own and NULL in the others'.
    PostgreSQL types a chain of UNIONs pair by pair from the left, so the
    first SELECT gives every column its type (its NULLs are empty scalar
    subqueries of the piece a column belongs to) and the others' plain NULLs
    take it. That keeps the statement short: psycopg keeps the conversion of
    a statement up to 4 KB instead of splitting it again at every call.
    """
    if connection.vendor != "postgresql":
        done = _run_one_by_one(pieces)
        return {name: done[name] for name in results}
    chosen = [next(piece for piece in pieces if piece.name == name) for name in results]
    slots = [(piece.name, column) for piece in chosen for column in piece.columns]
    selects, spans = [], []
    for index, piece in enumerate(chosen):
        values = [
            column if name == piece.name else f"(SELECT {column} FROM {name} WHERE 1 = 0)" if index == 0 else "NULL"
            for name, column in slots
        ]
        selects.append(f"SELECT {index}, {', '.join(values)} FROM {piece.name}")
        first = 1 + slots.index((piece.name, piece.columns[0]))
        spans.append((piece.name, first, first + len(piece.columns)))
    found: dict[str, list[tuple[Any, ...]]] = {name: [] for name in results}
    for row in _one_statement(pieces, " UNION ALL ".join(selects)):
        name, first, last = spans[row[0]]
        found[name].append(tuple(row[first:last]))
    return found


def _as_one_statement(pieces: Sequence[Piece], *, result: str) -> list[tuple[Any, ...]]:
    chosen = next(piece for piece in pieces if piece.name == result)
    return _one_statement(pieces, f"SELECT {', '.join(chosen.columns)} FROM {result}")


def _one_statement(pieces: Sequence[Piece], select: str) -> list[tuple[Any, ...]]:
    ctes = ", ".join(f"{_head(piece)} AS ({piece.sql})" for piece in pieces)
    params = [value for piece in pieces for value in piece.params]
    with connection.cursor() as cursor:
        cursor.execute(f"WITH {ctes} {select}", params)
        return cursor.fetchall()


def _one_by_one(pieces: Sequence[Piece], *, result: str) -> list[tuple[Any, ...]]:
    return _run_one_by_one(pieces)[result]


def _run_one_by_one(pieces: Sequence[Piece]) -> dict[str, list[tuple[Any, ...]]]:
    done: list[tuple[Piece, list[tuple[Any, ...]]]] = []
    with connection.cursor() as cursor:
        for piece in pieces:
            given, params = [], []
            for earlier, rows in done:
                sql, values = _rows_as_table(earlier, rows)
                given.append(sql)
                params.extend(values)
            prefix = f"WITH {', '.join(given)} " if given else ""
            cursor.execute(prefix + piece.sql, [*params, *piece.params])
            rows = [tuple(row) for row in cursor.fetchall()] if piece.columns else []
            if piece.columns:
                done.append((piece, rows))
    return {piece.name: rows for piece, rows in done}


def _rows_as_table(piece: Piece, rows: list[tuple[Any, ...]]) -> tuple[str, list[Any]]:
    """`name(columns) AS (VALUES ...)`: the rows an earlier piece returned, readable by the next ones."""
    head = _head(piece)
    if not rows:  # VALUES needs a row: an empty table of the same columns
        return f"{head} AS (SELECT {', '.join('NULL' for _ in piece.columns)} WHERE 1 = 0)", []
    one = f"({', '.join('%s' for _ in piece.columns)})"
    return f"{head} AS (VALUES {', '.join(one for _ in rows)})", [value for row in rows for value in row]


def _head(piece: Piece) -> str:
    """The name of a piece's rows with their columns: `name(a, b)`."""
    return f"{piece.name}({', '.join(piece.columns)})" if piece.columns else piece.name
