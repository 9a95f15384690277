"""The records a benchmark ingests: a generated world, read through the real connectors.

A world (``metaregistry.mock.world.generate_world``) writes one file per registry feed;
``world.json`` lists them. Each file goes to the connector that reads it
(:func:`metaregistry.mock.world.reading.connector_of`):

* ``srn-ppi/*``, ``tccr/*``, ``jcm/<ledger>.ndjson``, ``generic/<registry>.ndjson`` and the
  CSV reports ``acr/*.csv``, ``car/*.csv``, ``regen/*.csv`` are in the format those connectors
  import, so their own ``read_file`` reads them (parsing is part of the measured pipeline);
* ``verra/vcus.ndjson`` and ``gold-standard/credits.ndjson`` hold the registries' *API* records
  (Verra search, Gold Standard ``GET /credits``), while those connectors' ``read_file`` reads
  the CSV/XLSX exports. Their records are read with the world's own reader, which tags each
  with the stream the HTTP sync would hand it to the pipeline on (``search``; ``issued`` or
  ``retired``), so they are normalized exactly as a sync would.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from metaregistry import plugins
from metaregistry.connector import Connector, RawRecord

__all__ = ["API_RECORD_FILES", "ensure_world", "world_files", "world_records"]

#: Connectors whose world file holds API records rather than a file they import.
API_RECORD_FILES = frozenset({"verra", "gold-standard"})


def ensure_world(directory: Path, records: int, seed: int) -> Path:
    """Generate the world once per (records, seed) and reuse it."""
    marker = directory / "world.json"
    if not marker.exists():
        from metaregistry.mock.world import generate_world

        generate_world(seed, records, directory)
    return directory


def world_files(world: Path) -> list[tuple[Connector, str]]:
    """Every record file of ``world`` (relative path) with the connector that reads it, in
    ``world.json`` order grouped by connector."""
    from metaregistry.mock.world.reading import connector_of

    manifest = json.loads((world / "world.json").read_text(encoding="utf-8"))
    loaded: dict[str, Connector] = {}
    out: list[tuple[Connector, str]] = []
    for relative in sorted(manifest["files"], key=lambda r: (connector_of(r), r)):
        name = connector_of(relative)
        if name not in loaded:
            loaded[name] = plugins.load(name)
        out.append((loaded[name], relative))
    return out


def world_records(
    world: Path, files: list[tuple[Connector, str]] | None = None
) -> Iterator[tuple[Connector, RawRecord]]:
    """The records of ``files`` (default: every file of the world), in order."""
    from metaregistry.mock.world import reading

    for connector, relative in world_files(world) if files is None else files:
        if connector.name in API_RECORD_FILES:
            records = reading.world_records(world, relative)
        else:
            records = connector.read_file(world / relative)
        for record in records:
            yield connector, record
