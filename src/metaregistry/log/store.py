"""The log kept in the index database: appends, roots, proofs and checkpoints.

Every function takes a SQLAlchemy :class:`~sqlalchemy.engine.Connection` and runs inside the
caller's transaction, so a sync run logs its new record versions in the same commit that
stores them: both or neither.

Costs, for a log of n leaves: an append batch reads the frontier (O(log n) nodes, one query)
and inserts one leaf row per entry plus one node row per perfect subtree of an even level it
completes (a third of a row per leaf on average); a root or a proof is O(log n) primary-key
reads in at most two queries. Nothing is ever rebuilt, updated or deleted.

Appends are serialized across processes so that several daemons sharing a database write one
linear history: on PostgreSQL by ``pg_advisory_xact_lock`` (released at commit or rollback),
on SQLite by the database write lock, which the index engine takes when it begins a
transaction (``BEGIN IMMEDIATE``). On PostgreSQL this relies on READ COMMITTED (the default):
the size read after the lock sees every append committed before it.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from hashlib import sha256
from itertools import count
from typing import Any, NamedTuple, TypeVar

from sqlalchemy import Connection, Table, TextClause, func, insert, select, text

from metaregistry.log import merkle
from metaregistry.log.checkpoint import SignedCheckpoint, TreeHead, sign_checkpoint
from metaregistry.log.compact import extend, frontier_nodes
from metaregistry.log.leaf import BlockLeaf, EventLeaf, LeafEntry
from metaregistry.log.merkle import LEAF_PREFIX, Node, NodeReader, TreeRangeError
from metaregistry.log.note import SignatureError, Signer, Verifier, open_note
from metaregistry.log.tables import checkpoints_table as _checkpoints
from metaregistry.log.tables import leaf_hashes_table as _hashes
from metaregistry.log.tables import leaves_table as _leaves

__all__ = [
    "LogCorruptError",
    "StoredLeaf",
    "append_leaves",
    "check_signer",
    "checkpoints",
    "consistency_proof",
    "event_leaf_index",
    "inclusion_proof",
    "is_stored_level",
    "latest_checkpoint",
    "leaf_index",
    "leaf_index_by_hash",
    "leaves",
    "publish_checkpoint",
    "record_leaves",
    "root",
    "tree_size",
]

T = TypeVar("T")

#: Key of the PostgreSQL advisory lock that serializes appends ("mrlog", 1).
APPEND_LOCK_KEY = 0x6D72_6C6F_6700_0001


class LogCorruptError(RuntimeError):
    """A node the tree needs is missing from the database: the log tables were edited."""


class StoredLeaf(NamedTuple):
    leaf_index: int
    leaf_hash: bytes
    data: bytes


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": APPEND_LOCK_KEY})


# Statements are built once: building SQLAlchemy expressions costs more than running these
# primary-key reads, and appends pass rows straight to the driver for the same reason.
_SIZE = select(func.max(_leaves.c.idx))
_LEAF_COLUMNS = (
    "idx",
    "leaf_hash",
    "data",
    "type",
    "registry",
    "record_id",
    "version",
    "event_id",
)


@functools.lru_cache(maxsize=256)
def _nodes_query(leaves: int, inner: int) -> TextClause:
    """One round trip for a proof's nodes: leaf hashes UNION ALL stored inner nodes."""
    parts = []
    if leaves:
        keys = ", ".join(f":x{i}" for i in range(leaves))
        parts.append(
            f"SELECT 0 AS level, idx, leaf_hash AS hash FROM log_leaves WHERE idx IN ({keys})"
        )
    if inner:
        # OR of primary-key equalities, not a row-value IN: SQLite scans the whole table for
        # ``(level, idx) IN (VALUES ...)``, while both databases seek each OR branch.
        where = " OR ".join(f"(level = :l{i} AND idx = :i{i})" for i in range(inner))
        parts.append(f"SELECT level, idx, hash FROM log_nodes WHERE {where}")
    return text(" UNION ALL ".join(parts))


