"""Done criterion of the mock registries: with faults on, each connector syncs its mock
completely. Every well-formed record of that registry's world is in the index (count,
quantities, statuses and origins equal the world's), every malformed one is in quarantine with
its reason, nothing is duplicated. The mocks run as real processes on real ports and the real
sync engine pulls from them.

Malformed records come from two places: planted by the generator (``world.json``) and
corrupted by the mock's ``malformed`` fault (``malformed_records``). Both must end in
quarantine; the world's totals minus the records the mock corrupted must equal the index.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from metaregistry import plugins
from metaregistry.connector import RawRecord
from metaregistry.index import store
from metaregistry.mock.server import FaultSpec, malformed_records, spawn
from metaregistry.mock.server.dataset import MalformedRecord, RecordFormat
from metaregistry.mock.server.gold_standard import FORMAT as GOLD_STANDARD
from metaregistry.mock.server.jcm import FORMAT as JCM
from metaregistry.mock.server.srn_ppi import FORMAT as SRN_PPI
from metaregistry.mock.server.tccr import FORMAT as TCCR
from metaregistry.mock.server.verra import FORMAT as VERRA
from metaregistry.mock.world import connector_of, generate_world, world_files, world_records
from metaregistry.model import UnitBlock
from metaregistry.settings import settings_from
from metaregistry.sync import SyncReport, sync_connectors

pytestmark = pytest.mark.slow

WORLD_SEED = 11
WORLD_RECORDS = 3000
WORLD_MALFORMED = 14
FAULTS = (
    "429=0.08,5xx=0.08,truncate=0.06,slow=0.03,repeat=0.1,malformed=0.01,"
    "retry-after=0,slow-seconds=0.2"
)
FAULT_SEED = 7
TOKEN = "mock-sync-token"
FORMATS: dict[str, RecordFormat] = {
    "srn-ppi": SRN_PPI,
    "tccr": TCCR,
    "jcm": JCM,
    "verra": VERRA,
    "gold-standard": GOLD_STANDARD,
}
# Small pages, so that a world of a few thousand records meets every fault many times.
CASES = [
    pytest.param("srn-ppi", {"page_size": 40}, id="srn-ppi"),
    pytest.param("tccr", {}, id="tccr-export"),
    pytest.param("tccr", {"source": "api", "page_size": 30}, id="tccr-api"),
    pytest.param("jcm", {"page_size": 25}, id="jcm"),
    pytest.param("verra", {"page_size": 100}, id="verra"),
    pytest.param("gold-standard", {}, id="gold-standard"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(WORLD_SEED, WORLD_RECORDS, out, malformed=WORLD_MALFORMED)
    return out


def _sync(engine: sa.Engine, name: str, url: str, options: dict[str, Any]) -> SyncReport:
    table = {"base_url": url, "token": TOKEN, **options}
    settings = settings_from({"connectors": {name: table}})
    return asyncio.run(sync_connectors(engine, settings, [name], detect=False, checkpoint=False))


class Expected:
    """What the index and the quarantine must hold after syncing ``name``'s mock."""

    def __init__(self, world: Path, name: str) -> None:
        connector = plugins.load(name)
        manifest = json.loads((world / "world.json").read_text(encoding="utf-8"))
        self.files = [f for f in world_files(world) if connector_of(f) == name]
        self.registries = {
            slug: info
            for slug, info in manifest["registries"].items()
            if info["file"] in self.files
        }
        planted = {(m["file"], m["line"]): m for m in manifest["malformed"]}
        self.injected: dict[tuple[str, str], MalformedRecord] = {
            (m.dataset, m.record_id): m
            for m in malformed_records(name, world, FaultSpec.parse(FAULTS, seed=FAULT_SEED))
        }
        fmt = FORMATS[name]
        self.blocks: dict[tuple[str, str], UnitBlock] = {}
        self.corrupted: list[UnitBlock] = []  # well-formed in the world, broken by the mock
        self.malformed: list[tuple[str, Any, str | None]] = []  # (field, value, named field)
        for file in self.files:
            for raw in world_records(world, file):
                line = int(raw.ref.rsplit(":", 1)[1])
                record_id = str(raw.payload[fmt.id_field])
                fault = self.injected.get((file, record_id))
                if (file, line) in planted:
                    self.malformed.append((fmt.id_field, raw.payload[fmt.id_field], None))
                    continue
                block = connector.normalize(raw)
                if fault is not None:
                    self.corrupted.append(block)
                    self.malformed.append(_identity(fmt, raw, fault))
                    continue
                self.blocks[(block.registry, block.record_id)] = block
        assert len(self.injected) >= 1, "the fault seed corrupts no record of this world"

    def tallies(self, blocks: Iterator[UnitBlock]) -> dict[str, tuple[Counter[str], Counter[str]]]:
        out: dict[str, tuple[Counter[str], Counter[str]]] = {}
        for block in blocks:
            records, units = out.setdefault(block.registry, (Counter(), Counter()))
            records[block.status] += 1
            units[block.status] += block.quantity
        return out


