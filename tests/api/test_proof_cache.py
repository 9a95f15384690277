"""The lookup's fast inclusion proofs equal the log store's, at every index of many sizes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from metaregistry.api.proofs import NodeCache, proofs_for
from metaregistry.api.queries import Db
from metaregistry.api.reader import Reader
from metaregistry.index.db import create_engine
from metaregistry.index.metadata import metadata
from metaregistry.log import store as log_store
from metaregistry.log.checkpoint import SignedCheckpoint, TreeHead
from metaregistry.log.leaf import EventLeaf


def test_fast_proofs_equal_the_store_proofs_at_every_index(engine: sa.Engine) -> None:
    metadata.create_all(engine, checkfirst=True)
    sizes = [1, 2, 3, 5, 8, 15, 16, 17, 31, 33, 64, 65, 100, 129]
    expected: dict[int, list[list[bytes]]] = {}
    appended = 0
    with engine.begin() as conn:
        for size in sizes:
            leaves = [EventLeaf(f"e{i}", f"{i:064x}") for i in range(appended, size)]
            log_store.append_leaves(conn, leaves)
            appended = size
            expected[size] = [log_store.inclusion_proof(conn, i, size) for i in range(size)]
    readonly = create_engine(engine.url.render_as_string(hide_password=False), readonly=True)
    reader = Reader(readonly, threads=1, timeout=30)
    try:
        # A tiny cache forces every path: cached, read on a miss, hashed from leaves, edges.
        for cache in (NodeCache(), NodeCache(entries=8)):

            def prove(db: Db, cache: NodeCache = cache) -> dict[int, list[list[bytes]]]:
                return {s: [cache.proof(db, i, s) for i in range(s)] for s in sizes}

            assert reader.call(prove) == expected
    finally:
        reader.close()
        readonly.dispose()


def test_a_filled_cache_holds_every_level_from_its_lowest_and_proves_alike(
    engine: sa.Engine,
) -> None:
    metadata.create_all(engine, checkfirst=True)
    size = 1000
    with engine.begin() as conn:
        log_store.append_leaves(conn, [EventLeaf(f"e{i}", f"{i:064x}") for i in range(size)])
        expected = [log_store.inclusion_proof(conn, i, size) for i in range(0, size, 7)]
    readonly = create_engine(engine.url.render_as_string(hide_password=False), readonly=True)
    reader = Reader(readonly, threads=1, timeout=30)
    try:
        for entries, lowest in ((1 << 20, 0), (600, 2), (64, 5)):  # 5 is odd: hashed from 4
            cache = NodeCache(entries=entries)
            assert cache.level(size) == lowest
            held = reader.call(cache.fill, size)
            assert held == sum(size >> level for level in range(lowest, size.bit_length()))

            def prove(db: Db, cache: NodeCache = cache) -> list[list[bytes]]:
                return [cache.proof(db, i, size) for i in range(0, size, 7)]

            assert reader.call(prove) == expected
    finally:
        reader.close()
        readonly.dispose()


def test_proofs_for_gives_the_same_answer_from_memory_and_from_leaf_reads(
    engine: sa.Engine,
) -> None:
    """A lookup's proofs: from the cache's leaves (the server's default), hashed from a leaf
    read (a tree larger than the cache), pending after the checkpoint, None off the log."""
    metadata.create_all(engine, checkfirst=True)
    logged, size = 40, 37  # leaves 37..39 were appended after the checkpoint
    with engine.begin() as conn:
        log_store.append_leaves(conn, [EventLeaf(f"e{i}", f"{i:064x}") for i in range(logged)])
        stored = [log_store.inclusion_proof(conn, i, size) for i in range(size)]
        hashes = [bytes(r[0]) for r in conn.execute(sa.text("SELECT leaf_hash FROM log_leaves"))]
    checkpoint = SignedCheckpoint(TreeHead("test", size, b"\0" * 32), "note")
    wanted = [((f"r{i}", str(i)), i) for i in range(logged)] + [(("r", "off"), None)]
    readonly = create_engine(engine.url.render_as_string(hide_password=False), readonly=True)
    reader = Reader(readonly, threads=1, timeout=30)
    try:
        answers = []
        for cache, lowest in ((NodeCache(), 0), (NodeCache(entries=8), 3)):
            assert cache.level(size) == lowest
            answers.append(reader.call(proofs_for, wanted, checkpoint, cache))
        assert answers[0] == answers[1]
        found = answers[0]
        assert found[("r", "off")] is None
        for i in range(logged):
            proof = found[(f"r{i}", str(i))]
            assert proof is not None
            assert proof["leaf_index"] == i
            assert proof["leaf_hash"] == hashes[i].hex()
            if i < size:
                assert proof["pending"] is False and proof["tree_size"] == size
                assert proof["hashes"] == [h.hex() for h in stored[i]]
            else:
                assert proof == {
                    "leaf_index": i,
                    "leaf_hash": hashes[i].hex(),
                    "tree_size": None,
                    "hashes": None,
                    "pending": True,
                }
    finally:
        reader.close()
        readonly.dispose()


def test_hex_proofs_with_shared_upper_paths_equal_the_store_proofs(engine: sa.Engine) -> None:
    """proof_hex keeps the levels from SHARED_LEVEL up per group of leaves: every index of
    trees smaller and larger than a group, several groups, and the same cache across sizes
    (groups of an older size are dropped), must read exactly as the store proves."""
    metadata.create_all(engine, checkfirst=True)
    sizes = [1, 2, 7, 255, 256, 257, 700, 1024, 1500]
    expected: dict[int, list[tuple[str, list[str]]]] = {}
    appended = 0
    with engine.begin() as conn:
        for size in sizes:
            log_store.append_leaves(
                conn, [EventLeaf(f"e{i}", f"{i:064x}") for i in range(appended, size)]
            )
            appended = size
            hashes = log_store.read_nodes(conn, [(0, i) for i in range(size)])
            expected[size] = [
                (hashes[i].hex(), [h.hex() for h in log_store.inclusion_proof(conn, i, size)])
                for i in range(size)
            ]
    readonly = create_engine(engine.url.render_as_string(hide_password=False), readonly=True)
    reader = Reader(readonly, threads=1, timeout=30)
    try:
        cache = NodeCache()

        def prove(db: Db) -> dict[int, list[tuple[str, list[str]] | None]]:
            return {s: [cache.proof_hex(db, i, s) for i in range(s)] for s in sizes}

        # The second pass reads the groups the first kept (of the last size; the others
        # were dropped as the size changed, and are made again).
        assert reader.call(prove) == expected
        assert reader.call(prove) == expected
        assert reader.call(lambda db: NodeCache(entries=8).proof_hex(db, 3, 700)) is None
    finally:
        reader.close()
        readonly.dispose()


def test_a_proof_cache_too_small_to_hold_a_pair_is_refused() -> None:
    with pytest.raises(ValueError, match="room for 2 hashes at least, got 1"):
        NodeCache(entries=1)
    assert NodeCache.of_megabytes(0.00001).level(1000) > 0  # rounded up to the minimum