def _insert(conn: Connection, table: str, columns: Sequence[str], rows: list[Any]) -> None:
    """Insert ``rows`` (tuples in ``columns`` order) with the driver's fastest bulk path:
    COPY on PostgreSQL, ``executemany`` on SQLite, both inside the caller's transaction."""
    names = ", ".join(columns)
    if conn.dialect.name == "postgresql":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        with cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marker = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({names}) VALUES ({', '.join([marker] * len(columns))})", rows
    )


def tree_size(conn: Connection) -> int:
    """The number of leaves in the log."""
    last = conn.execute(_SIZE).scalar()
    return 0 if last is None else int(last) + 1


def is_stored_level(level: int) -> bool:
    """Only even levels are stored (level 0 in log_leaves): a node of an odd level is the
    hash of its two children, which saves two thirds of the node rows an append writes."""
    return level % 2 == 0


_is_stored = is_stored_level


def _stored_nodes(conn: Connection, wanted: set[Node]) -> dict[Node, bytes]:
    leaf_idx = [i for level, i in wanted if level == 0]
    inner = [(level, i) for level, i in wanted if level > 0]
    if not wanted:
        return {}
    params: dict[str, int] = {f"x{n}": i for n, i in enumerate(leaf_idx)}
    for n, (level, i) in enumerate(inner):
        params[f"l{n}"], params[f"i{n}"] = level, i
    rows = conn.execute(_nodes_query(len(leaf_idx), len(inner)), params)
    found = {(int(level), int(i)): bytes(h) for level, i, h in rows}
    missing = sorted(wanted - found.keys())
    if missing:
        raise LogCorruptError(f"log nodes (level, index) missing from the database: {missing}")
    return found


_NODE_BATCH = 200


def read_nodes(conn: Connection, wanted: Sequence[Node]) -> list[bytes]:
    """A :data:`~metaregistry.log.merkle.NodeReader` over the database (two queries at most).

    Requires every node asked for to be a completed perfect subtree of the log."""
    need: set[Node] = set()
    for level, i in wanted:
        if _is_stored(level):
            need.add((level, i))
        else:
            need.update(((level - 1, 2 * i), (level - 1, 2 * i + 1)))
    found: dict[Node, bytes] = {}
    ordered = sorted(need)
    # one OR term per node: SQLite refuses expression trees past ~1,000 terms, so batch
    for start in range(0, len(ordered), _NODE_BATCH):
        found.update(_stored_nodes(conn, set(ordered[start : start + _NODE_BATCH])))
    return [
        found[(level, i)]
        if _is_stored(level)
        else merkle.node_hash(found[(level - 1, 2 * i)], found[(level - 1, 2 * i + 1)])
        for level, i in wanted
    ]


def append_leaves(conn: Connection, entries: Sequence[LeafEntry]) -> list[int]:
    """Append ``entries`` in order; returns their leaf indexes. Serialized across processes."""
    if not entries:
        return []
    _lock(conn)
    size = tree_size(conn)
    wanted = frontier_nodes(size)
    frontier = {level: h for (level, _), h in zip(wanted, read_nodes(conn, wanted), strict=True)}
    datas = [entry.data() for entry in entries]
    hashes = [sha256(LEAF_PREFIX + data).digest() for data in datas]
    runs, new_size = extend(frontier, size, hashes)
    rows = [
        (i, h, d, "block", e.registry, e.record_id, e.version, None)
        if isinstance(e, BlockLeaf)
        else (i, h, d, "alert_event", None, None, None, e.event_id)
        if isinstance(e, EventLeaf)
        # an authorization's leaf index is kept on its version row (article6/store.py)
        else (i, h, d, "authorization", None, None, None, None)
        for i, h, d, e in zip(count(size), hashes, datas, entries, strict=False)
    ]
    _insert(conn, "log_leaves", _LEAF_COLUMNS, rows)
    nodes = [
        (level, i, h)
        for level, start, row in runs
        if level and _is_stored(level)
        for i, h in enumerate(row, start)
    ]
    if nodes:
        _insert(conn, "log_nodes", ("level", "idx", "hash"), nodes)
    return list(range(size, new_size))


