"""RFC 6962 / RFC 9162 Merkle tree hashing, proofs and their verification (pure functions).

Nodes are named ``(level, index)``: the perfect subtree over the leaves
``[index << level, (index + 1) << level)``. Level 0 holds the leaf hashes. Once its last leaf
is appended a perfect subtree never changes, so a store keeps exactly these nodes and computes
every other hash (the right edge of a tree whose size is not a power of two) from them.

Proof *generation* takes a :data:`NodeReader` callback so the same code runs over memory and
over the database; it never needs more than O(log n) nodes. Proof *verification* follows the
iterative algorithms of RFC 9162 sections 2.1.3.2 and 2.1.4.2, independent of the generation
recursion, so the two check each other.

Errors::

    ProofError            a proof does not verify: wrong length, malformed, or sizes that
     |                    cannot be proved (raised by the verify_* functions)
     +-- RootMismatchError  the proof is well formed but leads to another root; names both
    TreeRangeError        a proof or root was asked for an index or size outside the tree
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "LEAF_PREFIX",
    "NODE_PREFIX",
    "Node",
    "NodeReader",
    "ProofError",
    "RootMismatchError",
    "TreeRangeError",
    "consistency_proof",
    "consistency_ranges",
    "inclusion_proof",
    "inclusion_ranges",
    "leaf_hash",
    "node_hash",
    "range_hash",
    "range_nodes",
    "reference_consistency_proof",
    "reference_inclusion_proof",
    "reference_root",
    "root",
    "root_from_inclusion_proof",
    "split_point",
    "verify_consistency",
    "verify_inclusion",
]

#: RFC 6962 section 2.1: domain separation of leaves and interior nodes, so that a leaf can
#: never be passed off as an interior node (second-preimage attack).
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
HASH_SIZE = 32
#: The root of the empty tree: SHA-256 of the empty string (RFC 6962 section 2.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

Node = tuple[int, int]
#: Returns the hashes of the requested nodes, in the order asked. Raises when one is missing.
NodeReader = Callable[[Sequence[Node]], Sequence[bytes]]


class ProofError(ValueError):
    """A proof does not verify: malformed, of the wrong length, or for impossible sizes."""


class RootMismatchError(ProofError):
    """A well-formed proof leads to a root other than the expected one."""

    def __init__(self, what: str, expected: bytes, computed: bytes) -> None:
        self.what = what
        self.expected = expected
        self.computed = computed
        super().__init__(f"{what}: expected root {expected.hex()}, computed {computed.hex()}")


class TreeRangeError(ValueError):
    """A root or proof was asked for an index or size the tree does not have."""


def leaf_hash(data: bytes) -> bytes:
    """SHA-256(0x00 || data): the hash of one leaf (RFC 6962 section 2.1)."""
    return hashlib.sha256(LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right): the hash of an interior node."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n``. Requires n >= 2."""
    if n < 2:
        raise TreeRangeError(f"split point needs n >= 2, got n={n}")
    return 1 << ((n - 1).bit_length() - 1)


# -- the naive reference: RFC 6962 section 2.1 written as recursion over lists ---------------


