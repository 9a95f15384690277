"""Saved API answers import as the sync stores them (issue 20 item 5).

A generated world's ``verra/vcus.ndjson`` (Verra search API records) and
``gold-standard/credits.ndjson`` (Gold Standard ``GET /credits`` records) are served by the
mock registries and synced through the real engine; then the same files are imported with
``metaregistry import``, as NDJSON and as a JSON array. Every key keeps the record hash and
raw hash the sync gave it, and the imports write no new version.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.mock.server import spawn
from metaregistry.mock.world import generate_world
from metaregistry.settings import settings_from
from metaregistry.sync import sync_connectors

pytestmark = pytest.mark.slow

FILES = {"verra": "verra/vcus.ndjson", "gold-standard": "gold-standard/credits.ndjson"}


def _hashes(engine: sa.Engine, registry: str) -> dict[str, tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text("SELECT record_id, record_hash, raw_hash FROM unit_block WHERE registry = :r"),
            {"r": registry},
        )
        return {row[0]: (row[1], row[2]) for row in rows}


def _versions(engine: sa.Engine) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.text("SELECT count(*) FROM unit_block_version")).scalar_one())


@pytest.mark.parametrize("name", sorted(FILES))
def test_an_api_dump_imports_with_the_hashes_the_sync_gives(
    tmp_path: Path, engine: sa.Engine, db_url: str, name: str
) -> None:
    world = tmp_path / "world"
    generate_world(5, 800, world)
    with spawn(name, world, token="t") as mock:
        settings = settings_from({"connectors": {name: {"base_url": mock.url, "token": "t"}}})
        report = asyncio.run(
            sync_connectors(engine, settings, [name], detect=False, checkpoint=False)
        )
    (source,) = report.sources
    assert source.outcome == "ok", source.error
    synced = _hashes(engine, name)
    versions = _versions(engine)
    assert len(synced) > 50

    dump = world / FILES[name]
    lines = dump.read_text(encoding="utf-8").splitlines()
    array = tmp_path / f"{name}.json"
    array.write_text("[" + ",\n".join(lines) + "]", encoding="utf-8")
    env = {"METAREGISTRY_DATABASE_URL": db_url, "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "k")}
    for path in (dump, array):
        result = CliRunner().invoke(main, ["import", name, str(path), "--no-detect"], env=env)
        assert result.exit_code == 0, result.output
        assert " 0 written," in result.stdout, result.output
    assert _hashes(engine, name) == synced
    assert _versions(engine) == versions

    # and into an empty index, the import alone gives the same hashes
    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = CliRunner().invoke(
        main,
        ["import", name, str(dump), "--no-detect"],
        env={**env, "METAREGISTRY_DATABASE_URL": fresh},
    )
    assert result.exit_code == 0, result.output
    from metaregistry.index.db import create_engine

    other = create_engine(fresh)
    try:
        assert _hashes(other, name) == synced
    finally:
        other.dispose()


def test_every_file_of_a_generated_world_imports(
    tmp_path: Path, engine: sa.Engine, db_url: str
) -> None:
    """A world written by ``metaregistry generate`` imports file by file with the connector
    its directory names: every well-formed record stored, every planted malformed one
    quarantined, nothing else."""
    from metaregistry.mock.world import connector_of, world_files

    world = tmp_path / "world"
    generate_world(8, 1500, world, malformed=6)
    manifest = json.loads((world / "world.json").read_text(encoding="utf-8"))
    env = {"METAREGISTRY_DATABASE_URL": db_url, "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "k")}
    for relative in world_files(world):
        args = ["import", connector_of(relative), str(world / relative), "--no-detect"]
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code in (0, 1) and "Traceback" not in result.output, result.output
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT count(*) FROM unit_block")).scalar_one()
        quarantined = conn.execute(sa.text("SELECT ref FROM quarantine")).scalars().all()
    planted = {f"{Path(m['file']).name}:{m['line']}" for m in manifest["malformed"]}
    assert set(quarantined) == planted
    assert stored == manifest["records"] - len(planted)
