"""The API's queries on the index tables, as SQL text run on the raw driver connection.

Why not Core statements: a lookup must cost well under a millisecond, and SQLAlchemy's
per-execute work (parameter processing of a 64-branch statement, result metadata) cost
several times the query itself here. The SQL below is plain and portable; the driver caches
the prepared statements (sqlite3's statement cache, psycopg's automatic prepare), and rows
come back as plain dicts.

Range queries use the span-class index of :mod:`metaregistry.index.tables`: one index range
probe per span class *present* in the (scheme, scope), merged in ``(block_start, id)`` order
so that a page of a large answer stops early instead of sorting everything. The classes
present are found with a loose index scan and, on SQLite, remembered per connection until
another connection commits (``PRAGMA data_version``).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Final, TypeVar, cast

import sqlalchemy as sa

from metaregistry.model import ALL_FIELDS

__all__ = ["EXTRA_ALERTS", "EXTRA_LEAF", "EXTRA_LINKS", "MIN_KEY", "Db", "Row"]

Row = dict[str, Any]
T = TypeVar("T")
_MIN_BIGINT: Final = -(2**63)
#: The key before every block: (block_start, id).
MIN_KEY: Final = (_MIN_BIGINT, -1)
BLOCK_COLUMNS: Final = (*ALL_FIELDS, "id", "version", "connector")
_COLS: Final = ", ".join(BLOCK_COLUMNS)
#: Values remembered per connection (span classes per scheme/scope: ~200 bytes each).
_CACHE_ENTRIES: Final = 65_536
_PLACEHOLDER: Final = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")

_CLASSES: Final = """
WITH RECURSIVE present(k) AS (
  SELECT MIN(span_class) FROM unit_block WHERE scheme = :scheme AND scope = :scope
  UNION ALL
  SELECT (SELECT MIN(span_class) FROM unit_block
          WHERE scheme = :scheme AND scope = :scope AND span_class > present.k)
  FROM present WHERE present.k IS NOT NULL
)
SELECT k FROM present WHERE k IS NOT NULL
"""


#: What a lookup asks of each block beside its columns, as correlated subqueries of the
#: overlap query itself (one index probe each, only for the rows the page returns): the
#: log leaf of its current version (for the proof), and whether detection recorded any
#: alert side or link for it. A lookup then runs its other statements only for the few
#: blocks that have history, alerts or links; at 1M blocks that took a lookup from seven
#: statements to two.
EXTRA_LEAF: Final = (
    "(SELECT l.idx FROM log_leaves l WHERE l.registry = unit_block.registry"
    " AND l.record_id = unit_block.record_id AND l.version = unit_block.version"
    " ORDER BY l.idx LIMIT 1) AS leaf_index"
)
EXTRA_ALERTS: Final = (
    "EXISTS (SELECT 1 FROM alert_side s WHERE s.registry = unit_block.registry"
    " AND s.record_id = unit_block.record_id) AS any_alerts"
)
EXTRA_LINKS: Final = (
    "(EXISTS (SELECT 1 FROM block_link k WHERE k.source_registry = unit_block.registry"
    " AND k.source_record_id = unit_block.record_id) OR EXISTS (SELECT 1 FROM block_link k"
    " WHERE k.target_registry = unit_block.registry AND k.target_record_id = unit_block.record_id))"
    " AS any_links"
)


#: Parameter names of the overlap query's classes and their lower bounds.
_K: Final = tuple(f"k{i}" for i in range(64))
_LO: Final = tuple(f"lo{i}" for i in range(64))


def _columns(extras: tuple[str, ...]) -> str:
    return ", ".join((_COLS, *extras))


@functools.cache
def _overlap_sql(count: int, by_registry: bool, by_status: bool, extras: tuple[str, ...]) -> str:
    """The overlap query over ``count`` span classes given as parameters ``k0``, ``lo0``,
    ``k1``, ... , selecting ``extras`` beside the block's columns. The classes are
    parameters, not literals: an index has hundreds of different sets of classes (one per
    scope), and a statement per set overflowed the driver's statement cache, so that half
    of every lookup's query time went to compiling the statement again. A statement per
    number of classes (at most 64) is few enough for the read-only connections' cache
    (:func:`metaregistry.index.db.create_engine`); padding the count to a power of two,
    as was done first, cost Verra's 17-class scope 15 empty probes, 30 us a lookup."""
    extra = (" AND registry = :registry" if by_registry else "") + (
        " AND status = :status" if by_status else ""
    )
    branches = [
        f"SELECT {_columns(extras)} FROM unit_block WHERE scheme = :scheme AND scope = :scope"
        f" AND span_class = :k{i} AND block_start >= :lo{i} AND block_start <= :end"
        " AND block_end >= :start AND (block_start > :after_start OR id > :after_id)" + extra
        for i in range(count)
    ]
    # Parenthesized branches would defeat SQLite's merge of ordered compound selects.
    return " UNION ALL ".join(branches) + " ORDER BY block_start, id LIMIT :limit"


