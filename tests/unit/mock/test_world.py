"""The scenario generator: a world every connector reads without loss, whose truth names real
overlaps and nothing else overlaps, the same bytes for the same seed, in bounded memory."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from metaregistry.index.store import QuarantineEntry
from metaregistry.mock.world import (
    PATTERNS,
    WorldError,
    connector_of,
    generate_world,
    world_files,
    world_records,
)
from metaregistry.mock.world.cli import register
from metaregistry.model import LIVE_STATUSES, UnitBlock
from metaregistry.pipeline import prepare_page
from metaregistry.plugins import load

SEED = 20261127
RECORDS = 4000
MALFORMED = 7


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(SEED, RECORDS, out, malformed=MALFORMED)
    return out


def _normalize(world: Path) -> tuple[list[UnitBlock], list[QuarantineEntry]]:
    blocks: list[UnitBlock] = []
    quarantined: list[QuarantineEntry] = []
    for relative in world_files(world):
        connector = load(connector_of(relative))
        page = prepare_page(connector, world_records(world, relative), "2026-11-27T00:00:00Z")
        blocks.extend(page.blocks)
        quarantined.extend(page.quarantined)
    return blocks, quarantined


@pytest.fixture(scope="module")
def normalized(world: Path) -> tuple[list[UnitBlock], list[QuarantineEntry]]:
    return _normalize(world)


@pytest.fixture(scope="module")
def manifest(world: Path) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((world / "world.json").read_text())
    return loaded


@pytest.fixture(scope="module")
def truth(world: Path) -> list[dict[str, Any]]:
    cases: list[dict[str, Any]] = json.loads((world / "truth.json").read_text())["cases"]
    return cases


def test_every_record_normalizes_except_the_planted_malformed_ones(
    normalized: tuple[list[UnitBlock], list[QuarantineEntry]], manifest: dict[str, Any]
) -> None:
    blocks, quarantined = normalized
    assert len(blocks) + len(quarantined) == manifest["records"] >= RECORDS
    planted = {f"{m['file']}:{m['line']}" for m in manifest["malformed"]}
    assert len(planted) == MALFORMED
    assert {q.ref for q in quarantined} == planted
    for entry in quarantined:
        assert entry.error  # a reason an operator can read


def test_manifest_totals_match_what_the_connectors_read(
    normalized: tuple[list[UnitBlock], list[QuarantineEntry]], manifest: dict[str, Any]
) -> None:
    blocks, _ = normalized
    count: Counter[str] = Counter()
    units: dict[str, Counter[str]] = defaultdict(Counter)
    for block in blocks:
        count[block.registry] += 1
        units[block.registry][block.status] += block.quantity
    expected = manifest["registries"]
    assert {r: e["records"] for r, e in expected.items() if e["records"]} == dict(count)
    for registry, entry in expected.items():
        assert entry["units_by_status"] == dict(units[registry]), registry
    assert sum(manifest["files"].values()) == manifest["records"]


def test_world_has_every_registry_of_the_issue(manifest: dict[str, Any]) -> None:
    registries = set(manifest["registries"])
    assert {"srn-ppi", "tccr", "jcm-japan", "jcm-indonesia", "jcm-thailand"} <= registries
    assert {"verra", "gold-standard", "toucan", "regen", "carb", "acr", "car"} <= registries


def test_record_ids_are_unique_in_each_registry(
    normalized: tuple[list[UnitBlock], list[QuarantineEntry]],
) -> None:
    blocks, _ = normalized
    keys = Counter(block.key for block in blocks)
    assert [key for key, n in keys.items() if n > 1] == []


def test_truth_names_blocks_that_really_overlap(
    normalized: tuple[list[UnitBlock], list[QuarantineEntry]], truth: list[dict[str, Any]]
) -> None:
    by_key = {block.key: block for block in normalized[0]}
    for case in truth:
        overlap = case["overlap"]
        sides = [by_key[(b["registry"], b["record_id"])] for b in case["blocks"]]
        assert [s.serial for s in sides] == [b["serial"] for b in case["blocks"]]
        for side in sides:
            assert (side.scheme, side.scope) == (overlap["scheme"], overlap["scope"]), case["id"]
        start = max(s.block_start for s in sides)
        end = min(s.block_end for s in sides)
        assert (start, end) == (overlap["start"], overlap["end"]), case["id"]
        assert start <= end


def test_every_pattern_is_planted_exact_and_partial(truth: list[dict[str, Any]]) -> None:
    kinds: dict[str, set[str]] = defaultdict(set)
    for case in truth:
        pattern = next(p for p in PATTERNS if p.name == case["pattern"])
        assert case["legitimate"] is pattern.legitimate
        a, b = case["blocks"]
        same = (a["block_start"], a["block_end"]) == (b["block_start"], b["block_end"])
        kinds[case["pattern"]].add("exact" if same else "partial")
    # Every pattern exact and partial. (A quantity mismatch between two blocks is never exact,
    # one side holds more units; its one-block variant, a JCM share past its issuance's
    # total, is recorded with the share on both sides.)
    expected = {p.name: {"exact", "partial"} for p in PATTERNS}
    assert dict(kinds) == expected


def _overlapping_pairs(blocks: list[UnitBlock]) -> list[tuple[UnitBlock, UnitBlock]]:
    """Every pair of blocks of one numbering whose ranges intersect (sweep per scope)."""
    groups: dict[tuple[str, str], list[UnitBlock]] = defaultdict(list)
    for block in blocks:
        groups[(block.scheme, block.scope)].append(block)
    pairs: list[tuple[UnitBlock, UnitBlock]] = []
    for members in groups.values():
        members.sort(key=lambda b: b.block_start)
        active: list[UnitBlock] = []
        for block in members:
            active = [a for a in active if a.block_end >= block.block_start]
            pairs.extend((a, block) for a in active)
            active.append(block)
    return pairs


def test_nothing_overlaps_outside_the_planted_cases(
    normalized: tuple[list[UnitBlock], list[QuarantineEntry]], truth: list[dict[str, Any]]
) -> None:
    hulls: dict[tuple[str, str], list[tuple[int, int]]] = defaultdict(list)
    for case in truth:
        scope = (case["overlap"]["scheme"], case["overlap"]["scope"])
        starts = [b["block_start"] for b in case["blocks"]]
        ends = [b["block_end"] for b in case["blocks"]]
        hulls[scope].append((min(starts), max(ends)))
    unplanned = []
    for a, b in _overlapping_pairs(normalized[0]):
        same_registry = a.registry == b.registry
        if same_registry and not (a.status in LIVE_STATUSES and b.status in LIVE_STATUSES):
            continue  # an issuance and its own retirement (DOMAIN.md): not a finding
        start, end = max(a.block_start, b.block_start), min(a.block_end, b.block_end)
        if not any(lo <= end and start <= hi for lo, hi in hulls[(a.scheme, a.scope)]):
            unplanned.append((a.registry, a.serial, b.registry, b.serial))
    assert unplanned == []


def _digest(directory: Path) -> str:
    sha = hashlib.sha256()
    for path in sorted(p for p in directory.rglob("*") if p.is_file()):
        sha.update(path.relative_to(directory).as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()


def test_same_seed_same_bytes_other_seed_other_world(world: Path, tmp_path: Path) -> None:
    generate_world(SEED, RECORDS, tmp_path / "again", malformed=MALFORMED)
    generate_world(SEED + 1, RECORDS, tmp_path / "other", malformed=MALFORMED)
    assert _digest(tmp_path / "again") == _digest(world)
    assert _digest(tmp_path / "other") != _digest(world)


def test_bad_options_are_refused_naming_the_option(tmp_path: Path) -> None:
    with pytest.raises(WorldError, match="records: 10 is too small"):
        generate_world(1, 10, tmp_path)
    with pytest.raises(WorldError, match="malformed"):
        generate_world(1, 1000, tmp_path, malformed=500)


def test_generate_command_writes_a_world(tmp_path: Path) -> None:
    group = click.Group()
    register(group)
    out = tmp_path / "w"
    args = ["generate", "--seed", "5", "--records", "500", "--out", str(out), "--quiet"]
    result = CliRunner().invoke(group, args)
    assert result.exit_code == 0, result.output
    assert "wrote 5" in result.output
    assert json.loads((out / "world.json").read_text())["seed"] == 5
    refused = CliRunner().invoke(
        group, ["generate", "--seed", "5", "--records", "50", "--out", str(out)]
    )
    assert refused.exit_code != 0
    assert "records: 50 is too small" in refused.output


_PEAK_RSS = """
import resource, sys
from pathlib import Path
from metaregistry.mock.world import generate_world
generate_world(1, int(sys.argv[1]), Path(sys.argv[2]), malformed=20)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_memory_stays_flat_as_the_world_grows_tenfold(tmp_path: Path) -> None:
    import subprocess
    import sys

    def peak_kib(records: int) -> int:
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS, str(records), str(tmp_path / str(records))],
            check=True,
            capture_output=True,
            text=True,
        )
        return int(done.stdout.strip())

    small, large = peak_kib(50_000), peak_kib(500_000)
    # Streaming keeps only counters and the case schedule: ten times the records may not
    # cost more than a few MiB (holding the records would cost hundreds).
    assert large - small < 16 * 1024, (small, large)


