"""Inclusion proofs for lookups: each block's current version, proved against the latest
signed checkpoint of the tamper-evident log (:mod:`metaregistry.log`).

A client checks a block without trusting this server: rebuild the leaf from the block
(``{"type": "block", "registry", "record_id", "version", "record_hash"}`` in RFC 8785 bytes),
hash it with the 0x00 prefix, fold the proof's hashes up to a root (RFC 9162 2.1.3.2), and
compare with the root of the checkpoint, whose signature it checks with the key published at
``/v1/log/key``. A version logged after the latest checkpoint has no proof yet (``pending``).

Cost. A proof needs about log2(n) subtree hashes. Every perfect subtree of an append-only
log is immutable, so :class:`NodeCache` keeps their hashes for the life of the process
(``[api] proof_cache_mb``; the default holds every level of a million-leaf log, leaves
included). A proof is then slices of memory and no statement: the lookup's overlap query
already carries each block's leaf index. A larger log keeps only the levels that fit; the
small subtrees under them are hashed here from one range read of the leaf hashes around
the leaf.
"""

from __future__ import annotations

import base64
import functools
import threading
from collections.abc import Sequence
from typing import Any, Final

from metaregistry.api.queries import Db
from metaregistry.log import merkle
from metaregistry.log import store as log_store
from metaregistry.log.checkpoint import SignedCheckpoint, TreeHead

__all__ = [
    "DEFAULT_ENTRIES",
    "MIN_CACHED_LEVEL",
    "ONE_LOOKUP_PROOF_ENTRIES",
    "NodeCache",
    "checkpoint_json",
    "latest_checkpoint",
    "log_head",
    "proofs_for",
]

#: Subtrees of at least 2**MIN_CACHED_LEVEL leaves may be cached (see NodeCache.level):
#: from single leaves up, when the budget holds the whole tree.
MIN_CACHED_LEVEL: Final = 0
#: The default budget: 2**21 hashes, 64 MB, the whole tree of a log of a million leaves.
DEFAULT_ENTRIES: Final = 1 << 21
#: A cache for one lookup (``metaregistry lookup``): a few thousand upper nodes, so that a
#: proof reads a few hundred leaves instead of loading the whole tree.
ONE_LOOKUP_PROOF_ENTRIES: Final = 4096
_EDGE_ENTRIES: Final = 4096
#: Levels of a proof from this one up are shared by 2**SHARED_LEVEL leaves (proof_hex).
SHARED_LEVEL: Final = 8

_LEAF_RANGE: Final = (
    "SELECT idx, leaf_hash FROM log_leaves WHERE idx >= :start AND idx < :end ORDER BY idx"
)
_NODE_RANGE: Final = (
    "SELECT idx, hash FROM log_nodes WHERE level = :level AND idx >= :start AND idx < :end"
    " ORDER BY idx"
)
_CHECKPOINT: Final = "SELECT origin, size, root, note FROM log_checkpoints ORDER BY id DESC LIMIT 1"


def latest_checkpoint(db: Db) -> SignedCheckpoint | None:
    def read() -> SignedCheckpoint | None:
        rows = db.rows(_CHECKPOINT)
        if not rows:
            return None
        row = rows[0]
        head = TreeHead(row["origin"], int(row["size"]), bytes(row["root"]))
        return SignedCheckpoint(head, row["note"])

    return db.cached("checkpoint", read)


def log_head(db: Db, cache: NodeCache) -> str:
    """Whether lookups can prove what they serve (the readiness part of ``/healthz``): the
    latest checkpoint's root, recomputed both from the stored tree and through ``cache`` (the
    path every proof takes), is the signed one. Returns a short description; raises
    :class:`~metaregistry.log.store.LogCorruptError` naming what is damaged."""
    checkpoint = latest_checkpoint(db)
    if checkpoint is None:
        return "ok: no checkpoint yet"
    conn = db.sa
    size = log_store.tree_size(conn)
    if checkpoint.size > size:
        raise log_store.LogCorruptError(
            f"the latest checkpoint covers {checkpoint.size} leaves, the log holds {size}"
        )
    stored = log_store.root(conn, checkpoint.size)
    if checkpoint.size:
        cached = merkle.root(checkpoint.size, cache.reader(db, checkpoint.size))
    else:
        cached = stored
    if stored != checkpoint.root or cached != checkpoint.root:
        raise log_store.LogCorruptError(
            f"the log's tree of {checkpoint.size} leaves no longer hashes to the root of its "
            "checkpoint: log rows were changed"
        )
    return f"ok: {size} leaves, checkpoint of {checkpoint.size}"


