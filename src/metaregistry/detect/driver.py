"""Statements of an incremental run on the driver's own cursor, rows as plain tuples.

An incremental run reads tens of thousands of small rows by record key or by range. Through
SQLAlchemy, building ``Row`` objects and expanding ``IN`` lists (about 0.4 ms per 500 keys)
cost more than the queries themselves did (10,000 changed blocks against a million: 0.15 s of
0.9 s). Keys go to the database as a ``VALUES`` list joined to the table, a chunk of them per
statement, so the database seeks its index once per key.

Everything runs on the caller's connection, inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import sqlalchemy as sa

from metaregistry.detect.cluster import Key

__all__ = ["KEYS_PER_STATEMENT", "fetch", "jit_off", "mark", "rows_of_keys"]

#: Keys per statement: two parameters each, well under SQLite's 32,766 and PostgreSQL's
#: 65,535 parameters.
KEYS_PER_STATEMENT: Final = 2000


def mark(conn: sa.Connection) -> str:
    """The driver's parameter placeholder."""
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


@contextmanager
def jit_off(conn: sa.Connection) -> Iterator[None]:
    """PostgreSQL's JIT compiler off for the statements run inside (``SET LOCAL``, the
    caller's setting restored after; a failed transaction reverts it by itself). The
    planner's cost of a thousand-window probe is far past ``jit_above_cost``, and compiling it
    took 0.82 s of a 0.87 s statement at a million blocks (the probes themselves: 55 ms)."""
    if conn.dialect.name != "postgresql":
        yield
        return
    before = conn.exec_driver_sql("SELECT current_setting('jit', true)").scalar()
    if before is None:  # a server without JIT
        yield
        return
    conn.exec_driver_sql("SET LOCAL jit = off")
    yield
    conn.exec_driver_sql("SELECT set_config('jit', %s, true)", (before,))


def fetch(conn: sa.Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    """Every row of ``sql`` (placeholders: :func:`mark`) as tuples."""
    raw: Any = conn.connection.dbapi_connection
    cursor = raw.cursor()
    try:
        cursor.execute(sql, tuple(params))
        rows: list[tuple[Any, ...]] = cursor.fetchall()
    finally:
        cursor.close()
    return rows


def rows_of_keys(
    conn: sa.Connection,
    table: str,
    columns: Sequence[str],
    key_columns: Sequence[tuple[str, str]],
    keys: Collection[Key],
) -> list[tuple[Any, ...]]:
    """``columns`` of the rows of ``table`` whose (registry, record_id) in one of the
    ``key_columns`` pairs is among ``keys``. A table with fewer rows than there are keys is
    read whole and filtered here (a million blocks had 2,200 links; an incremental run checks
    22,000 blocks), a larger one is looked up once per key and pair through its index: the
    cost follows the smaller of the two. A row matching several pairs may come once per
    pair."""
    if not keys:
        return []
    wanted = keys if isinstance(keys, set | frozenset) else set(keys)
    rows = fetch(conn, f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT {len(wanted)}) AS t")
    if int(rows[0][0]) < len(wanted):
        pairs = ", ".join(f"{a}, {b}" for a, b in key_columns)
        n = len(columns)
        out: list[tuple[Any, ...]] = []
        for row in fetch(conn, f"SELECT {', '.join(columns)}, {pairs} FROM {table}"):
            if any((row[i], row[i + 1]) in wanted for i in range(n, len(row), 2)):
                out.append(row[:n])
        return out
    cols = ", ".join(f"t.{c}" for c in columns)
    select = " UNION ALL ".join(
        f"SELECT {cols} FROM k JOIN {table} t ON t.{a} = k.registry AND t.{b} = k.record_id"
        for a, b in key_columns
    )
    return _by_keys(conn, select, wanted)


def _by_keys(conn: sa.Connection, select: str, keys: Collection[Key]) -> list[tuple[Any, ...]]:
    """Every row of ``select`` for ``keys``; ``select`` reads the table ``k(registry,
    record_id)`` of the keys, a chunk of them at a time."""
    ordered = list(keys)
    m = mark(conn)
    out: list[tuple[Any, ...]] = []
    for i in range(0, len(ordered), KEYS_PER_STATEMENT):
        chunk = ordered[i : i + KEYS_PER_STATEMENT]
        values = ", ".join([f"({m}, {m})"] * len(chunk))
        sql = f"WITH k(registry, record_id) AS (VALUES {values}) {select}"
        out.extend(fetch(conn, sql, [x for key in chunk for x in key]))
    return out
