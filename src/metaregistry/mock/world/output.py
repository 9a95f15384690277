"""Writing a world: one line a record into each registry's file, the truth as it is planted,
and the manifest at the end. Nothing but counters is kept in memory, so a world of ten million
records is written in the memory of a few thousand."""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections import Counter
from dataclasses import dataclass
from json.encoder import c_encode_basestring, c_make_encoder  # type: ignore[attr-defined]
from pathlib import Path
from types import ModuleType
from typing import IO, Any

from metaregistry.mock.world.formats import authorizations as authorization_format
from metaregistry.mock.world.formats import format_of
from metaregistry.mock.world.formats import generic as generic_format
from metaregistry.mock.world.model import Block

__all__ = ["Case", "MalformedRecord", "WorldWriter"]

_BUFFER = 1 << 20


def _unserializable(value: object) -> object:
    raise TypeError(f"{value!r} is not JSON serializable")


# The C encoder built once: json.dumps builds one per call, a fifth of its cost on small
# records. No circular-reference markers: records are trees the formats build.
_encode = (
    c_make_encoder(None, _unserializable, c_encode_basestring, None, ":", ",", False, False, True)
    if c_make_encoder is not None
    else None
)


def _dumps(record: dict[str, Any]) -> str:
    if _encode is None:  # pragma: no cover - CPython without its _json accelerator
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"))
    return "".join(_encode(record, 0))