@functools.cache
def _overlap_lateral_sql(by_registry: bool, by_status: bool, extras: tuple[str, ...]) -> str:
    """PostgreSQL's overlap query: one statement. The loose index scan finds the span
    classes present and each drives one index probe through LATERAL; PostgreSQL sets up a
    separate index scan for each branch of a UNION ALL (about 25 us each, empty or not),
    and Verra's one scope holds 17 classes: 0.24 ms instead of 0.91 ms there (plus the
    classes query, which SQLite remembers between lookups and PostgreSQL could not).
    The probe's lower bound is clamped where ``2**k`` would overflow a bigint."""
    extra = (" AND registry = :registry" if by_registry else "") + (
        " AND status = :status" if by_status else ""
    )
    return (
        "WITH RECURSIVE present(k) AS ("
        " SELECT (SELECT span_class FROM unit_block WHERE scheme = :scheme AND scope = :scope"
        " ORDER BY span_class LIMIT 1)"
        " UNION ALL"
        " SELECT (SELECT span_class FROM unit_block WHERE scheme = :scheme AND scope = :scope"
        " AND span_class > present.k ORDER BY span_class LIMIT 1)"
        " FROM present WHERE present.k IS NOT NULL)"
        " SELECT b.* FROM present p CROSS JOIN LATERAL ("
        f"SELECT {_columns(extras)} FROM unit_block WHERE scheme = :scheme AND scope = :scope"
        " AND span_class = p.k AND block_start >= CASE WHEN p.k >= 62 THEN :after_start"
        " ELSE GREATEST(:start - ((1::bigint << p.k) - 1), :after_start) END"
        " AND block_start <= :end AND block_end >= :start"
        " AND (block_start > :after_start OR id > :after_id)"
        + extra
        + " ORDER BY block_start, id LIMIT :limit) b"
        " WHERE p.k IS NOT NULL ORDER BY b.block_start, b.id LIMIT :limit"
    )


@functools.cache
def _by_key_sql(extras: tuple[str, ...]) -> str:
    return (
        f"SELECT {_columns(extras)} FROM unit_block"
        " WHERE registry = :registry AND record_id = :record_id"
    )


@functools.cache
def _in_sql(template: str, count: int) -> str:
    """``template`` with ``{in}`` replaced by ``:v0, :v1, ...`` (count placeholders)."""
    return template.replace("{in}", ", ".join(f":v{i}" for i in range(count)))


def _in_params(values: Sequence[Any]) -> tuple[int, dict[str, Any]]:
    # Pad IN lists to a power of two (repeating the last value) so that a few statement
    # shapes serve every list length and stay in the driver's prepared-statement cache.
    size = 1 << max(0, (len(values) - 1).bit_length())
    padded = list(values) + [values[-1]] * (size - len(values))
    return size, {f"v{i}": v for i, v in enumerate(padded)}


_SCOPE_KNOWN: Final = "SELECT 1 FROM unit_block WHERE scheme = :scheme AND scope = :scope LIMIT 1"
_VERSIONS: Final = (
    "SELECT registry, record_id, version, content, record_hash, raw_hash, observed_at, connector"
    " FROM unit_block_version WHERE registry = :registry AND record_id IN ({in})"
    " ORDER BY version"
)
#: The same, with the log's leaf hash of each version (None when it was never logged): the
#: lookup checks each version it serves against the log (see lookup.py).
_VERSIONS_LEAF: Final = (
    "SELECT v.registry, v.record_id, v.version, v.content, v.record_hash, v.raw_hash,"
    " v.observed_at, v.connector, (SELECT l.leaf_hash FROM log_leaves l WHERE"
    " l.registry = v.registry AND l.record_id = v.record_id AND l.version = v.version"
    " ORDER BY l.idx LIMIT 1) AS leaf_hash"
    " FROM unit_block_version v WHERE v.registry = :registry AND v.record_id IN ({in})"
    " ORDER BY v.version"
)
_BY_SERIAL: Final = f"SELECT {_COLS} FROM unit_block WHERE serial IN ({{in}})"
_PROJECT_PAGE: Final = (
    f"SELECT {_COLS} FROM unit_block WHERE project_id = :project AND id > :after"
    " ORDER BY id LIMIT :limit"
)
_TOTALS: Final = (
    "SELECT registry, status, COUNT(*) AS blocks, COALESCE(SUM(quantity), 0) AS units"
    " FROM unit_block {where} GROUP BY registry, status ORDER BY registry, status"
)


