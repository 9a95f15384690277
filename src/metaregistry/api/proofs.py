"""Inclusion proofs for lookups: each block's current version, proved against the latest
signed checkpoint of the tamper-evident log (:mod:`metaregistry.log`).

A client checks a block without trusting this server: rebuild the leaf from the block
(``{"type": "block", "registry", "record_id", "version", "record_hash"}`` in RFC 8785 bytes),
hash it with the 0x00 prefix, fold the proof's hashes up to a root (RFC 9162 2.1.3.2), and
compare with the root of the checkpoint, whose signature it checks with the key published at
``/v1/log/key``. A version logged after the latest checkpoint has no proof yet (``pending``).

The proof is computed by :func:`metaregistry.log.merkle.inclusion_proof` over the log's
stored nodes, read here with raw SQL on the lookup's own transaction (the log store's Core
reader costs more than the rest of a lookup). The checkpoint is remembered per connection
until the database changes.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Final

from metaregistry.api.queries import Db
from metaregistry.log import merkle
from metaregistry.log.checkpoint import SignedCheckpoint, TreeHead
from metaregistry.log.store import LogCorruptError

__all__ = ["checkpoint_json", "latest_checkpoint", "proofs_for"]

_LEAF: Final = (
    "SELECT idx, leaf_hash FROM log_leaves"
    " WHERE registry = :registry AND record_id = :record_id AND version = :version"
    " ORDER BY idx LIMIT 1"
)
_CHECKPOINT: Final = "SELECT origin, size, root, note FROM log_checkpoints ORDER BY id DESC LIMIT 1"
_LEAF_HASHES: Final = "SELECT idx, leaf_hash FROM log_leaves WHERE idx IN ({in})"
_NODES: Final = "SELECT level, idx, hash FROM log_nodes WHERE level = :level AND idx IN ({in})"


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


def read_nodes(db: Db, wanted: Sequence[merkle.Node]) -> list[bytes]:
    """A :data:`~metaregistry.log.merkle.NodeReader` over the log's tables."""
    found: dict[merkle.Node, bytes] = {}
    by_level: dict[int, list[int]] = {}
    for level, index in wanted:
        by_level.setdefault(level, []).append(index)
    for level, indexes in by_level.items():
        if level == 0:
            for row in db.in_rows(_LEAF_HASHES, indexes):
                found[(0, int(row["idx"]))] = bytes(row["leaf_hash"])
        else:
            for row in db.in_rows(_NODES, indexes, level=level):
                found[(level, int(row["idx"]))] = bytes(row["hash"])
    missing = [node for node in wanted if node not in found]
    if missing:
        raise LogCorruptError(f"log nodes (level, index) missing from the database: {missing}")
    return [found[node] for node in wanted]


def proofs_for(
    db: Db, versions: Sequence[tuple[str, str, int]], checkpoint: SignedCheckpoint | None
) -> dict[tuple[str, str], dict[str, Any] | None]:
    """The inclusion proof of each (registry, record_id, version), keyed by (registry,
    record_id); None for a version the log does not hold."""
    out: dict[tuple[str, str], dict[str, Any] | None] = {}
    for registry, record_id, version in versions:
        found = db.rows(_LEAF, {"registry": registry, "record_id": record_id, "version": version})
        if not found:
            out[(registry, record_id)] = None
            continue
        index = int(found[0]["idx"])
        proof: dict[str, Any] = {
            "leaf_index": index,
            "leaf_hash": bytes(found[0]["leaf_hash"]).hex(),
        }
        if checkpoint is None or index >= checkpoint.size:
            proof.update(tree_size=None, hashes=None, pending=True)
        else:
            hashes = merkle.inclusion_proof(
                index, checkpoint.size, lambda nodes: read_nodes(db, nodes)
            )
            proof.update(tree_size=checkpoint.size, hashes=[h.hex() for h in hashes], pending=False)
        out[(registry, record_id)] = proof
    return out
