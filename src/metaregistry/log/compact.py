"""Appending to a Merkle tree through its frontier, and an in-memory tree (pure functions).

The frontier of a tree of size n is the list of perfect subtrees that tile ``[0, n)``: one per
set bit of n, biggest first (:func:`frontier_nodes`). It is all an append needs: a new leaf
completes at most log2(n) perfect subtrees, each the hash of a frontier node and the subtree
just completed beside it. So an append writes O(log n) nodes and reads none beyond the
frontier, which a store reads once per batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from hashlib import sha256
from itertools import count, repeat

from metaregistry.log.merkle import NODE_PREFIX, Node, NodeReader, TreeRangeError, range_nodes

__all__ = ["Frontier", "MemoryTree", "extend", "frontier_nodes"]

#: Hashes of the frontier nodes by level.
Frontier = dict[int, bytes]


def frontier_nodes(size: int) -> list[Node]:
    """The perfect subtrees tiling ``[0, size)``, biggest first. Requires size >= 0."""
    return range_nodes(0, size)


def extend(
    frontier: Frontier, size: int, leaf_hashes: Iterable[bytes]
) -> tuple[list[tuple[int, int, bytes]], int]:
    """Append leaves to a tree of ``size`` whose frontier is ``frontier`` (updated in place).

    Returns every node the appends completed as ``(level, index, hash)``, leaves included,
    level by level, and the new size. Requires ``frontier`` to hold the hash of each node of
    :func:`frontier_nodes` (size) under its level.
    """
    written: list[tuple[int, int, bytes]] = []
    row = list(leaf_hashes)  # the new nodes of this level, from index `start` on
    new_size = size + len(row)
    level, start = 0, size
    # Level by level rather than leaf by leaf: one comprehension of hashes per level.
    while row:
        written.extend(zip(repeat(level), count(start), row, strict=False))
        if start & 1:  # the first new node is a right child: its sibling waits on the frontier
            row.insert(0, frontier.pop(level))
            start -= 1
        if len(row) & 1:  # the last node has no sibling yet: it joins the frontier
            frontier[level] = row.pop()
        row = [sha256(NODE_PREFIX + row[i] + row[i + 1]).digest() for i in range(0, len(row), 2)]
        level, start = level + 1, start >> 1
    return written, new_size


class MemoryTree:
    """A whole tree in memory: every perfect subtree of every level. For tests and exports."""

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        self._frontier: Frontier = {}
        self.append_all(leaf_hashes)

    @property
    def size(self) -> int:
        return len(self.levels[0])

    def append_all(self, leaf_hashes: Iterable[bytes]) -> None:
        written, _ = extend(self._frontier, self.size, leaf_hashes)
        for level, _index, h in written:
            if level == len(self.levels):
                self.levels.append([])
            self.levels[level].append(h)

    def read(self, nodes: Sequence[Node]) -> list[bytes]:
        """A :data:`~metaregistry.log.merkle.NodeReader` over this tree."""
        try:
            return [self.levels[level][index] for level, index in nodes]
        except IndexError:
            raise TreeRangeError(f"tree of size {self.size} lacks one of {nodes}") from None

    def reader(self) -> NodeReader:
        return self.read
