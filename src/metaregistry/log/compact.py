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

from metaregistry.log.merkle import NODE_PREFIX, Node, NodeReader, TreeRangeError, range_nodes

__all__ = ["Frontier", "LevelRun", "MemoryTree", "extend", "frontier_nodes"]

#: Hashes of the frontier nodes by level.
Frontier = dict[int, bytes]


def frontier_nodes(size: int) -> list[Node]:
    """The perfect subtrees tiling ``[0, size)``, biggest first. Requires size >= 0."""
    return range_nodes(0, size)


#: The nodes an append completed on one level: ``(level, first index, their hashes)``.
LevelRun = tuple[int, int, list[bytes]]


def extend(
    frontier: Frontier, size: int, leaf_hashes: Iterable[bytes]
) -> tuple[list[LevelRun], int]:
    """Append leaves to a tree of ``size`` whose frontier is ``frontier`` (updated in place).

    Returns the nodes the appends completed, one run of consecutive nodes per level (the
    leaves first), and the new size. Requires ``frontier`` to hold the hash of each node of
    :func:`frontier_nodes` (size) under its level.
    """
    runs: list[LevelRun] = []
    row = list(leaf_hashes)  # the new nodes of this level, from index `start` on
    new_size = size + len(row)
    level, start = 0, size
    # Level by level rather than leaf by leaf: one comprehension of hashes per level.
    while row:
        runs.append((level, start, row))
        pending = row
        if start & 1:  # the first new node is a right child: its sibling waits on the frontier
            pending = [frontier.pop(level), *row]
            start -= 1
        if len(pending) & 1:  # the last node has no sibling yet: it joins the frontier
            frontier[level] = pending[-1]
        row = [
            sha256(NODE_PREFIX + pending[i] + pending[i + 1]).digest()
            for i in range(0, len(pending) - 1, 2)
        ]
        level, start = level + 1, start >> 1
    return runs, new_size


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
        runs, _ = extend(self._frontier, self.size, leaf_hashes)
        for level, _start, hashes in runs:
            if level == len(self.levels):
                self.levels.append([])
            self.levels[level].extend(hashes)

    def read(self, nodes: Sequence[Node]) -> list[bytes]:
        """A :data:`~metaregistry.log.merkle.NodeReader` over this tree."""
        try:
            return [self.levels[level][index] for level, index in nodes]
        except IndexError:
            raise TreeRangeError(f"tree of size {self.size} lacks one of {nodes}") from None

    def reader(self) -> NodeReader:
        return self.read