class Db:
    """Raw read access inside one read transaction of a SQLAlchemy connection.

    ``sa`` gives the SQLAlchemy connection for Core queries (other areas' readers). On SQLite
    the raw transaction is begun here, below SQLAlchemy (its ``begin`` hook would cost more
    than a lookup's queries); asking for ``sa`` hands the transaction over to SQLAlchemy.
    """

    def __init__(self, conn: sa.Connection, cache: dict[Any, Any] | None = None) -> None:
        self._conn = conn
        self.dialect = conn.dialect.name
        self._raw: Any = cast(Any, conn.connection.dbapi_connection)
        # Per-connection memory (span classes per scheme/scope), kept by the caller.
        self._cache: dict[Any, Any] = {} if cache is None else cache
        self._handed_over = False
        self._data_version: int | None = None
        self._snapshot: dict[Any, Any] = {}  # values of this transaction (not SQLite)
        self._cur: Any = None
        if self.dialect == "sqlite":
            self._raw.execute("BEGIN")

    @property
    def sa(self) -> sa.Connection:
        if not self._handed_over:
            self._handed_over = True
            if self.dialect == "sqlite":
                self._raw.rollback()  # SQLAlchemy begins its own (a new snapshot)
            self._conn.begin()
        return self._conn

    def end(self) -> None:
        """End the read transaction. Nothing was written, so commit and rollback do the same
        in the database; on PostgreSQL it commits, because psycopg forgets every statement
        it prepared on the connection at each rollback (a rollback may undo DDL), and then
        every lookup planned every statement again: at 1M blocks, 1-4 ms a range query and
        17 lookups a second. A transaction that failed is rolled back by its commit."""
        if self._cur is not None:
            self._cur.close()
            self._cur = None
        if self.dialect == "postgresql":
            (self._conn if self._handed_over else self._raw).commit()
        elif self._handed_over:
            self._conn.rollback()
        else:
            self._raw.rollback()

    def _cursor(self) -> Any:
        # One cursor for the whole transaction: statements run one after the other.
        if self._cur is None:
            self._cur = self._raw.cursor()
        return self._cur

    def rows(self, sql: str, params: dict[str, Any] | None = None) -> list[Row]:
        cur = self._cursor()
        cur.execute(self._native(sql), params or {})
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def execute(self, sql: str, params: dict[str, Any] | None = None) -> None:
        self._cursor().execute(self._native(sql), params or {})

    def values(self, sql: str, params: dict[str, Any] | None = None) -> list[Any]:
        """The first column of every row."""
        cur = self._cursor()
        cur.execute(self._native(sql), params or {})
        return [row[0] for row in cur.fetchall()]

    def _native(self, sql: str) -> str:
        if self.dialect == "postgresql":
            return _pyformat(sql)
        return sql

    # -- the queries ------------------------------------------------------------------------

    def span_classes(self, scheme: str, scope: str) -> tuple[int, ...]:
        def present() -> tuple[int, ...]:
            found = self.values(_CLASSES, {"scheme": scheme, "scope": scope})
            return tuple(int(k) for k in found)

        return self.cached(("classes", scheme, scope), present)

    def overlap_page(
        self,
        scheme: str,
        scope: str,
        start: int,
        end: int,
        *,
        after: tuple[int, int] = MIN_KEY,
        limit: int,
        registry: str | None = None,
        status: str | None = None,
        extras: tuple[str, ...] = (),
    ) -> list[Row]:
        """Current blocks of ``scheme``/``scope`` intersecting [start, end] (inclusive), in
        (block_start, id) order, after the key ``after``, at most ``limit``; each row has
        the columns of ``extras`` (of :data:`EXTRA_LEAF`, ...) too."""
        params: dict[str, Any] = {
            "scheme": scheme,
            "scope": scope,
            "start": start,
            "end": end,
            "after_start": after[0],
            "after_id": after[1],
            "limit": limit,
        }
        if registry is not None:
            params["registry"] = registry
        if status is not None:
            params["status"] = status
        if self.dialect == "postgresql":
            sql = _overlap_lateral_sql(registry is not None, status is not None, extras)
            return self.rows(sql, params)
        classes = self.span_classes(scheme, scope)
        if not classes:
            return []
        low = max(after[0], _MIN_BIGINT)
        for i, k in enumerate(classes):
            params[_K[i]] = k
            params[_LO[i]] = max(start - (1 << k) + 1, low)
        sql = _overlap_sql(len(classes), registry is not None, status is not None, extras)
        return self.rows(sql, params)

    def scope_known(self, scheme: str, scope: str) -> bool:
        """Whether the index holds any block numbered in ``scheme``/``scope``."""
        return bool(self.values(_SCOPE_KNOWN, {"scheme": scheme, "scope": scope}))

    def versions_of(
        self, keys: Iterable[tuple[str, str]], *, leaf: bool = False
    ) -> dict[tuple[str, str], list[Row]]:
        """Every stored version of each (registry, record_id), oldest first; with ``leaf``
        each carries ``leaf_hash``, the log's leaf hash of that version (None if unlogged)."""
        template = _VERSIONS_LEAF if leaf else _VERSIONS
        out: dict[tuple[str, str], list[Row]] = {}
        by_registry: dict[str, list[str]] = {}
        for registry, record_id in keys:
            out[(registry, record_id)] = []
            by_registry.setdefault(registry, []).append(record_id)
        for registry, ids in by_registry.items():
            for i in range(0, len(ids), 256):
                size, params = _in_params(ids[i : i + 256])
                params["registry"] = registry
                for row in self.rows(_in_sql(template, size), params):
                    out[(row["registry"], row["record_id"])].append(row)
        return out

    def block_by_key(
        self, registry: str, record_id: str, *, extras: tuple[str, ...] = ()
    ) -> list[Row]:
        """The current row of one record (a list of one, or empty), with ``extras``."""
        return self.rows(_by_key_sql(extras), {"registry": registry, "record_id": record_id})

    def blocks_by_serial(self, serials: Iterable[str]) -> list[Row]:
        """Current blocks whose published serial is one of ``serials``."""
        wanted = sorted(set(serials))
        found: list[Row] = []
        for i in range(0, len(wanted), 256):
            size, params = _in_params(wanted[i : i + 256])
            found.extend(self.rows(_in_sql(_BY_SERIAL, size), params))
        return found

    def project_page(self, project_id: str, *, after: int, limit: int) -> list[Row]:
        """Current blocks of one project across registries, in id order after ``after``."""
        return self.rows(_PROJECT_PAGE, {"project": project_id, "after": after, "limit": limit})

    def project_totals(self, project_id: str) -> list[Row]:
        """Blocks and units per (registry, status) of one project."""
        sql = _TOTALS.format(where="WHERE project_id = :project")
        return self.rows(sql, {"project": project_id})

    def ping(self) -> bool:
        return self.values("SELECT 1") == [1]

    def data_version(self) -> int | None:
        """SQLite's ``PRAGMA data_version``: changes when another connection commits, so
        a value cached with it is still good while it is unchanged. None elsewhere. Read
        once per transaction: the snapshot does not change within it."""
        if self.dialect != "sqlite":
            return None
        if self._data_version is None:
            self._data_version = int(self.values("PRAGMA data_version")[0])
        return self._data_version

    def cached(self, key: Any, compute: Callable[[], T]) -> T:
        """``compute()``, remembered on this connection until another one commits (SQLite);
        elsewhere for this transaction (its snapshot: the read-only engine's transactions are
        REPEATABLE READ), which on PostgreSQL is a batch of lookups (``batches.py``)."""
        version = self.data_version()
        if version is None:
            if key not in self._snapshot:
                self._snapshot[key] = compute()
            return cast(T, self._snapshot[key])
        hit = self._cache.get(key)
        if hit is not None and hit[0] == version:
            return cast(T, hit[1])
        value = compute()
        if len(self._cache) >= _CACHE_ENTRIES:
            # Forget the older half (dicts keep insertion order): a million-block index has
            # hundreds of thousands of scopes, and clearing everything at 4,096 made the
            # span-class probe run again for two lookups in three.
            for old in list(itertools.islice(self._cache, _CACHE_ENTRIES // 2)):
                del self._cache[old]
        self._cache[key] = (version, value)
        return value

    def in_rows(self, template: str, values: Sequence[Any], **params: Any) -> list[Row]:
        """``template`` with ``{in}`` expanded to the placeholders of ``values``."""
        size, bound = _in_params(values)
        return self.rows(_in_sql(template, size), {**bound, **params})


@functools.cache
def _pyformat(sql: str) -> str:
    """``:name`` placeholders as psycopg's ``%(name)s``."""
    return _PLACEHOLDER.sub(r"%(\1)s", sql)
