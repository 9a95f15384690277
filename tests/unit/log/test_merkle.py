"""RFC 6962 hashing and proofs: published vectors, the naive reference, round trips, tampering."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaregistry.log import merkle
from metaregistry.log.compact import MemoryTree, frontier_nodes
from metaregistry.log.merkle import ProofError, RootMismatchError, TreeRangeError

# Certificate Transparency / transparency-dev/merkle test vectors (testonly/constants.go and
# proof/verify_test.go), used as data: eight leaves, the root at every size, and proofs.
LEAVES = [
    bytes.fromhex(h)
    for h in [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
]
ROOTS = [
    bytes.fromhex(h)
    for h in [
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
        "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
        "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
        "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
        "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
    ]
]
H = bytes.fromhex
INCLUSION = [  # (leaf index, tree size, proof)
    (
        0,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        [
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (
        1,
        5,
        [
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
]
CONSISTENCY = [  # (old size, new size, proof)
    (
        1,
        8,
        [
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        [
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        [
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
]

VECTOR_TREE = MemoryTree(merkle.leaf_hash(leaf) for leaf in LEAVES)


def hashes(n: int) -> list[bytes]:
    return [merkle.leaf_hash(i.to_bytes(4, "big")) for i in range(n)]


def test_prefixes_and_empty_root_are_rfc_6962s() -> None:
    assert merkle.LEAF_PREFIX == b"\x00"
    assert merkle.NODE_PREFIX == b"\x01"
    assert hashlib.sha256(b"").digest() == merkle.EMPTY_ROOT == ROOTS[0]
    assert merkle.leaf_hash(b"") == ROOTS[1]
    assert merkle.node_hash(merkle.leaf_hash(b""), merkle.leaf_hash(b"\x00")) == ROOTS[2]


@pytest.mark.parametrize("size", range(9))
def test_roots_match_the_published_vectors(size: int) -> None:
    assert merkle.reference_root([merkle.leaf_hash(x) for x in LEAVES[:size]]) == ROOTS[size]
    assert merkle.root(size, VECTOR_TREE.read) == ROOTS[size]


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_inclusion_proofs_match_the_published_vectors(
    index: int, size: int, proof: list[str]
) -> None:
    assert merkle.inclusion_proof(index, size, VECTOR_TREE.read) == [H(p) for p in proof]
    merkle.verify_inclusion(
        index, size, merkle.leaf_hash(LEAVES[index]), [H(p) for p in proof], ROOTS[size]
    )


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_consistency_proofs_match_the_published_vectors(
    old: int, new: int, proof: list[str]
) -> None:
    assert merkle.consistency_proof(old, new, VECTOR_TREE.read) == [H(p) for p in proof]
    merkle.verify_consistency(old, new, ROOTS[old], ROOTS[new], [H(p) for p in proof])


@pytest.mark.parametrize("size", range(1, 65))
def test_the_stored_tree_agrees_with_the_naive_reference_at_every_size(size: int) -> None:
    leaves = hashes(size)
    tree = MemoryTree(leaves)
    expected_root = merkle.reference_root(leaves)
    assert merkle.root(size, tree.read) == expected_root
    for index in range(size):
        proof = merkle.inclusion_proof(index, size, tree.read)
        assert proof == merkle.reference_inclusion_proof(leaves, index)
        merkle.verify_inclusion(index, size, leaves[index], proof, expected_root)
    for old in range(size + 1):
        proof = merkle.consistency_proof(old, size, tree.read)
        assert proof == merkle.reference_consistency_proof(leaves, old)
        merkle.verify_consistency(
            old, size, merkle.reference_root(leaves[:old]), expected_root, proof
        )


def test_appending_in_any_batches_builds_the_same_tree() -> None:
    leaves = hashes(100)
    one_by_one = MemoryTree()
    for leaf in leaves:
        one_by_one.append_all([leaf])
    batched = MemoryTree()
    for start, end in [(0, 3), (3, 4), (4, 31), (31, 64), (64, 65), (65, 100)]:
        batched.append_all(leaves[start:end])
        assert merkle.root(end, batched.read) == merkle.reference_root(leaves[:end])
    assert one_by_one.levels == batched.levels


def test_frontier_is_one_perfect_subtree_per_set_bit() -> None:
    assert frontier_nodes(0) == []
    assert frontier_nodes(6) == [(2, 0), (1, 2)]
    assert frontier_nodes(7) == [(2, 0), (1, 2), (0, 6)]
    assert frontier_nodes(8) == [(3, 0)]


@settings(deadline=None)  # a loaded CI machine is not a failure
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n - 1))))
def test_inclusion_prove_then_verify(case: tuple[int, int]) -> None:
    size, index = case
    leaves = hashes(size)
    tree = MemoryTree(leaves)
    root = merkle.root(size, tree.read)
    proof = merkle.inclusion_proof(index, size, tree.read)
    merkle.verify_inclusion(index, size, leaves[index], proof, root)
    if size > 1:
        other = (index + 1) % size
        with pytest.raises(ProofError):  # the same proof does not place another leaf there
            merkle.verify_inclusion(index, size, leaves[other], proof, root)


@settings(deadline=None)  # a loaded CI machine is not a failure
@given(st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_consistency_prove_then_verify(case: tuple[int, int]) -> None:
    old, new = case
    leaves = hashes(new)
    tree = MemoryTree(leaves)
    old_root, new_root = merkle.root(old, tree.read), merkle.root(new, tree.read)
    proof = merkle.consistency_proof(old, new, tree.read)
    merkle.verify_consistency(old, new, old_root, new_root, proof)
    if 0 < old < new:
        forged = list(leaves)
        forged[old - 1] = merkle.leaf_hash(b"rewritten")  # history rewritten inside the old tree
        forged_root = merkle.reference_root(forged)
        with pytest.raises(RootMismatchError):
            merkle.verify_consistency(old, new, old_root, forged_root, proof)


def corruptions(proof: list[bytes]) -> list[tuple[str, list[bytes]]]:
    """Tampered variants of a proof (after transparency-dev/merkle's probes)."""
    out = [("appended root", [*proof, ROOTS[8]]), ("prepended root", [ROOTS[8], *proof])]
    if proof:
        out.append(("removed last", proof[:-1]))
        out.append(("empty element", [b"", *proof[1:]]))
    for i in range(len(proof)):
        flipped = list(proof)
        flipped[i] = bytes([proof[i][0] ^ 8]) + proof[i][1:]
        out.append((f"bit flipped in element {i}", flipped))
    return out


@pytest.mark.parametrize(("index", "size", "proof"), INCLUSION)
def test_tampered_inclusion_proofs_fail(index: int, size: int, proof: list[str]) -> None:
    good = [H(p) for p in proof]
    leaf = merkle.leaf_hash(LEAVES[index])
    for what, bad in corruptions(good):
        with pytest.raises(ProofError):
            merkle.verify_inclusion(index, size, leaf, bad, ROOTS[size])
            pytest.fail(f"verified with {what}")
    for wrong_index, wrong_size in [(index + 1, size), (index ^ 2, size), (index, size * 2)]:
        if wrong_index < wrong_size:
            with pytest.raises(ProofError):
                merkle.verify_inclusion(wrong_index, wrong_size, leaf, good, ROOTS[size])
    with pytest.raises(ProofError, match="outside a tree of size"):
        merkle.verify_inclusion(size, size, leaf, good, ROOTS[size])


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY)
def test_tampered_consistency_proofs_fail(old: int, new: int, proof: list[str]) -> None:
    good = [H(p) for p in proof]
    for what, bad in [*corruptions(good), ("empty", [])]:
        with pytest.raises(ProofError):
            merkle.verify_consistency(old, new, ROOTS[old], ROOTS[new], bad)
            pytest.fail(f"verified with {what}")
    with pytest.raises(RootMismatchError):
        merkle.verify_consistency(old, new, ROOTS[new], ROOTS[old], good)
    with pytest.raises(ProofError, match="cannot extend"):
        merkle.verify_consistency(new, old, ROOTS[new], ROOTS[old], good)


