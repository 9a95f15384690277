"""Inclusion proofs for lookups: each block's current version, proved against the latest
signed checkpoint of the tamper-evident log (:mod:`metaregistry.log`).

A client checks a block without trusting this server: rebuild the leaf from the block
(``{"type": "block", "registry", "record_id", "version", "record_hash"}`` in RFC 8785 bytes),
hash it with the 0x00 prefix, fold the proof's hashes up to a root (RFC 9162 2.1.3.2), and
compare with the root of the checkpoint, whose signature it checks with the key published at
``/v1/log/key``. A version logged after the latest checkpoint has no proof yet (``pending``).

Cost. A proof needs about log2(n) subtree hashes. Every perfect subtree of an append-only
log is immutable, so :class:`NodeCache` keeps the hashes of the large ones for the life of
the process, read through the log store's reader (:func:`metaregistry.log.store.read_nodes`,
which knows which nodes the store keeps). The small subtrees near the leaf are hashed here
from one range read of the leaf hashes around it. A proof then costs one indexed read of a
few dozen rows and as many SHA-256 operations instead of a dozen node reads.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Final

from metaregistry.api.queries import Db
from metaregistry.log import merkle
from metaregistry.log import store as log_store
from metaregistry.log.checkpoint import SignedCheckpoint, TreeHead

__all__ = ["MIN_CACHED_LEVEL", "NodeCache", "checkpoint_json", "latest_checkpoint", "proofs_for"]

#: Subtrees of at least 2**MIN_CACHED_LEVEL leaves may be cached (see NodeCache.level).
MIN_CACHED_LEVEL: Final = 4
_CACHE_ENTRIES: Final = 1 << 17  # about 20 MB at most
_EDGE_ENTRIES: Final = 4096

# The leaf of one version, with the leaves of its aligned block of ``width`` (the small
# subtrees of its proof are hashed from them): one statement instead of two.
_LEAF_BLOCK: Final = (
    "SELECT me.idx AS leaf_index, l.idx, l.leaf_hash FROM"
    " (SELECT idx FROM log_leaves"
    "  WHERE registry = :registry AND record_id = :record_id AND version = :version"
    "  ORDER BY idx LIMIT 1) me"
    " JOIN log_leaves l ON l.idx >= (me.idx / :width) * :width"
    " AND l.idx < (me.idx / :width) * :width + :width"
)
_LEAF_RANGE: Final = (
    "SELECT idx, leaf_hash FROM log_leaves WHERE idx >= :start AND idx < :end ORDER BY idx"
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


def checkpoint_json(checkpoint: SignedCheckpoint | None) -> dict[str, Any] | None:
    if checkpoint is None:
        return None
    return {
        "origin": checkpoint.origin,
        "size": checkpoint.size,
        "root": base64.b64encode(checkpoint.root).decode(),
        "note": checkpoint.note,
    }


class NodeCache:
    """Hashes of the large perfect subtrees of the log, shared by the threads of a process
    (dict operations are atomic under the GIL; a lost race costs one read).

    Which subtrees count as large depends on the tree: the smallest level ``L >= 4`` whose
    subtrees (about ``2 * size / 2**L`` of them) fit in ``entries``; smaller subtrees are
    hashed from their ``2**L`` leaves at most. :meth:`fill` loads them all at once (the app
    does it at startup); misses fill one at a time. Bounded: when full it starts over.
    """

    def __init__(self, entries: int = _CACHE_ENTRIES) -> None:
        self._entries = entries
        self._hashes: dict[merkle.Node, bytes] = {}
        self._edges: dict[tuple[int, int], bytes] = {}

    def level(self, size: int) -> int:
        level = MIN_CACHED_LEVEL
        while (size >> level) * 2 > self._entries:
            level += 1
        return level

    def __len__(self) -> int:
        return len(self._hashes)

    def fill(self, db: Db, size: int, *, batch: int = 200) -> int:
        """Load every cached-size subtree of the tree of ``size``; returns how many."""
        wanted = [
            (level, index)
            for level in range(self.level(size), size.bit_length())
            for index in range(size >> level)
            if (level, index) not in self._hashes
        ]
        # Small batches: the store reads nodes with one OR term each (SQLite caps the depth).
        for i in range(0, len(wanted), batch):
            chunk = wanted[i : i + batch]
            self._store(chunk, log_store.read_nodes(db.sa, chunk))
        return len(wanted)

    def _store(self, nodes: Sequence[merkle.Node], hashes: Sequence[bytes]) -> None:
        if len(self._hashes) + len(nodes) > self._entries:
            self._hashes = {}
        self._hashes.update(zip(nodes, hashes, strict=True))

    def reader(self, db: Db, size: int) -> merkle.NodeReader:
        """A NodeReader over ``db`` for proofs in the tree of ``size``, using the cache."""
        cached_level = self.level(size)

        def read(wanted: Sequence[merkle.Node]) -> list[bytes]:
            found: dict[merkle.Node, bytes] = {}
            small = [node for node in wanted if node[0] < cached_level]
            if small:
                found.update(_small_nodes(db, small))
            missing = []
            for node in wanted:
                if node[0] >= cached_level:
                    hit = self._hashes.get(node)
                    if hit is None:
                        missing.append(node)
                    else:
                        found[node] = hit
            if missing:
                read_back = log_store.read_nodes(db.sa, missing)
                self._store(missing, read_back)
                found.update(zip(missing, read_back, strict=True))
            return [found[node] for node in wanted]

        return read

    def proof(
        self, db: Db, index: int, size: int, leaves: dict[int, bytes] | None = None
    ) -> list[bytes]:
        """PATH(index, D[size]), as :func:`metaregistry.log.merkle.inclusion_proof` gives it.

        Every range of the path is either one perfect subtree (hashed from the leaves when
        small, else from the cache) or a range at the right edge of the tree, whose hash
        is the same for every leaf left of it: those are remembered per (begin, end).
        ``leaves`` may hold leaf hashes by index already read (the leaf's aligned block).
        Requires 0 <= index < size <= the log's size.
        """
        cached_level = self.level(size)
        ranges = merkle.inclusion_ranges(index, size)
        out: list[bytes] = [b""] * len(ranges)
        small: list[tuple[int, merkle.Node]] = []
        large: list[tuple[int, merkle.Node]] = []
        for position, (begin, end) in enumerate(ranges):
            width = end - begin
            if width & (width - 1) == 0 and begin & (width - 1) == 0:
                level = width.bit_length() - 1
                node = (level, begin >> level)
                (small if level < cached_level else large).append((position, node))
            else:
                out[position] = self._edge(db, size, begin, end)
        if small:
            hashed = _small_nodes(db, [node for _, node in small], leaves)
            for position, node in small:
                out[position] = hashed[node]
        if large:
            read = self.reader(db, size)
            for (position, _), value in zip(large, read([n for _, n in large]), strict=True):
                out[position] = value
        return out

    def _edge(self, db: Db, size: int, begin: int, end: int) -> bytes:
        hit = self._edges.get((begin, end))
        if hit is None:
            read = self.reader(db, size)
            hit = merkle.range_hash(read(merkle.range_nodes(begin, end)))
            if len(self._edges) > _EDGE_ENTRIES:  # old tree sizes' edges
                self._edges = {}
            self._edges[(begin, end)] = hit
        return hit


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
    versions: Sequence[tuple[str, str, int]],
    checkpoint: SignedCheckpoint | None,
    cache: NodeCache,
) -> dict[tuple[str, str], dict[str, Any] | None]:
    """The inclusion proof of each (registry, record_id, version), keyed by (registry,
    record_id); None for a version the log does not hold."""
    out: dict[tuple[str, str], dict[str, Any] | None] = {}
    width = 1 << cache.level(checkpoint.size) if checkpoint is not None else 1
    for registry, record_id, version in versions:
        found = db.rows(
            _LEAF_BLOCK,
            {"registry": registry, "record_id": record_id, "version": version, "width": width},
        )
        if not found:
            out[(registry, record_id)] = None
            continue
        index = int(found[0]["leaf_index"])
        leaves = {int(row["idx"]): bytes(row["leaf_hash"]) for row in found}
        proof: dict[str, Any] = {"leaf_index": index, "leaf_hash": leaves[index].hex()}
        if checkpoint is None or index >= checkpoint.size:
            proof.update(tree_size=None, hashes=None, pending=True)
        else:
            hashes = cache.proof(db, index, checkpoint.size, leaves)
            proof.update(tree_size=checkpoint.size, hashes=[h.hex() for h in hashes], pending=False)
        out[(registry, record_id)] = proof
    return out
