"""Inclusion proofs for lookups: each block's current version, proved against the latest
signed checkpoint of the tamper-evident log (:mod:`metaregistry.log`).

A client checks a block without trusting this server: rebuild the leaf from the block
(``{"type": "block", "registry", "record_id", "version", "record_hash"}`` in RFC 8785 bytes),
hash it with the 0x00 prefix, fold the proof's hashes up to a root (RFC 9162 2.1.3.2), and
compare with the root of the checkpoint, whose signature it checks with the key published at
``/v1/log/key``. A version logged after the latest checkpoint has no proof yet (``pending``).

The leaf and the checkpoint are read with raw SQL on the lookup's own transaction, the
checkpoint remembered per connection until the database changes; the proof's nodes come from
the log store's reader (:func:`metaregistry.log.store.read_nodes`), which knows which nodes
the store keeps.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any, Final

from metaregistry.api.queries import Db
from metaregistry.log import merkle
from metaregistry.log import store as log_store
from metaregistry.log.checkpoint import SignedCheckpoint, TreeHead

__all__ = ["checkpoint_json", "latest_checkpoint", "proofs_for"]

_LEAF: Final = (
    "SELECT idx, leaf_hash FROM log_leaves"
    " WHERE registry = :registry AND record_id = :record_id AND version = :version"
    " ORDER BY idx LIMIT 1"
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
            # The log store decides which nodes it keeps; its reader rebuilds the others.
            hashes = merkle.inclusion_proof(
                index, checkpoint.size, lambda nodes: log_store.read_nodes(db.sa, nodes)
            )
            proof.update(tree_size=checkpoint.size, hashes=[h.hex() for h in hashes], pending=False)
        out[(registry, record_id)] = proof
    return out