def _identity(fmt: RecordFormat, raw: RawRecord, fault: MalformedRecord) -> tuple[str, Any, str]:
    """How to find a corrupted record in the quarantine: by its id, or (where the id is the
    serial the mock broke, as on Verra) by the broken value."""
    if fault.field == fmt.id_field:
        return fault.field, fault.value, fault.field
    return fmt.id_field, raw.payload[fmt.id_field], fault.field


def _index(engine: sa.Engine, name: str) -> list[Any]:
    table = store.unit_block
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(table.c.connector == name)))


def _versions(engine: sa.Engine, name: str) -> int:
    table = store.unit_block_version
    with engine.connect() as conn:
        count = conn.execute(
            sa.select(sa.func.count()).select_from(table).where(table.c.connector == name)
        ).scalar()
    return int(count or 0)


def _quarantine(engine: sa.Engine, name: str) -> list[Any]:
    table = store.quarantine_table
    with engine.connect() as conn:
        return list(conn.execute(sa.select(table).where(table.c.connector == name)))


def _typed(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


@pytest.mark.parametrize(("name", "options"), CASES)
def test_each_connector_syncs_its_mock_completely_despite_faults(
    world: Path, engine: sa.Engine, name: str, options: dict[str, Any]
) -> None:
    expected = Expected(world, name)
    with spawn(name, world, faults=FAULTS, fault_seed=FAULT_SEED, token=TOKEN) as mock:
        first = _sync(engine, name, mock.url, options)
        (source,) = first.sources
        assert source.outcome == "ok", source.error
        with httpx.Client(base_url=mock.url) as client:
            served = client.get("/_mock/stats").json()["served"]
        # The run met faults of every kind it could (a export is one request per run).
        if name != "tccr" or options:
            assert served.get("429", 0) + served.get("5xx", 0) + served.get("truncate", 0) > 0

        rows = _index(engine, name)
        got = {(row.registry, row.record_id): row for row in rows}
        assert len(rows) == len(got), "a record is in the index twice"
        assert set(got) == set(expected.blocks), (
            f"missing {sorted(set(expected.blocks) - set(got))[:5]}, "
            f"unexpected {sorted(set(got) - set(expected.blocks))[:5]}"
        )
        for key, block in expected.blocks.items():
            row = got[key]
            assert (row.quantity, row.status, row.origin) == (
                block.quantity,
                block.status,
                block.origin,
            ), key
        # Repeated pages and retried ones wrote no second version of anything.
        assert {row.version for row in rows} == {1}
        assert _versions(engine, name) == len(rows)

        # The world's own totals, less what the mock corrupted, are the index's totals.
        index_tallies = expected.tallies(store.block_from_row(row) for row in rows)
        lost = expected.tallies(iter(expected.corrupted))
        for slug, info in expected.registries.items():
            records, units = index_tallies.get(slug, (Counter(), Counter()))
            lost_records, lost_units = lost.get(slug, (Counter(), Counter()))
            assert records + lost_records == Counter(info["records_by_status"]), slug
            assert units + lost_units == Counter(info["units_by_status"]), slug

        quarantined = _quarantine(engine, name)
        payloads = [json.loads(row.payload) for row in quarantined]
        for id_field, value, broken_field in expected.malformed:
            matches = [
                row
                for row, payload in zip(quarantined, payloads, strict=True)
                if isinstance(payload, dict) and _typed(payload.get(id_field)) == _typed(value)
            ]
            assert len(matches) == 1, f"{id_field}={value!r}: {len(matches)} quarantine entries"
            assert matches[0].error.strip()
            if broken_field is not None:
                assert broken_field in matches[0].error, matches[0].error
        assert len(quarantined) == len(expected.malformed)

        # A second run over the same faulty mock changes nothing.
        second = _sync(engine, name, mock.url, options)
        assert second.sources[0].outcome == "ok", second.sources[0].error
        assert _versions(engine, name) == len(rows)
        assert len(_quarantine(engine, name)) == len(quarantined)