def _check_size(conn: Connection, size: int) -> None:
    current = tree_size(conn)
    if not 0 <= size <= current:
        raise TreeRangeError(f"tree size {size} is outside the log (it has {current} leaves)")


def _within(conn: Connection, size: int, compute: Callable[[NodeReader], T]) -> T:
    """``compute`` over the stored nodes, for a tree of ``size``. The size is checked only
    when no node was read or one was missing (a size beyond the log always misses one), so
    the common case costs a single query."""
    reads = 0

    def read(nodes: Sequence[Node]) -> list[bytes]:
        nonlocal reads
        reads += bool(nodes)
        return read_nodes(conn, nodes)

    try:
        result = compute(read)
    except LogCorruptError:
        _check_size(conn, size)
        raise
    if not reads:
        _check_size(conn, size)
    return result


def root(conn: Connection, size: int | None = None) -> bytes:
    """The root of the log at ``size`` (default: now). Requires 0 <= size <= tree size."""
    if size is None:
        size = tree_size(conn)
    return _within(conn, size, lambda read: merkle.root(size, read))


def inclusion_proof(conn: Connection, leaf_index: int, size: int) -> list[bytes]:
    """PATH(leaf_index, D[size]). Requires 0 <= leaf_index < size <= tree size."""
    return _within(conn, size, lambda read: merkle.inclusion_proof(leaf_index, size, read))


def consistency_proof(conn: Connection, old: int, new: int) -> list[bytes]:
    """PROOF(old, D[new]). Requires 0 <= old <= new <= tree size."""
    return _within(conn, new, lambda read: merkle.consistency_proof(old, new, read))


def _first_index(conn: Connection, *where: Any, table: Table = _leaves) -> int | None:
    found = conn.execute(select(func.min(table.c.idx)).where(*where)).scalar()
    return None if found is None else int(found)


def leaf_index(conn: Connection, registry: str, record_id: str, version: int) -> int | None:
    """Index of the leaf of one version of a unit block, or None when it was never logged."""
    c = _leaves.c
    return _first_index(
        conn, c.registry == registry, c.record_id == record_id, c.version == version
    )


def event_leaf_index(conn: Connection, event_id: str) -> int | None:
    """Index of the leaf of an alert event, or None."""
    return _first_index(conn, _leaves.c.event_id == event_id)


def leaf_index_by_hash(conn: Connection, leaf_hash: bytes) -> int | None:
    """Index of the first leaf with this leaf hash, or None.

    Leaves up to the latest checkpoint are found in ``log_leaf_hashes``; the tail appended
    since is scanned (it is one sync's worth when a checkpoint follows every sync).
    """
    found = _first_index(conn, _hashes.c.leaf_hash == leaf_hash, table=_hashes)
    if found is not None:
        return found
    return _first_index(
        conn, _leaves.c.idx >= _indexed_size(conn), _leaves.c.leaf_hash == leaf_hash
    )


def _indexed_size(conn: Connection) -> int:
    """Leaves below this index are in ``log_leaf_hashes`` (the biggest checkpoint's size)."""
    size = conn.execute(select(func.max(_checkpoints.c.size))).scalar()
    return 0 if size is None else int(size)


def _index_hashes(conn: Connection, size: int) -> None:
    """Add the leaves ``[indexed size, size)`` to ``log_leaf_hashes``, sorted by hash, so the
    B-tree is written in order (once per checkpoint instead of a random insert per leaf)."""
    begin = _indexed_size(conn)
    if size > begin:
        c = _leaves.c
        rows = select(c.leaf_hash, c.idx).where(c.idx >= begin, c.idx < size)
        conn.execute(insert(_hashes).from_select(["leaf_hash", "idx"], rows.order_by(c.leaf_hash)))