def checkpoint_json(checkpoint: SignedCheckpoint | None) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return dict(_checkpoint_json(checkpoint))


@functools.lru_cache(maxsize=8)
def _checkpoint_json(checkpoint: SignedCheckpoint) -> dict[str, Any]:
    return {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root).decode(),
        "note": checkpoint.note,
    }


class NodeCache:
    """Hashes of the log's perfect subtrees at and above one level, for the life of the
    process, shared by its threads.

    Each level is one ``bytearray`` of 32-byte hashes in index order (32 bytes a node, where
    a dict of ``(level, index)`` tuples to ``bytes`` cost about 160): a node is a slice at
    ``32 * index``. Which level is the lowest depends on the tree: the smallest ``L >= 0``
    whose subtrees and everything above them (about ``2 * size / 2**L`` nodes) fit in
    ``entries``; smaller subtrees are hashed from their ``2**L`` leaves at most. At a million
    leaves and the default ``entries`` that is ``L = 0``: a proof is slices of memory, the
    leaf's own hash included. :meth:`fill` loads the levels at once (the app does it at
    startup, one range read per stored level); a level is extended on demand as the log
    grows, under a lock (two threads must not append the same nodes). Complete perfect
    subtrees never change, so nothing is ever invalidated; when the tree outgrows
    ``entries`` the lowest level is raised and the levels below it are dropped.
    """

    def __init__(self, entries: int = DEFAULT_ENTRIES) -> None:
        if entries < 2:
            raise ValueError(f"a proof cache needs room for 2 hashes at least, got {entries}")
        self._entries = entries
        self._levels: dict[int, bytearray] = {}
        self._lowest = MIN_CACHED_LEVEL
        self._grow = threading.Lock()
        self._edges: dict[tuple[int, int], bytes] = {}
        # proof_hex's upper paths, per group of 2**SHARED_LEVEL leaves, for one tree size
        self._groups: dict[int, list[str]] = {}
        self._groups_size = -1

    @classmethod
    def of_megabytes(cls, megabytes: float) -> NodeCache:
        """A cache of at most ``megabytes`` of hashes (32 bytes each)."""
        return cls(max(2, int(megabytes * 2**20) // 32))

    def level(self, size: int) -> int:
        level = MIN_CACHED_LEVEL
        while (size >> level) * 2 > self._entries:
            level += 1
        return level

    def __len__(self) -> int:
        return sum(len(hashes) // 32 for hashes in self._levels.values())

    def fill(self, db: Db, size: int) -> int:
        """Load every cached-level subtree of the tree of ``size``; returns how many nodes
        the cache holds."""
        lowest = self.level(size)
        for level in range(lowest, size.bit_length()):
            self._extend(db, level, size >> level, lowest)
        return len(self)

    def _extend(self, db: Db, level: int, count: int, lowest: int) -> bytearray:
        """Level ``level`` with at least its first ``count`` nodes (all complete)."""
        hashes = self._levels.get(level)
        if hashes is not None and len(hashes) >= 32 * count:
            return hashes
        with self._grow:
            if lowest > self._lowest:  # the tree outgrew the budget: drop the low levels
                self._lowest = lowest
                for old in [k for k in self._levels if k < lowest]:
                    del self._levels[old]
            hashes = self._levels.setdefault(level, bytearray())
            have = len(hashes) // 32
            if have < count:
                hashes += _level_hashes(db, level, have, count)
            return hashes

    def _node(self, db: Db, level: int, index: int, size: int, lowest: int) -> bytes:
        """The hash of node (level, index) of the tree of ``size`` (level >= ``lowest``)."""
        at = 32 * index
        hashes = self._levels.get(level)
        if hashes is None or len(hashes) < at + 32:
            hashes = self._extend(db, level, size >> level, lowest)
        return bytes(hashes[at : at + 32])

    def reader(self, db: Db, size: int) -> merkle.NodeReader:
        """A NodeReader over ``db`` for proofs in the tree of ``size``, using the cache."""
        lowest = self.level(size)

        def read(wanted: Sequence[merkle.Node]) -> list[bytes]:
            small = [node for node in wanted if node[0] < lowest]
            found = _small_nodes(db, small) if small else {}
            return [
                found[node] if node[0] < lowest else self._node(db, *node, size, lowest)
                for node in wanted
            ]

        return read

    def proof(
        self, db: Db, index: int, size: int, leaves: dict[int, bytes] | None = None
    ) -> list[bytes]:
        """PATH(index, D[size]), as :func:`metaregistry.log.merkle.inclusion_proof` gives it.

        Bottom-up, with ``inner`` the bit length of ``index ^ (size - 1)`` (the levels
        where the leaf and the tree's last leaf are in different subtrees): below
        ``inner - 1`` every sibling is a complete perfect subtree; at ``inner - 1`` the
        sibling is the range from the next subtree to the end of the tree (perfect, or an
        edge whose hash is the same for every leaf left of it: remembered per range); above
        it, the leaf is on the tree's right border and each level where it is a right child
        adds its left sibling. Perfect subtrees are slices of the cache, or hashed from the
        leaves below its lowest level (``leaves`` may hold some already read: the leaf's
        aligned block). Requires 0 <= index < size <= the log's size.
        """
        if not 0 <= index < size:
            raise merkle.TreeRangeError(f"leaf index {index} is outside a tree of size {size}")
        lowest = self.level(size)
        levels = self._levels
        out: list[bytes] = []
        small: list[tuple[int, merkle.Node]] = []

        def take(level: int, node: int) -> None:
            if level < lowest:
                small.append((len(out), (level, node)))
                out.append(b"")
                return
            at = node << 5
            hashes = levels.get(level)
            if hashes is None or len(hashes) < at + 32:
                hashes = self._extend(db, level, size >> level, lowest)
            out.append(bytes(hashes[at : at + 32]))

        inner = (index ^ (size - 1)).bit_length()
        for level in range(inner - 1):
            take(level, (index >> level) ^ 1)
        if inner:
            level = inner - 1
            begin = ((index >> level) + 1) << level
            if size - begin == 1 << level:
                take(level, begin >> level)
            else:
                out.append(self._edge(db, size, begin, size))
        for level in range(inner, size.bit_length()):
            if (index >> level) & 1:
                take(level, (index >> level) - 1)
        if small:
            hashed = _small_nodes(db, [node for _, node in small], leaves)
            for position, node in small:
                out[position] = hashed[node]
        return out

    def proof_hex(self, db: Db, index: int, size: int) -> tuple[str, list[str]] | None:
        """(leaf hash, PATH(index, D[size])) as hex, when the cache holds the whole tree of
        ``size`` (its lowest level is the leaves); else None.

        A lookup's path: the levels below :data:`SHARED_LEVEL` are slices of the cache;
        those from it up depend only on ``index >> SHARED_LEVEL`` (and ``size``), so their
        hex is kept per such group of leaves for the latest size (at a million leaves about
        4,000 groups, 5 MB): half of a proof's work, done once per group."""
        if index >= size or self.level(size) != 0:
            return None
        leaf = self._node(db, 0, index, size, 0).hex()
        if self._groups_size != size:
            self._groups = {}
            self._groups_size = size
        # The walk of proof() below SHARED_LEVEL, written out again: this runs for every
        # block of every lookup, and the shared walk with its closure and copies cost a
        # third more (14 against 18 us a proof at a million leaves).
        levels = self._levels
        out: list[str] = []
        inner = (index ^ (size - 1)).bit_length()
        for level in range(min(inner - 1, SHARED_LEVEL)):
            at = ((index >> level) ^ 1) << 5
            hashes = levels.get(level)
            if hashes is None or len(hashes) < at + 32:
                hashes = self._extend(db, level, size >> level, 0)
            out.append(hashes[at : at + 32].hex())
        if 0 < inner <= SHARED_LEVEL:
            level = inner - 1
            begin = ((index >> level) + 1) << level
            if size - begin == 1 << level:
                out.append(self._node(db, level, begin >> level, size, 0).hex())
            else:
                out.append(self._edge(db, size, begin, size).hex())
        for level in range(inner, SHARED_LEVEL):
            if (index >> level) & 1:
                out.append(self._node(db, level, (index >> level) - 1, size, 0).hex())
        upper = self._groups.get(index >> SHARED_LEVEL)
        if upper is None:
            upper = [h.hex() for h in self.proof(db, index, size)[len(out) :]]
            self._groups[index >> SHARED_LEVEL] = upper
        return leaf, out + upper

    def _edge(self, db: Db, size: int, begin: int, end: int) -> bytes:
        hit = self._edges.get((begin, end))
        if hit is None:
            read = self.reader(db, size)
            hit = merkle.range_hash(read(merkle.range_nodes(begin, end)))
            if len(self._edges) > _EDGE_ENTRIES:  # old tree sizes' edges
                self._edges = {}
            self._edges[(begin, end)] = hit
        return hit


def _level_hashes(db: Db, level: int, first: int, end: int) -> bytes:
    """Hashes of nodes ``first..end-1`` of ``level``, concatenated: one range read of the
    level when the store keeps it (:func:`metaregistry.log.store.stored_level`), else of the
    level below, hashed in pairs."""
    if level == 0:
        rows = db.rows(_LEAF_RANGE, {"start": first, "end": end})
        found = [bytes(row["leaf_hash"]) for row in rows]
    elif log_store.is_stored_level(level):
        rows = db.rows(_NODE_RANGE, {"level": level, "start": first, "end": end})
        found = [bytes(row["hash"]) for row in rows]
    else:
        below = _level_hashes(db, level - 1, 2 * first, 2 * end)
        return b"".join(
            merkle.node_hash(below[i : i + 32], below[i + 32 : i + 64])
            for i in range(0, len(below), 64)
        )
    if len(found) != end - first:
        raise log_store.LogCorruptError(
            f"log level {level} holds {len(found)} of the nodes {first}..{end - 1}"
        )
    return b"".join(found)


def _small_nodes(
    db: Db, wanted: Sequence[merkle.Node], leaves: dict[int, bytes] | None = None
) -> dict[merkle.Node, bytes]:
    """Small subtrees, hashed from their leaves (given, or read in one range read)."""
    start = min(index << level for level, index in wanted)
    end = max((index + 1) << level for level, index in wanted)
    if leaves is None or any(i not in leaves for i in (start, end - 1)):
        rows = db.rows(_LEAF_RANGE, {"start": start, "end": end})
        leaves = {int(row["idx"]): bytes(row["leaf_hash"]) for row in rows}
    out: dict[merkle.Node, bytes] = {}
    for level, index in wanted:
        first = index << level
        try:
            layer = [leaves[i] for i in range(first, first + (1 << level))]
        except KeyError as exc:
            raise log_store.LogCorruptError(f"log leaf {exc.args[0]} is missing") from None
        while len(layer) > 1:
            layer = [merkle.node_hash(layer[i], layer[i + 1]) for i in range(0, len(layer), 2)]
        out[(level, index)] = layer[0]
    return out


def proofs_for(
    db: Db,
    leaves: Sequence[tuple[tuple[str, str], int | None]],
    checkpoint: SignedCheckpoint | None,
    cache: NodeCache,
) -> dict[tuple[str, str], dict[str, Any] | None]:
    """The inclusion proof of each block's current version, given as ((registry,
    record_id), leaf index of that version or None when the log does not hold it: the
    overlap query's ``leaf_index``); keyed by (registry, record_id)."""
    out: dict[tuple[str, str], dict[str, Any] | None] = {}
    size = checkpoint.size if checkpoint is not None else 0
    width = 1 << cache.level(size)
    for key, index in leaves:
        if index is None:
            out[key] = None
            continue
        fast = cache.proof_hex(db, index, size)
        if fast is not None:
            leaf_hex, path = fast
        else:
            # Not all in memory: read the leaf with its aligned block (whose small subtrees
            # the proof hashes), or alone when it is after the checkpoint.
            first = index - index % width if index < size else index
            last = first + width if index < size else index + 1
            rows = db.rows(_LEAF_RANGE, {"start": first, "end": last})
            block = {int(row["idx"]): bytes(row["leaf_hash"]) for row in rows}
            if index not in block:
                raise log_store.LogCorruptError(f"log leaf {index} is missing")
            leaf_hex = block[index].hex()
            if index >= size:
                out[key] = {
                    "leaf_index": index,
                    "leaf_hash": leaf_hex,
                    "tree_size": None,
                    "hashes": None,
                    "pending": True,
                }
                continue
            path = [h.hex() for h in cache.proof(db, index, size, block)]
        out[key] = {
            "leaf_index": index,
            "leaf_hash": leaf_hex,
            "tree_size": size,
            "hashes": path,
            "pending": False,
        }
    return out
