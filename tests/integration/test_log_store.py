"""The log in the index database, on SQLite and PostgreSQL: appends, roots, proofs,
lookups, checkpoints, and one linear history under concurrent writers."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from metaregistry.index.db import create_engine, migrate
from metaregistry.log import merkle, store
from metaregistry.log.checkpoint import FileSigner, SignatureError, verify_checkpoint
from metaregistry.log.compact import MemoryTree
from metaregistry.log.leaf import BlockLeaf, EventLeaf, LeafEntry
from metaregistry.log.merkle import TreeRangeError

ORIGIN = "metaregistry.test/log"


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path / 'log.db'}"
    engine = create_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()


def blocks(start: int, end: int, version: int = 1) -> list[LeafEntry]:
    return [BlockLeaf("verra", f"VCS-{i}", version, f"{i:064x}") for i in range(start, end)]


def signer(name: str = ORIGIN) -> FileSigner:
    return FileSigner(name, Ed25519PrivateKey.generate())


def test_appends_build_the_rfc_6962_tree_whatever_the_batches(engine: sa.Engine) -> None:
    entries = blocks(0, 70)
    reference = MemoryTree()
    for start, end in [(0, 1), (1, 2), (2, 7), (7, 8), (8, 33), (33, 64), (64, 70)]:
        with engine.begin() as conn:
            assert store.append_leaves(conn, entries[start:end]) == list(range(start, end))
        reference.append_all(merkle.leaf_hash(e.data()) for e in entries[start:end])
    with engine.connect() as conn:
        assert store.tree_size(conn) == 70
        for size in range(71):  # every historic root, from the stored nodes
            assert store.root(conn, size) == merkle.root(size, reference.read)
        for index in range(0, 70, 3):
            for size in (index + 1, 64, 70):
                if index < size:
                    expected = merkle.inclusion_proof(index, size, reference.read)
                    assert store.inclusion_proof(conn, index, size) == expected
        for old in range(0, 71, 5):
            assert store.consistency_proof(conn, old, 70) == merkle.consistency_proof(
                old, 70, reference.read
            )


def test_leaves_are_found_again_by_record_event_and_hash(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        store.append_leaves(conn, [*blocks(0, 3), EventLeaf("41", "e" * 64), *blocks(1, 2, 2)])
        assert store.leaf_index(conn, "verra", "VCS-1", 2) == 4
        assert store.leaf_index(conn, "verra", "VCS-1", 3) is None
        assert store.event_leaf_index(conn, "41") == 3
        assert [leaf.leaf_index for leaf in store.record_leaves(conn, "verra", "VCS-1")] == [1, 4]
        stored = store.leaves(conn, 2, 4)
        assert [leaf.data for leaf in stored] == [
            blocks(2, 3)[0].data(),
            EventLeaf("41", "e" * 64).data(),
        ]
        assert all(leaf.leaf_hash == merkle.leaf_hash(leaf.data) for leaf in stored)
        # Found by hash before a checkpoint (scanning the tail) and after (the hash index).
        hash_of_3 = merkle.leaf_hash(EventLeaf("41", "e" * 64).data())
        assert store.leaf_index_by_hash(conn, hash_of_3) == 3
        store.publish_checkpoint(conn, signer(), ORIGIN)
        store.append_leaves(conn, blocks(10, 12))
        assert store.leaf_index_by_hash(conn, hash_of_3) == 3
        assert store.leaf_index_by_hash(conn, merkle.leaf_hash(blocks(11, 12)[0].data())) == 6
        assert store.leaf_index_by_hash(conn, merkle.leaf_hash(b"never logged")) is None


def test_a_checkpoint_is_published_only_when_the_log_grew(engine: sa.Engine) -> None:
    key = signer()
    with engine.begin() as conn:
        assert store.latest_checkpoint(conn) is None
        empty = store.publish_checkpoint(conn, key, ORIGIN)
        assert (empty.size, empty.root) == (0, merkle.EMPTY_ROOT)
        store.append_leaves(conn, blocks(0, 5))
        first = store.publish_checkpoint(conn, key, ORIGIN)
        assert store.publish_checkpoint(conn, key, ORIGIN) == first
        store.append_leaves(conn, blocks(5, 6))
        second = store.publish_checkpoint(conn, key, ORIGIN)
        assert store.latest_checkpoint(conn) == second
        assert [c.size for c in store.checkpoints(conn)] == [0, 5, 6]
    assert verify_checkpoint(second.note, key.verifier()).root == second.root
    assert (second.size, second.root) == (6, store_root(engine, 6))


def store_root(engine: sa.Engine, size: int) -> bytes:
    with engine.connect() as conn:
        return store.root(conn, size)


def test_a_new_key_needs_a_new_origin(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        store.append_leaves(conn, blocks(0, 2))
        store.publish_checkpoint(conn, signer(), ORIGIN)
        store.append_leaves(conn, blocks(2, 3))
        with pytest.raises(SignatureError, match="a new key needs a new origin"):
            store.publish_checkpoint(conn, signer(), ORIGIN)
        rotated = store.publish_checkpoint(conn, signer(f"{ORIGIN}/2"), f"{ORIGIN}/2")
        assert (rotated.origin, rotated.size) == (f"{ORIGIN}/2", 3)


def test_sizes_outside_the_log_are_refused(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        store.append_leaves(conn, blocks(0, 4))
        with pytest.raises(TreeRangeError, match="tree size 5 is outside the log"):
            store.inclusion_proof(conn, 0, 5)
        with pytest.raises(TreeRangeError, match="leaf index 4"):
            store.inclusion_proof(conn, 4, 4)
        with pytest.raises(TreeRangeError):
            store.consistency_proof(conn, 3, 5)
        with pytest.raises(TreeRangeError):
            store.root(conn, 5)


def test_a_deleted_node_is_reported_not_papered_over(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        store.append_leaves(conn, blocks(0, 8))
        conn.execute(sa.text("DELETE FROM log_nodes WHERE level = 2 AND idx = 1"))
        with pytest.raises(store.LogCorruptError, match=r"\(2, 1\)"):
            store.inclusion_proof(conn, 0, 8)


def test_concurrent_writers_make_one_linear_history(engine: sa.Engine) -> None:
    """Several writers appending at once (as several daemons would): no index is taken
    twice, no leaf is lost, and the stored tree is the tree of the stored leaves."""
    errors: list[BaseException] = []
    taken: list[list[int]] = []

    def writer(number: int) -> None:
        try:
            for batch in range(5):
                start = number * 1000 + batch * 7
                with engine.begin() as conn:
                    taken.append(store.append_leaves(conn, blocks(start, start + 7)))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sorted(i for batch in taken for i in batch) == list(range(140))
    with engine.connect() as conn:
        stored = store.leaves(conn, 0, 140)
        expected = merkle.reference_root([merkle.leaf_hash(leaf.data) for leaf in stored])
        assert store.root(conn) == expected
        assert len({leaf.data for leaf in stored}) == 140