def test_root_mismatch_names_both_roots() -> None:
    proof = [H(p) for p in INCLUSION[0][2]]
    with pytest.raises(RootMismatchError) as caught:
        merkle.verify_inclusion(0, 8, merkle.leaf_hash(b"forged"), proof, ROOTS[8])
    assert caught.value.expected == ROOTS[8]
    assert ROOTS[8].hex() in str(caught.value)
    assert caught.value.computed.hex() in str(caught.value)


def test_trivial_consistency_needs_equal_roots_and_an_empty_proof() -> None:
    merkle.verify_consistency(0, 5, ROOTS[0], ROOTS[5], [])
    merkle.verify_consistency(5, 5, ROOTS[5], ROOTS[5], [])
    with pytest.raises(RootMismatchError):
        merkle.verify_consistency(5, 5, ROOTS[5], ROOTS[6], [])
    with pytest.raises(ProofError, match="empty proof"):
        merkle.verify_consistency(5, 5, ROOTS[5], ROOTS[5], [ROOTS[1]])


def test_asking_outside_the_tree_is_a_range_error() -> None:
    with pytest.raises(TreeRangeError, match="leaf index 8"):
        merkle.inclusion_proof(8, 8, VECTOR_TREE.read)
    with pytest.raises(TreeRangeError, match="old=9 new=8"):
        merkle.consistency_proof(9, 8, VECTOR_TREE.read)
    with pytest.raises(TreeRangeError):
        merkle.root(9, VECTOR_TREE.read)
