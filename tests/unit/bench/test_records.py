"""The benchmark reads a generated world through the connectors that read each of its files,
so every record lands in the index as a sync would store it."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from metaregistry.bench.records import ensure_world, world_files, world_records
from metaregistry.pipeline import prepare_page


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ensure_world(tmp_path_factory.mktemp("world") / "w", 600, 3)


def test_every_world_file_has_its_connector(world: Path) -> None:
    manifest = json.loads((world / "world.json").read_text(encoding="utf-8"))
    mapped = {relative: connector.name for connector, relative in world_files(world)}
    assert set(mapped) == set(manifest["files"])
    assert mapped["verra/vcus.ndjson"] == "verra"
    assert mapped["gold-standard/credits.ndjson"] == "gold-standard"
    assert {mapped[f] for f in mapped if f.startswith("jcm/")} == {"jcm"}
    assert {mapped[f] for f in mapped if f.startswith("generic/")} == {"generic"}


def test_every_record_is_read_and_normalized_into_its_registry(world: Path) -> None:
    manifest = json.loads((world / "world.json").read_text(encoding="utf-8"))
    by_registry: Counter[str] = Counter()
    quarantined = []
    for connector, relative in world_files(world):
        records = [r for _, r in world_records(world, [(connector, relative)])]
        assert len(records) == manifest["files"][relative], relative
        page = prepare_page(connector, records, "2026-11-27T00:00:00.000000Z")
        quarantined.extend(page.quarantined)
        by_registry.update(b.registry for b in page.blocks)
    assert quarantined == []
    assert dict(by_registry) == {
        name: entry["records"] for name, entry in manifest["registries"].items()
    }


def test_a_world_is_generated_once_and_reused(world: Path) -> None:
    marker = world / "world.json"
    before = marker.stat().st_mtime_ns
    assert ensure_world(world, 600, 3) == world
    assert marker.stat().st_mtime_ns == before