def as_bytes(value: Any) -> bytes:
    """A binary column's value as bytes. SQLite keeps whatever was written: a leaf written
    as text by an editor (or an old tool) comes back as ``str``; its UTF-8 bytes are what
    the leaf hash was computed over, if it is honest."""
    if isinstance(value, str):
        return value.encode("utf-8")
    return bytes(value)


def _stored(rows: Any) -> list[StoredLeaf]:
    return [StoredLeaf(int(i), as_bytes(h), as_bytes(d)) for i, h, d in rows]


def leaves(conn: Connection, start: int, end: int) -> list[StoredLeaf]:
    """The leaves with ``start <= index < end``, in order."""
    c = _leaves.c
    query = select(c.idx, c.leaf_hash, c.data).where(c.idx >= start, c.idx < end)
    return _stored(conn.execute(query.order_by(c.idx)))


def record_leaves(conn: Connection, registry: str, record_id: str) -> list[StoredLeaf]:
    """Every logged version of one unit block, oldest first."""
    c = _leaves.c
    query = select(c.idx, c.leaf_hash, c.data).where(
        c.registry == registry, c.record_id == record_id
    )
    return _stored(conn.execute(query.order_by(c.idx)))


def _checkpoint(row: Any) -> SignedCheckpoint:
    return SignedCheckpoint(TreeHead(row.origin, int(row.size), bytes(row.root)), row.note)


def latest_checkpoint(conn: Connection) -> SignedCheckpoint | None:
    """The checkpoint published last, or None before the first."""
    query = select(_checkpoints).order_by(_checkpoints.c.id.desc()).limit(1)
    row = conn.execute(query).first()
    return None if row is None else _checkpoint(row)


def checkpoints(conn: Connection) -> list[SignedCheckpoint]:
    """Every checkpoint published, oldest first."""
    return [_checkpoint(r) for r in conn.execute(select(_checkpoints).order_by(_checkpoints.c.id))]


def check_signer(conn: Connection, signer: Signer, origin: str) -> SignedCheckpoint | None:
    """Raise :class:`SignatureError` (one line, saying what to do) when the latest checkpoint
    of ``origin`` was signed by another key than ``signer``'s; returns the latest checkpoint.
    Write paths call it before writing anything, so a wrong key stops them before the data
    is stored rather than after (when no checkpoint could cover it)."""
    last = latest_checkpoint(conn)
    if last is not None and last.origin == origin:
        try:
            open_note(last.note, Verifier(None, signer.public_key))
        except SignatureError:
            raise SignatureError(
                f"the log's checkpoints of origin {origin} are signed by another key than this "
                "one; use the key that signed them (a new key needs a new origin)"
            ) from None
    return last


def publish_checkpoint(conn: Connection, signer: Signer, origin: str) -> SignedCheckpoint:
    """Sign and store a checkpoint of the log as it is now; returns it.

    Returns the latest checkpoint unchanged when the log has not grown since (same origin).
    Raises :class:`SignatureError` when the latest checkpoint of ``origin`` was signed by
    another key: a new key must start a new origin (see :mod:`metaregistry.log.checkpoint`).
    """
    _lock(conn)
    size = tree_size(conn)
    last = check_signer(conn, signer, origin)
    if last is not None and last.origin == origin and last.size == size:
        return last
    _index_hashes(conn, size)
    head = TreeHead(origin, size, merkle.root(size, lambda nodes: read_nodes(conn, nodes)))
    signed = sign_checkpoint(head, signer)
    conn.execute(
        insert(_checkpoints).values(
            origin=origin,
            size=size,
            root=head.root,
            note=signed.note,
            created_at=datetime.now(UTC),
        )
    )
    return signed