def reference_root(hashes: Sequence[bytes]) -> bytes:
    """MTH(D[n]) of a list of leaf hashes, straight from the definition (slow, for tests)."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = split_point(len(hashes))
    return node_hash(reference_root(hashes[:k]), reference_root(hashes[k:]))


def reference_inclusion_proof(hashes: Sequence[bytes], index: int) -> list[bytes]:
    """PATH(m, D[n]) from the definition. Requires 0 <= index < len(hashes)."""
    if len(hashes) <= 1:
        return []
    k = split_point(len(hashes))
    if index < k:
        return [*reference_inclusion_proof(hashes[:k], index), reference_root(hashes[k:])]
    return [*reference_inclusion_proof(hashes[k:], index - k), reference_root(hashes[:k])]


def reference_consistency_proof(hashes: Sequence[bytes], old: int) -> list[bytes]:
    """PROOF(m, D[n]) from the definition. Requires 0 <= old <= len(hashes)."""
    if old in (0, len(hashes)):
        return []
    return _reference_subproof(hashes, old, complete=True)


def _reference_subproof(hashes: Sequence[bytes], m: int, complete: bool) -> list[bytes]:
    n = len(hashes)
    if m == n:
        return [] if complete else [reference_root(hashes)]
    k = split_point(n)
    if m <= k:
        return [*_reference_subproof(hashes[:k], m, complete), reference_root(hashes[k:])]
    return [*_reference_subproof(hashes[k:], m - k, False), reference_root(hashes[:k])]


# -- the real thing: proofs as lists of leaf ranges, hashed from stored perfect subtrees -----


def inclusion_ranges(index: int, size: int) -> list[tuple[int, int]]:
    """Leaf ranges ``[begin, end)`` whose hashes form PATH(index, D[size]), leaf side first.

    Requires 0 <= index < size.
    """
    if not 0 <= index < size:
        raise TreeRangeError(f"leaf index {index} is outside a tree of size {size}")
    ranges: list[tuple[int, int]] = []
    lo, hi = 0, size
    while hi - lo > 1:
        k = split_point(hi - lo)
        if index < lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo += k
    ranges.reverse()  # the loop walks top-down; proofs list the leaf's sibling first
    return ranges


def consistency_ranges(old: int, new: int) -> list[tuple[int, int]]:
    """Leaf ranges whose hashes form PROOF(old, D[new]) (RFC 6962 section 2.1.2).

    Requires 0 <= old <= new. Empty when old is 0 or old == new.
    """
    if not 0 <= old <= new:
        raise TreeRangeError(f"consistency needs 0 <= old <= new, got old={old} new={new}")
    if old in (0, new):
        return []
    ranges: list[tuple[int, int]] = []
    lo, hi, complete = 0, new, True
    while old != hi:
        k = split_point(hi - lo)
        if old <= lo + k:
            ranges.append((lo + k, hi))
            hi = lo + k
        else:
            ranges.append((lo, lo + k))
            lo, complete = lo + k, False
    if not complete:
        ranges.append((lo, hi))
    ranges.reverse()
    return ranges


def range_nodes(begin: int, end: int) -> list[Node]:
    """The perfect subtrees that tile ``[begin, end)``, left to right. Requires begin <= end."""
    nodes: list[Node] = []
    while begin < end:
        # The biggest aligned perfect subtree starting at begin that still fits.
        level = (begin & -begin).bit_length() - 1 if begin else (end - begin).bit_length() - 1
        while begin + (1 << level) > end:
            level -= 1
        nodes.append((level, begin >> level))
        begin += 1 << level
    return nodes


def range_hash(hashes: Sequence[bytes]) -> bytes:
    """Hash of a proof range from its perfect subtrees (as :func:`range_nodes` lists them).

    RFC 6962 always splits at the largest power of two, so a range whose subtrees shrink
    left to right hashes as a right fold. Requires a non-empty list.
    """
    result = hashes[-1]
    for left in reversed(hashes[:-1]):
        result = node_hash(left, result)
    return result


def _hash_ranges(ranges: Sequence[tuple[int, int]], read: NodeReader) -> list[bytes]:
    """One call to ``read`` for all the perfect subtrees under ``ranges``, then fold each."""
    per_range = [range_nodes(begin, end) for begin, end in ranges]
    hashes = list(read([node for nodes in per_range for node in nodes]))
    out: list[bytes] = []
    for nodes in per_range:
        out.append(range_hash(hashes[: len(nodes)]))
        del hashes[: len(nodes)]
    return out


def root(size: int, read: NodeReader) -> bytes:
    """MTH(D[size]). Requires size >= 0 and every perfect subtree of ``[0, size)`` readable."""
    if size < 0:
        raise TreeRangeError(f"tree size must be >= 0, got {size}")
    if size == 0:
        return EMPTY_ROOT
    return _hash_ranges([(0, size)], read)[0]


def inclusion_proof(index: int, size: int, read: NodeReader) -> list[bytes]:
    """PATH(index, D[size]), leaf side first. Requires 0 <= index < size."""
    return _hash_ranges(inclusion_ranges(index, size), read)


def consistency_proof(old: int, new: int, read: NodeReader) -> list[bytes]:
    """PROOF(old, D[new]). Requires 0 <= old <= new."""
    return _hash_ranges(consistency_ranges(old, new), read)


# -- verification (RFC 9162 section 2.1.3.2 and 2.1.4.2) ------------------------------------


def _check_hashes(proof: Sequence[bytes]) -> None:
    for i, item in enumerate(proof):
        if len(item) != HASH_SIZE:
            raise ProofError(f"proof element {i} is {len(item)} bytes, expected {HASH_SIZE}")


def root_from_inclusion_proof(index: int, size: int, leaf: bytes, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` leads to from leaf hash ``leaf`` at ``index``.

    Raises :class:`ProofError` when index >= size or the proof has the wrong length.
    """
    if not 0 <= index < size:
        raise ProofError(f"leaf index {index} is outside a tree of size {size}")
    if len(leaf) != HASH_SIZE:
        raise ProofError(f"leaf hash is {len(leaf)} bytes, expected {HASH_SIZE}")
    _check_hashes(proof)
    fn, sn, result = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            raise ProofError(f"inclusion proof for {index} in {size} is too long ({len(proof)})")
        if fn & 1 or fn == sn:
            result = node_hash(p, result)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            result = node_hash(result, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"inclusion proof for {index} in {size} is too short ({len(proof)})")
    return result


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> None:
    """Check that leaf hash ``leaf`` sits at ``index`` in the tree of ``size`` with this root.

    Raises :class:`RootMismatchError` or :class:`ProofError`.
    """
    computed = root_from_inclusion_proof(index, size, leaf, proof)
    if computed != expected_root:
        raise RootMismatchError(
            f"inclusion of leaf {index} in tree of size {size}", expected_root, computed
        )


def verify_consistency(
    old: int, new: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> None:
    """Check that the tree of size ``new`` extends the tree of size ``old`` (append-only).

    Raises :class:`RootMismatchError` naming which root differs, or :class:`ProofError`.
    """
    if not 0 <= old <= new:
        raise ProofError(f"a tree of size {new} cannot extend one of size {old}")
    if old in (0, new):
        if proof:
            raise ProofError(f"consistency of {old} with {new} needs an empty proof")
        if old == new and old_root != new_root:
            raise RootMismatchError(f"two trees of size {old}", old_root, new_root)
        return
    if not proof:
        raise ProofError(f"consistency proof from {old} to {new} is empty")
    _check_hashes(proof)
    path = list(proof)
    if old & (old - 1) == 0:  # old is a power of two: its root is a node of the new tree
        path.insert(0, old_root)
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"consistency proof from {old} to {new} is too long ({len(proof)})")
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while fn and not fn & 1:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        raise ProofError(f"consistency proof from {old} to {new} is too short ({len(proof)})")
    if fr != old_root:
        raise RootMismatchError(f"old tree of size {old}", old_root, fr)
    if sr != new_root:
        raise RootMismatchError(f"new tree of size {new}", new_root, sr)