@dataclass(slots=True)
class Case:
    """One planted pattern: the blocks involved and the units they share."""

    id: str
    pattern: str
    legitimate: bool
    blocks: list[Block]
    overlap: tuple[str, str, int, int]
    note: str
    kind: str
    severity: str | None = None

    def to_json(self) -> dict[str, Any]:
        scheme, scope, start, end = self.overlap
        return {
            "id": self.id,
            "pattern": self.pattern,
            "legitimate": self.legitimate,
            "kind": self.kind,
            "severity": self.severity,
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


class _Route:
    """Where one file's records go, and what was written there. A format with ``header``
    writes CSV (its header row first), any other NDJSON."""

    __slots__ = (
        "count_by_status",
        "csv",
        "fmt",
        "handle",
        "header",
        "malformed",
        "records",
        "registry",
        "relative",
        "seen",
        "units",
    )

    def __init__(self, fmt: ModuleType, registry: str, relative: str, handle: IO[str]) -> None:
        self.fmt = fmt
        self.registry = registry
        self.relative = relative
        self.handle = handle
        self.records = 0
        self.malformed = 0
        self.units: dict[str, int] = {}
        self.count_by_status: dict[str, int] = {}
        self.header: tuple[str, ...] | None = None
        self.csv: Any = None
        self.seen: dict[int, int] = {}  # hashes of repeatable record ids (formats' REPEATS)
        if hasattr(fmt, "header"):
            self.header = fmt.header(relative)
            self.csv = csv.writer(handle, lineterminator="\n")
            self.csv.writerow(self.header)

    @property
    def lines(self) -> int:
        return self.records + self.malformed

    @property
    def line(self) -> int:
        """The file line of the last record written (a CSV header is line 1)."""
        return self.lines + (1 if self.header else 0)

    def record_id(self, block: Block) -> str:
        """The id the registry gives the block; a format whose ids may repeat (APX issuance
        rows of one project, vintage and day) numbers the second and later `` #2``, ..."""
        rid: str = self.fmt.record_id(block, block.number)
        if getattr(self.fmt, "REPEATS", False):
            key = hash(rid)
            count = self.seen[key] = self.seen.get(key, 0) + 1
            if count > 1:
                rid = f"{rid} #{count}"
        return rid

    def write(self, payload: dict[str, Any]) -> None:
        if self.header is None:
            self.handle.write(_dumps(payload) + "\n")
            return
        self.csv.writerow(["" if (v := payload.get(c)) is None else v for c in self.header])


class WorldWriter:
    """Open files of one world directory. Use as a context manager."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self._routes: dict[str, _Route] = {}  # by file
        self._single: dict[str, _Route] = {}  # by registry, for formats of one file
        self.malformed: list[MalformedRecord] = []
        self.cases: Counter[str] = Counter()
        self.written = 0
        out_dir.mkdir(parents=True, exist_ok=True)
        self._truth = (out_dir / "truth.json").open("w", encoding="utf-8", buffering=_BUFFER)
        self._truth_count = 0
        self._authorizations: dict[str, IO[str]] = {}
        self.authorizations: Counter[str] = Counter()
        #: Article 6 ground truth the writing itself knows (issue 19): blocks first-transferred
        #: with the adjustment not applied, and units first-transferred per (host, year).
        self.article6_findings: list[tuple[str, str]] = []
        self.first_transferred: Counter[tuple[str, int]] = Counter()

    def __enter__(self) -> WorldWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _route(self, block: Block) -> _Route:
        route = self._single.get(block.registry)
        if route is not None:
            return route
        registry = block.registry
        fmt = format_of(registry)
        path_of = getattr(fmt, "path_of", None)
        relative = path_of(block) if path_of is not None else fmt.path(registry)
        if relative is None:  # a record the registry's files cannot state: the generic format
            fmt = generic_format
            relative = fmt.path(registry)
        route = self._routes.get(relative)
        if route is None:
            target = self.out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = target.open("w", encoding="utf-8", newline="\n", buffering=_BUFFER)
            route = self._routes[relative] = _Route(fmt, registry, relative, handle)
        if path_of is None:
            self._single[registry] = route
        return route

    def add(self, block: Block) -> Block:
        """Give the block its registry's record id and write it. A format that states one
        status whatever the block's (``stated_status``: Regen's batch table records
        issuances) sets it first, so the manifest counts what the file says; one whose serial
        is its record id (``SERIAL_IS_ID``) sets the serial too."""
        route = self._route(block)
        fmt = route.fmt
        stated = getattr(fmt, "stated_status", None)
        if stated is not None:
            block.status = stated(block)
        block.number = route.lines + 1
        block.record_id = route.record_id(block)
        payload = fmt.record(block)
        if getattr(fmt, "SERIAL_IS_ID", False):
            block.serial = block.record_id
        route.write(payload)
        route.records += 1
        status = block.status
        route.units[status] = route.units.get(status, 0) + block.end - block.start + 1
        route.count_by_status[status] = route.count_by_status.get(status, 0) + 1
        self.written += 1
        if block.a6 is not None:
            self._article6(block)
        return block

    def _article6(self, block: Block) -> None:
        a6 = block.a6
        assert a6 is not None
        if not a6.published:
            self._authorization(block)
        if a6.first_transfer_on is not None:
            year = dt.date.fromordinal(a6.first_transfer_on).year
            self.first_transferred[(block.project.country, year)] += block.quantity
            if a6.ca == "not-applied":
                self.article6_findings.append(
                    ("ca-not-applied", f"{block.registry}:{block.record_id}")
                )

    def _authorization(self, block: Block) -> None:
        """Write the block's LoA to its registry's authorization file (once per LoA)."""
        relative = authorization_format.path(block.registry)
        if relative is None or block.a6 is None:
            return
        handle = self._authorizations.get(relative)
        if handle is None:
            target = self.out_dir / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            handle = target.open("w", encoding="utf-8", newline="\n", buffering=_BUFFER)
            self._authorizations[relative] = handle
        handle.write(_dumps(authorization_format.record(block)) + "\n")
        block.a6.published = True
        self.authorizations[relative] += 1

    def add_malformed(self, block: Block, field: str, value: Any, reason: str) -> None:
        """Write the block with one native field replaced by a bad ``value``; the record counts
        in its file but not in its registry's totals (it must end up in quarantine)."""
        route = self._route(block)
        block.number = route.lines + 1
        block.record_id = route.record_id(block)
        payload = route.fmt.record(block)
        if field not in payload:
            raise KeyError(f"{block.registry} records have no field {field!r}")
        payload[field] = value
        route.write(payload)
        route.malformed += 1
        self.written += 1
        self.malformed.append(
            MalformedRecord(block.registry, route.relative, route.line, block.record_id, reason)
        )

    def plant(self, case: Case) -> None:
        """Append a case to ``truth.json`` (its blocks must have been added already)."""
        self._truth.write('{"cases":[\n' if self._truth_count == 0 else ",\n")
        self._truth.write(_dumps(case.to_json()))
        self._truth_count += 1
        self.cases[case.pattern] += 1

    def _registries(self) -> dict[str, dict[str, Any]]:
        """Per registry, over its files: ``file`` (the first), ``files`` and the tallies."""
        out: dict[str, dict[str, Any]] = {}
        for route in sorted(self._routes.values(), key=_by_file):
            entry = out.setdefault(
                route.registry,
                {
                    "file": route.relative,
                    "files": [],
                    "records": 0,
                    "malformed": 0,
                    "units_by_status": Counter(),
                    "records_by_status": Counter(),
                },
            )
            entry["files"].append(route.relative)
            entry["records"] += route.records
            entry["malformed"] += route.malformed
            entry["units_by_status"].update(route.units)
            entry["records_by_status"].update(route.count_by_status)
        for entry in out.values():
            entry["units_by_status"] = dict(sorted(entry["units_by_status"].items()))
            entry["records_by_status"] = dict(sorted(entry["records_by_status"].items()))
        return dict(sorted(out.items()))

    def manifest(self, seed: int, requested: int) -> dict[str, Any]:
        return {
            "seed": seed,
            "records": self.written,
            "requested_records": requested,
            "files": {r.relative: r.lines for r in sorted(self._routes.values(), key=_by_file)},
            "registries": self._registries(),
            "cases": dict(sorted(self.cases.items())),
            "authorizations": dict(sorted(self.authorizations.items())),
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
        for route in self._routes.values():
            route.handle.close()
        for handle in self._authorizations.values():
            handle.close()
        self._truth.close()


def _by_file(route: _Route) -> str:
    return route.relative
