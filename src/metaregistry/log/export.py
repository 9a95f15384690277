"""``metaregistry log export DIR``: the whole log as plain files anyone can verify offline.

The layout is described in :mod:`metaregistry.log.sources` (which reads it back). Files are
written under temporary names and renamed, so a reader never sees half an export.
"""

from __future__ import annotations

import base64
import os
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Connection

from metaregistry.canonical import canonicalize
from metaregistry.log import store

__all__ = ["write_export"]

_PAGE = 10_000


def _replace(path: Path, text: str) -> None:
    temp = path.with_name(f".{path.name}.tmp")
    temp.write_text(text, encoding="utf-8")
    os.replace(temp, path)


def write_export(
    conn: Connection,
    directory: Path,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[int, int]:
    """Write every leaf and checkpoint of the log; returns (leaves, checkpoints) written:
    the rows written, which is less than the log's size when leaf rows are missing (the
    export is written as the database holds it, and ``verify --export`` names the gap).
    ``progress(written, size)`` is called after every page of leaves."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "checkpoints").mkdir(exist_ok=True)
    size = store.tree_size(conn)
    temp = directory / ".leaves.jsonl.tmp"
    written = 0
    with temp.open("wb") as out:
        for start in range(0, size, _PAGE):
            for leaf in store.leaves(conn, start, min(size, start + _PAGE)):
                item = {
                    "index": leaf.leaf_index,
                    "leaf_hash": leaf.leaf_hash.hex(),
                    "data": base64.b64encode(leaf.data).decode(),
                }
                out.write(canonicalize(item) + b"\n")
                written += 1
            if progress is not None:
                progress(written, size)
    os.replace(temp, directory / "leaves.jsonl")
    published = store.checkpoints(conn)
    for number, checkpoint in enumerate(published, 1):
        _replace(directory / "checkpoints" / f"{number:06d}.txt", checkpoint.note)
    if published:
        _replace(directory / "checkpoint.txt", published[-1].note)
    return written, len(published)
