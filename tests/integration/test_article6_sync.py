"""The Article 6 registries' authorizations, synced from their mocks with faults on (issue 19,
item 1): each connector reads its registry's own vocabulary from a paged endpoint, every LoA
of the world lands once (one version), a second run writes nothing, and the Bangkok e-bus
LoA of every world is Thailand's, for Switzerland, 1,916 t of vintage 2022."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from metaregistry.article6.store import authorizations, get_authorization, history
from metaregistry.article6.tables import authorization_version_table
from metaregistry.mock.server import spawn
from metaregistry.mock.world import generate_world
from metaregistry.settings import settings_from
from metaregistry.sync import SyncReport, sync_connectors

pytestmark = pytest.mark.slow

FAULTS = "429=0.1,5xx=0.1,truncate=0.08,repeat=0.15,malformed=0.02,retry-after=0"
TOKEN = "a6-token"
#: connector, its authorization file, the file's id field, the registry of its records
CASES = [
    pytest.param("srn-ppi", "srn-ppi/otorisasi.ndjson", "nomor_loa", "srn-ppi", id="srn-ppi"),
    pytest.param("tccr", "tccr/authorizations.ndjson", "loa_no", "tccr", id="tccr"),
    pytest.param("jcm", "jcm/a6/authorizations.ndjson", "authorization_id", "jcm", id="jcm"),
]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("world")
    generate_world(5, 1500, out)
    return out


def _sync(engine: sa.Engine, name: str, url: str) -> SyncReport:
    settings = settings_from(
        {"connectors": {name: {"base_url": url, "token": TOKEN, "page_size": 4}}}
    )
    return asyncio.run(sync_connectors(engine, settings, [name], detect=False, checkpoint=False))


def _lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


@pytest.mark.parametrize(("name", "file", "id_field", "registry"), CASES)
def test_each_registry_publishes_its_authorizations_and_the_sync_keeps_them(
    world: Path, engine: sa.Engine, name: str, file: str, id_field: str, registry: str
) -> None:
    published = _lines(world / file)
    assert published, f"the world has no authorization in {file}"
    with spawn(name, world, faults=FAULTS, fault_seed=3, token=TOKEN) as mock:
        (first,) = _sync(engine, name, mock.url).sources
        assert first.outcome == "ok", first.error
        (second,) = _sync(engine, name, mock.url).sources
        assert second.outcome == "ok", second.error
    with engine.connect() as conn:
        stored = {a.authorization_id: a for a in authorizations(conn) if a.registry == registry}
        versions = conn.execute(
            sa.select(sa.func.count())
            .select_from(authorization_version_table)
            .where(authorization_version_table.c.registry == registry)
        ).scalar()
        quarantined = conn.execute(
            sa.text(
                "SELECT COUNT(*) FROM quarantine WHERE stream IN ('otorisasi', 'authorizations')"
            )
        ).scalar()
    assert sorted(stored) == sorted(str(p[id_field]) for p in published)
    # repeated and retried pages, and the second run, wrote no second version
    assert versions == len(published)
    assert quarantined == 0
    for auth in stored.values():
        assert auth.kind in ("loa", "jcm-estimate", "loack", "results-based-payment")
        assert auth.date and auth.quantity is not None
        if auth.kind == "loa":
            assert auth.purposes
    if name == "jcm":
        # the planted case only Japan authorized (issue 19 ground truth), the rest both
        by = sorted(tuple(a.authorized_by) for a in stored.values())
        assert ("JP",) in by and any(len(b) == 2 for b in by)
    if name == "srn-ppi":
        assert {a.kind for a in stored.values()} == {"loa", "results-based-payment"}
    if name == "tccr":
        ebus = stored["TGO-LoA-2023-0001"]
        assert (ebus.host_party, ebus.acquiring_parties, ebus.quantity) == ("TH", ["CH"], 1916)
        assert (ebus.vintage_from, ebus.vintage_to, ebus.date) == (2022, 2022, "2023-06-01")
        assert ebus.activity_id == "TVER-P-0001" and ebus.purposes == ["ndc"]


def test_a_revoked_letter_is_a_new_version(world: Path, engine: sa.Engine, tmp_path: Path) -> None:
    """The registry revokes an LoA: the next sync writes version 2, version 1 stays."""
    import shutil

    copy = tmp_path / "world"
    shutil.copytree(world, copy)
    with spawn("tccr", copy, token=TOKEN) as mock:
        _sync(engine, "tccr", mock.url)
    path = copy / "tccr/authorizations.ndjson"
    lines = _lines(path)
    for line in lines:
        if line["loa_no"] == "TGO-LoA-2023-0001":
            line["loa_status"] = "Revoked"
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    with spawn("tccr", copy, token=TOKEN) as mock:
        _sync(engine, "tccr", mock.url)
    with engine.connect() as conn:
        current = get_authorization(conn, "tccr", "TGO-LoA-2023-0001")
        versions = history(conn, "tccr", "TGO-LoA-2023-0001")
    assert current is not None and current.status == "revoked"
    assert [(v.version, v.authorization.status) for v in versions] == [
        (1, "active"),
        (2, "revoked"),
    ]
