"""The bulk statements under :func:`metaregistry.index.store.upsert_blocks`.

Rows go to the driver as tuples (``exec_driver_sql``, COPY on PostgreSQL): SQLAlchemy's
per-row parameter processing costs more than the database's own insert at a million rows,
and building the rows is most of the Python left per stored record. Everything runs on the
caller's connection, inside the caller's transaction.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable
from operator import attrgetter
from typing import Any

import sqlalchemy as sa

from metaregistry.canonical import canonicalize
from metaregistry.index.tables import span_class
from metaregistry.model import ALL_FIELDS, UnitBlock

__all__ = [
    "ROW_COLUMNS",
    "VERSION_COLUMNS",
    "existing_versions",
    "insert_raw",
    "insert_rows",
    "row",
    "update_row",
    "update_rows",
    "version_row",
]

_KEY_CHUNK = 900  # keeps IN lists well under every driver's parameter limit
ROW_COLUMNS: tuple[str, ...] = (*ALL_FIELDS, "version", "span_class", "connector")
VERSION_COLUMNS = (
    "registry",
    "record_id",
    "version",
    "content",
    "record_hash",
    "raw_hash",
    "observed_at",
    "connector",
)
_RAW_COLUMNS = ("raw_hash", "connector", "payload")
_UPDATE_COLUMNS = tuple(c for c in ROW_COLUMNS if c not in ("registry", "record_id"))
_fields_of = attrgetter(*ALL_FIELDS)
_updated_fields_of = attrgetter(*(c for c in ALL_FIELDS if c not in ("registry", "record_id")))


def row(block: UnitBlock, version: int, connector: str) -> tuple[Any, ...]:
    """The ``unit_block`` row of ``block`` (``ROW_COLUMNS``)."""
    return (
        *_fields_of(block),
        version,
        span_class(block.block_start, block.block_end),
        connector,
    )


def update_row(block: UnitBlock, version: int, connector: str) -> tuple[Any, ...]:
    """The parameters of :func:`update_rows` for ``block``."""
    return (
        *_updated_fields_of(block),
        version,
        span_class(block.block_start, block.block_end),
        connector,
        block.registry,
        block.record_id,
    )


def version_row(
    block: UnitBlock, version: int, connector: str, text: str | None
) -> tuple[Any, ...]:
    """The ``unit_block_version`` row (``VERSION_COLUMNS``); ``text`` is the block's version
    text when the pipeline made it already."""
    return (
        block.registry,
        block.record_id,
        version,
        canonicalize(block.to_json()).decode("utf-8") if text is None else text,
        block.record_hash,
        block.raw_hash,
        block.observed_at,
        connector,
    )


def existing_versions(
    conn: sa.Connection, keys: Iterable[tuple[str, str]]
) -> dict[tuple[str, str], tuple[int, str, str]]:
    """The current version, record_hash and raw_hash of each of ``keys`` that is stored: one
    indexed probe per key, batched per registry (PostgreSQL: one array parameter; SQLite: a
    chunk of placeholders, padded so a few statement shapes stay in the driver's cache)."""
    by_registry: dict[str, list[str]] = defaultdict(list)
    for registry, record_id in keys:
        by_registry[registry].append(record_id)
    found: dict[tuple[str, str], tuple[int, str, str]] = {}
    postgres = conn.dialect.name == "postgresql"
    for registry, ids in by_registry.items():
        for i in range(0, len(ids), _KEY_CHUNK):
            chunk = ids[i : i + _KEY_CHUNK]
            if postgres:
                rows = conn.exec_driver_sql(_EXISTING_PG, (chunk, registry))
            else:
                size = 1 << (len(chunk) - 1).bit_length()
                padded = (registry, *chunk, *[chunk[-1]] * (size - len(chunk)))
                rows = conn.exec_driver_sql(_existing_sqlite(size), padded)
            for row in rows:
                found[(row[0], row[1])] = (row[2], row[3], row[4])
    return found


_EXISTING_COLUMNS = "SELECT registry, record_id, version, record_hash, raw_hash FROM unit_block"
# One unique-index probe per key, whatever the statistics say: while a first load outruns
# ANALYZE the planner takes the table for tiny and would scan every row of the registry for
# ``record_id = ANY(...)``; OFFSET 0 keeps the per-key subquery from being flattened into that.
_EXISTING_PG = (
    "SELECT b.registry, b.record_id, b.version, b.record_hash, b.raw_hash"
    " FROM unnest(%s::varchar[]) AS k(record_id) CROSS JOIN LATERAL"
    " (SELECT registry, record_id, version, record_hash, raw_hash FROM unit_block"
    "  WHERE registry = %s AND record_id = k.record_id OFFSET 0) AS b"
)


@functools.lru_cache(maxsize=16)
def _existing_sqlite(size: int) -> str:
    marks = ", ".join(["?"] * size)
    return f"{_EXISTING_COLUMNS} WHERE registry = ? AND record_id IN ({marks})"


def _marker(paramstyle: str) -> str:
    return "?" if paramstyle == "qmark" else "%s"


@functools.lru_cache(maxsize=16)
def _insert_sql(table: str, columns: tuple[str, ...], paramstyle: str, suffix: str = "") -> str:
    marks = ", ".join([_marker(paramstyle)] * len(columns))
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks}){suffix}"


def update_rows(conn: sa.Connection, rows: list[tuple[Any, ...]]) -> None:
    """Changed blocks (:func:`update_row` parameters), in the order given."""
    conn.exec_driver_sql(_update_sql(conn.dialect.paramstyle), rows)


@functools.lru_cache(maxsize=4)
def _update_sql(paramstyle: str) -> str:
    mark = _marker(paramstyle)
    sets = ", ".join(f"{c} = {mark}" for c in _UPDATE_COLUMNS)
    return f"UPDATE unit_block SET {sets} WHERE registry = {mark} AND record_id = {mark}"


def insert_rows(
    conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Plain inserts of new rows: COPY on PostgreSQL (one stream instead of a statement per
    row), executemany of one prepared statement on SQLite."""
    if conn.dialect.name == "postgresql":
        _copy(conn, table, columns, rows)
        return
    conn.exec_driver_sql(_insert_sql(table, columns, conn.dialect.paramstyle), rows)


def _copy(
    conn: sa.Connection, table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
    finally:
        cursor.close()


def insert_raw(conn: sa.Connection, rows: list[tuple[str, str, str]]) -> None:
    """Raw payloads, each kept once (the same payload may arrive again under another key)."""
    if conn.dialect.name != "postgresql":
        sql = _insert_sql("raw_record", _RAW_COLUMNS, "qmark", " ON CONFLICT DO NOTHING")
        conn.exec_driver_sql(sql, rows)
        return
    # COPY the payloads not stored yet: a third of the cost of INSERT ... ON CONFLICT per row.
    # A writer storing one of them in between makes COPY fail on the key; the savepoint then
    # lets the row-by-row insert that skips duplicates do the page instead.
    known = {
        h
        for (h,) in conn.exec_driver_sql(
            "SELECT raw_hash FROM raw_record WHERE raw_hash = ANY(%s)", ([r[0] for r in rows],)
        )
    }
    fresh = [r for r in rows if r[0] not in known]
    if not fresh:
        return
    from psycopg.errors import UniqueViolation

    try:
        with conn.begin_nested():
            _copy(conn, "raw_record", _RAW_COLUMNS, fresh)
    except UniqueViolation:
        sql = _insert_sql("raw_record", _RAW_COLUMNS, "format", " ON CONFLICT DO NOTHING")
        conn.exec_driver_sql(sql, fresh)
