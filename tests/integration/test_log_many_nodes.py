"""Reading more nodes than one SQL expression may hold (SQLite caps expression trees)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from metaregistry.log import merkle
from metaregistry.log import store as log_store
from metaregistry.log.leaf import BlockLeaf


@pytest.mark.parametrize("batch", [None, 10**6])
def test_read_nodes_in_batches(
    engine: sa.Engine, batch: int | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    if batch is not None:  # one query for everything: shows what the batching prevents
        monkeypatch.setattr(log_store, "_NODE_BATCH", batch)
    leaves = [BlockLeaf("r", str(i), 1, f"{i:064x}") for i in range(6000)]
    hashes = [merkle.leaf_hash(leaf.data()) for leaf in leaves]
    with engine.begin() as conn:
        log_store.append_leaves(conn, leaves)
    wanted = [(2, i) for i in range(1400)]
    expected = [
        merkle.node_hash(
            merkle.node_hash(hashes[4 * i], hashes[4 * i + 1]),
            merkle.node_hash(hashes[4 * i + 2], hashes[4 * i + 3]),
        )
        for i in range(1400)
    ]
    with engine.connect() as conn:
        if batch is not None and conn.dialect.name == "sqlite":
            with pytest.raises(sa.exc.OperationalError, match="too large"):
                log_store.read_nodes(conn, wanted)
            return
        assert log_store.read_nodes(conn, wanted) == expected
