"""Reading a generated world back: which connector reads which world file, and the records
of every file as that connector's stream would hand them to the pipeline.

Tests and benchmarks use it to check a world against the index ("every well-formed record
is there") without running the mock servers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from metaregistry.connector import RawRecord

__all__ = ["connector_of", "world_files", "world_records"]


#: The top folders of a world, each named after the connector that reads its files.
_FILES_OF = frozenset(
    ("srn-ppi", "tccr", "jcm", "verra", "gold-standard", "generic", "acr", "car", "regen", "carb")
)


def connector_of(relative: str) -> str:
    """The connector that reads a world file (``jcm/japan.ndjson`` -> ``jcm``)."""
    top = relative.partition("/")[0]
    if top in _FILES_OF:
        return top
    raise ValueError(f"{relative}: not a world file")


def _stream(relative: str, payload: dict[str, Any]) -> str:
    """The stream a record of this file arrives on, as the connector names it."""
    top, _, name = relative.partition("/")
    if top == "srn-ppi":
        return "unit-karbon"
    if top == "tccr":
        return "api"
    if top == "jcm":
        return name.removesuffix(".ndjson")
    if top == "verra":
        return "search"
    if top == "gold-standard":
        return "issued" if payload.get("status") == "ISSUED" else "retired"
    return "default"


def world_files(out_dir: Path) -> list[str]:
    """The record files of a world (relative paths, sorted), as ``world.json`` lists them."""
    manifest = json.loads((out_dir / "world.json").read_text(encoding="utf-8"))
    return sorted(manifest["files"])


def world_records(out_dir: Path, relative: str) -> Iterator[RawRecord]:
    """The records of one world file, each tagged with its stream and ``file:line``. A CSV
    file (ACR's and CAR's reports, Regen's batch table) is read by its connector's file
    reader, its kind from the header row, as ``metaregistry import`` reads it."""
    if relative.endswith(".csv"):
        from metaregistry import plugins

        connector = plugins.load(connector_of(relative))
        for raw in connector.read_file(out_dir / relative):
            line = raw.ref.rpartition(":")[2]
            yield RawRecord(raw.payload, f"{relative}:{line}", raw.stream)
        return
    with (out_dir / relative).open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            payload = json.loads(line)
            yield RawRecord(payload, f"{relative}:{number}", _stream(relative, payload))