#: World file -> the real export whose header row it writes (issue 16).
REAL_FORMATS = {
    "acr/issuances.csv": "carbonplan-offsetsdb/american-carbon-registry/issuances.csv",
    "acr/retirements.csv": "carbonplan-offsetsdb/american-carbon-registry/retirements.csv",
    "acr/cancellations.csv": "carbonplan-offsetsdb/american-carbon-registry/cancellations.csv",
    "car/issuances.csv": "carbonplan-offsetsdb/climate-action-reserve/issuances.csv",
    "car/retirements.csv": "carbonplan-offsetsdb/climate-action-reserve/retirements.csv",
    "car/cancellations.csv": "carbonplan-offsetsdb/climate-action-reserve/cancellations.csv",
    "regen/c01_credit_batches.csv": "regen-c01-verra-bridge/c01_credit_batches.csv",
    "carb/arboc_issuance_table.csv": "carb-arboc-issuance/arboc_issuance_table_2024-11-27.csv",
}


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        names = next(csv.reader(handle))
    return [n for n in names if n and not n.startswith("Unnamed: ")]


def test_acr_car_regen_and_carb_are_written_as_the_registries_publish_them(
    world: Path, manifest: dict[str, Any], real_data: Path
) -> None:
    """Issue 16: ACR and CAR as their three public reports, Regen as its C01 batch table,
    CARB as its issuance table, each with the real export's header row, none of them in the
    generic format; every row read back by the registry's own connector, issuances
    unnumbered, the rest by serial."""
    assert set(REAL_FORMATS) <= set(manifest["files"])
    assert "generic/regen.ndjson" not in manifest["files"]
    # Only what no public report lists by serial stays generic: a transfer, or a live block
    # a serial-level case needs (a few records, never a retirement or cancellation).
    for relative in ("generic/acr.ndjson", "generic/car.ndjson"):
        if relative in manifest["files"]:
            statuses = Counter(r.payload["status"] for r in world_records(world, relative))
            assert set(statuses) <= {"issued", "transferred"}, statuses
            assert sum(statuses.values()) < manifest["files"]["acr/issuances.csv"] / 4
    # CARB's table states quantities, never unit numbers: only CARB blocks numbered in their
    # source's scheme (the serial-level cases) stay generic.
    for raw in world_records(world, "generic/carb.ndjson"):
        assert raw.payload["scheme"] != "carb" and raw.payload["origin"], raw.payload
    for relative, real in REAL_FORMATS.items():
        assert _header(world / relative) == _header(real_data / real), relative
        connector = load(connector_of(relative))
        page = prepare_page(connector, world_records(world, relative), "2026-11-27T00:00:00Z")
        kind = relative.rpartition("/")[2].removesuffix(".csv")
        assert page.blocks, relative
        for block in page.blocks:
            if kind == "issuances":
                assert block.numbering == "own" and block.status == "issued", block
            elif kind in ("retirements", "cancellations"):
                status = "retired" if kind == "retirements" else "cancelled"
                assert block.numbering is None and block.status == status, block
            elif kind == "arboc_issuance_table":  # CARB: quantities under CARB's own ids
                assert block.numbering == "own" and block.cross_refs, block
            else:  # Regen batches: numbered by the Verra retirement serial they came from
                assert block.scheme == "vcs" and block.origin and block.status == "issued"
