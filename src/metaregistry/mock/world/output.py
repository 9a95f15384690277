"""Writing a world: one line a record into each registry's file, the truth as it is planted,
and the manifest at the end. Nothing but counters is kept in memory, so a world of ten million
records is written in the memory of a few thousand."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from metaregistry.mock.world.formats import format_of
from metaregistry.mock.world.model import Block

__all__ = ["Case", "MalformedRecord", "WorldWriter"]

_BUFFER = 1 << 20
_dumps = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


@dataclass(slots=True)
class Case:
    """One planted pattern: the blocks involved and the units they share."""

    id: str
    pattern: str
    legitimate: bool
    blocks: list[Block]
    overlap: tuple[str, str, int, int]
    note: str

    def to_json(self) -> dict[str, Any]:
        scheme, scope, start, end = self.overlap
        return {
            "id": self.id,
            "pattern": self.pattern,
            "legitimate": self.legitimate,
            "blocks": [
                {
                    "registry": b.registry,
                    "record_id": b.record_id,
                    "serial": b.serial,
                    "status": b.status,
                    "scheme": b.scheme,
                    "scope": b.scope,
                    "block_start": b.start,
                    "block_end": b.end,
                }
                for b in self.blocks
            ],
            "overlap": {"scheme": scheme, "scope": scope, "start": start, "end": end},
            "note": self.note,
        }


@dataclass(slots=True)
class MalformedRecord:
    registry: str
    file: str
    line: int
    record_id: str
    reason: str


@dataclass(slots=True)
class _Tally:
    file: str
    records: int = 0
    malformed: int = 0
    units: Counter[str] = field(default_factory=Counter)
    count_by_status: Counter[str] = field(default_factory=Counter)


class WorldWriter:
    """Open files of one world directory. Use as a context manager."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._files: dict[str, IO[str]] = {}
        self._lines: Counter[str] = Counter()
        self._ids: Counter[str] = Counter()
        self._tallies: dict[str, _Tally] = {}
        self.malformed: list[MalformedRecord] = []
        self.cases: Counter[str] = Counter()
        self.written = 0
        out_dir.mkdir(parents=True, exist_ok=True)
        self._truth = (out_dir / "truth.json").open("w", encoding="utf-8", buffering=_BUFFER)
        self._truth_count = 0

    def __enter__(self) -> WorldWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _file(self, relative: str) -> IO[str]:
        handle = self._files.get(relative)
        if handle is None:
            target = self.out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = target.open("w", encoding="utf-8", newline="\n", buffering=_BUFFER)
            self._files[relative] = handle
        return handle

    def add(self, block: Block) -> Block:
        """Give the block its registry's record id and write it."""
        fmt = format_of(block.registry)
        self._ids[block.registry] += 1
        block.number = self._ids[block.registry]
        block.record_id = fmt.record_id(block, block.number)
        relative = fmt.path(block.registry)
        self._file(relative).write(_dumps(fmt.record(block)) + "\n")
        self._lines[relative] += 1
        tally = self._tallies.get(block.registry)
        if tally is None:
            tally = self._tallies[block.registry] = _Tally(relative)
        tally.records += 1
        tally.units[block.status] += block.quantity
        tally.count_by_status[block.status] += 1
        self.written += 1
        return block

    def add_malformed(self, block: Block, field: str, value: Any, reason: str) -> None:
        """Write the block with one native field replaced by a bad ``value``; the record counts
        in its file but not in its registry's totals (it must end up in quarantine)."""
        fmt = format_of(block.registry)
        self._ids[block.registry] += 1
        block.number = self._ids[block.registry]
        block.record_id = fmt.record_id(block, block.number)
        relative = fmt.path(block.registry)
        payload = fmt.record(block)
        if field not in payload:
            raise KeyError(f"{block.registry} records have no field {field!r}")
        payload[field] = value
        self._file(relative).write(_dumps(payload) + "\n")
        self._lines[relative] += 1
        tally = self._tallies.get(block.registry)
        if tally is None:
            tally = self._tallies[block.registry] = _Tally(relative)
        tally.malformed += 1
        self.written += 1
        self.malformed.append(
            MalformedRecord(
                block.registry, relative, self._lines[relative], block.record_id, reason
            )
        )

    def plant(self, case: Case) -> None:
        """Append a case to ``truth.json`` (its blocks must have been added already)."""
        self._truth.write('{"cases":[\n' if self._truth_count == 0 else ",\n")
        self._truth.write(_dumps(case.to_json()))
        self._truth_count += 1
        self.cases[case.pattern] += 1

    def manifest(self, seed: int, requested: int) -> dict[str, Any]:
        return {
            "seed": seed,
            "records": self.written,
            "requested_records": requested,
            "files": {name: count for name, count in sorted(self._lines.items())},
            "registries": {
                registry: {
                    "file": tally.file,
                    "records": tally.records,
                    "malformed": tally.malformed,
                    "units_by_status": dict(sorted(tally.units.items())),
                    "records_by_status": dict(sorted(tally.count_by_status.items())),
                }
                for registry, tally in sorted(self._tallies.items())
            },
            "cases": dict(sorted(self.cases.items())),
            "malformed": [
                {
                    "registry": m.registry,
                    "file": m.file,
                    "line": m.line,
                    "record_id": m.record_id,
                    "reason": m.reason,
                }
                for m in self.malformed
            ],
        }

    def finish(self, seed: int, requested: int) -> dict[str, Any]:
        """Close the truth file and write ``world.json``; returns the manifest."""
        self._truth.write('{"cases":[' if self._truth_count == 0 else "\n")
        self._truth.write(f'],"seed":{seed}}}\n')
        manifest = self.manifest(seed, requested)
        (self.out_dir / "world.json").write_text(
            json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
        return manifest

    def close(self) -> None:
        for handle in self._files.values():
            handle.close()
        self._files.clear()
        self._truth.close()
