"""The records a benchmark ingests: a generated world, read through the real connectors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from metaregistry import plugins
from metaregistry.connector import Connector, RawRecord

__all__ = ["WORLD_FILES", "ensure_world", "world_files", "world_records"]

#: Which connector reads which files of a world directory.
WORLD_FILES: dict[str, tuple[str, ...]] = {
    "verra": ("verra/*.ndjson", "verra/*.csv"),
    "gold-standard": ("gold-standard/*.ndjson", "gold-standard/*.csv"),
    "srn-ppi": ("srn-ppi/*.ndjson",),
    "tccr": ("tccr/*.ndjson",),
    "jcm": ("jcm/*.ndjson",),
    "generic": ("generic/*.ndjson",),
}


def ensure_world(directory: Path, records: int, seed: int) -> Path:
    """Generate the world once per (records, seed) and reuse it."""
    marker = directory / "world.json"
    if not marker.exists():
        from metaregistry.mock.world import generate_world

        generate_world(seed, records, directory)
    return directory


def world_files(world: Path) -> list[tuple[Connector, Path]]:
    out: list[tuple[Connector, Path]] = []
    for name, patterns in WORLD_FILES.items():
        connector = plugins.load(name)
        for pattern in patterns:
            out.extend((connector, path) for path in sorted(world.glob(pattern)))
    return out


def world_records(world: Path) -> Iterator[tuple[Connector, RawRecord]]:
    for connector, path in world_files(world):
        for record in connector.read_file(path):
            yield connector, record
