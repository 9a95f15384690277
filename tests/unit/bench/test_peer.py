"""The bench's peer phase: the export it writes, our import of it, the peer's absence."""

from __future__ import annotations

import builtins
import csv
from pathlib import Path
from typing import Any

import pytest

from metaregistry.bench import peer
from metaregistry.serials import parse_serial


@pytest.fixture
def sample(real_data: Path) -> Path:
    return real_data / peer.SAMPLE


def test_export_repeats_the_sample_with_disjoint_serials(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    with sample.open(newline="", encoding="utf-8-sig") as handle:
        base = list(csv.DictReader(handle))
    rows = len(base) * 2 + 7
    info = peer.write_export(sample, rows, out)
    assert info["rows"] == rows and info["sample_rows"] == len(base)
    with out.open(newline="", encoding="utf-8") as handle:
        written = list(csv.DictReader(handle))
    assert len(written) == rows
    serials = [r["Serial Number"] for r in written]
    assert len(set(serials)) == rows
    units: list[tuple[str, int, int]] = []
    for i, row in enumerate(written):
        source = base[i % len(base)]
        # Every column but the serial is the sample's own.
        assert {k: v for k, v in row.items() if k != "Serial Number"} == {
            k: v for k, v in source.items() if k != "Serial Number"
        }
        parsed = parse_serial(row["Serial Number"])
        original = parse_serial(source["Serial Number"])
        shift = (i // len(base)) * peer.SHIFT
        assert (parsed.block_start, parsed.block_end) == (
            original.block_start + shift,
            original.block_end + shift,
        )
        units.append((parsed.scope, parsed.block_start, parsed.block_end))
    # Repeats never share units with one another.
    by_repeat: dict[int, list[tuple[str, int, int]]] = {}
    for i, unit in enumerate(units):
        by_repeat.setdefault(i // len(base), []).append(unit)
    first_max = max(end for _, _, end in by_repeat[0])
    second_min = min(start for _, start, _ in by_repeat[1])
    assert first_max < second_min


def test_our_import_of_the_export_stores_every_row(sample: Path, tmp_path: Path) -> None:
    out = tmp_path / "export.csv"
    peer.write_export(sample, 300, out)
    result = peer.ours_import({"file": str(out), "rows": 300, "workdir": str(tmp_path / "w")})
    assert result["blocks"] == 300
    assert result["quarantined"] == 0
    assert result["rows_per_s"] > 0


def test_peer_phase_says_why_when_offsets_db_data_is_missing(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    real_import = builtins.__import__

    def no_peer(name: str, *args: Any, **kwargs: Any) -> Any:
        if name.startswith("offsets_db_data"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_peer)
    result = peer.peer_transform({"file": str(tmp_path / "x.csv"), "rows": 1})
    assert "offsets-db-data is not installed" in result["skipped"]


def test_sample_is_found_through_the_variable(
    sample: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("METAREGISTRY_REAL_DATA", str(sample.parents[2]))
    monkeypatch.chdir(tmp_path)
    assert peer.find_sample() == sample
    assert peer.find_sample(tmp_path / "missing.csv") is None
