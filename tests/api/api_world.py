"""A small index that exercises every part of a lookup, written through the real writers:
blocks by ``upsert_blocks`` (two versions of one), log leaves and a signed checkpoint by the
log store, and an alert and a conversion link in detection's tables.

    units of vcs (scope "")     registry        record     status
    1000-1999                   verra           v-iss      issued (v1), then a status date (v2)
    1100-1199                   verra           v-ret      retired
    1100-1149                   tccr            t-dup      retired   -> double use with v-ret
    1500-1599                   verra           v-can      cancelled for conversion
    1500-1599                   srn-ppi         s-conv     issued, origin = v-can's serial
    gs 30307: 1-500             gold-standard   g-1        retired

Every version is logged; the checkpoint is published before v-iss's second version, whose
proof is therefore pending.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa
from aiohttp import web

from metaregistry.canonical import hash_json, sha256_hex
from metaregistry.detect.tables import alert_side_table, alert_table, block_link_table
from metaregistry.index.metadata import metadata
from metaregistry.index.store import upsert_blocks
from metaregistry.log import store as log_store
from metaregistry.log.keyfile import FileSigner
from metaregistry.log.leaf import BlockLeaf
from metaregistry.model import UnitBlock

ORIGIN = "metaregistry.test/log"
OBSERVED = "2026-01-02T03:04:05Z"


def verra_serial(start: int, end: int) -> str:
    return f"19385-{start}-{end}-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1"


V_ISS = verra_serial(1000, 1999)
V_RET = verra_serial(1100, 1199)
V_CAN = verra_serial(1500, 1599)
GS_SERIAL = "GS1-1-UG-GS11236-16-2024-30307-1-500"
ALERT_ID = "al_" + "1" * 24
#: Counts forever; only a deadline stops it (valid SQL on SQLite and PostgreSQL).
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT COUNT(*) FROM c"


def block(
    registry: str,
    record_id: str,
    serial: str,
    start: int,
    end: int,
    status: str,
    *,
    scheme: str = "vcs",
    scope: str = "",
    **extra: str,
) -> UnitBlock:
    made = UnitBlock(
        registry=registry,
        record_id=record_id,
        serial=serial,
        scheme=scheme,
        scope=scope,
        block_start=start,
        block_end=end,
        quantity=end - start + 1,
        status=status,
        project_id=extra.pop("project_id", "VCS1340"),
        observed_at=OBSERVED,
        raw_hash=sha256_hex(f"raw {registry} {record_id} {status}".encode()),
        **extra,
    )
    made.record_hash = hash_json(made.content())
    return made


@dataclass
class World:
    engine: sa.Engine
    signer: FileSigner
    blocks: dict[str, UnitBlock]


def build_world(engine: sa.Engine, key_dir: Path) -> World:
    # Detection's and the log's tables, until their migrations are part of every database.
    metadata.create_all(engine, checkfirst=True)
    first = {
        "v-iss": block("verra", "v-iss", V_ISS, 1000, 1999, "issued"),
        "v-ret": block("verra", "v-ret", V_RET, 1100, 1199, "retired"),
        "v-can": block(
            "verra",
            "v-can",
            V_CAN,
            1500,
            1599,
            "cancelled",
            status_reason="cancelled for conversion to SPE-GRK",
        ),
        "t-dup": block(
            "tccr",
            "t-dup",
            "TVER-2024-0001-1100-1149",
            1100,
            1149,
            "retired",
            project_id="TVER0001",
        ),
        "s-conv": block(
            "srn-ppi", "s-conv", "IDN-SPE-0007-000001-000100", 1500, 1599, "issued", origin=V_CAN
        ),
        "g-1": block(
            "gold-standard",
            "g-1",
            GS_SERIAL,
            1,
            500,
            "retired",
            scheme="gs",
            scope="30307",
            project_id="GS11236",
        ),
    }
    signer = FileSigner.open(key_dir / "log-key.pem", ORIGIN)
    with engine.begin() as conn:
        for name in ("verra", "tccr", "srn-ppi", "gold-standard"):
            mine = [b for b in first.values() if b.registry == name]
            stored = upsert_blocks(conn, mine, connector=name)
            log_store.append_leaves(
                conn,
                [
                    BlockLeaf(
                        v.block.registry, v.block.record_id, v.version, v.block.record_hash or ""
                    )
                    for v in stored.versions
                ],
            )
        log_store.publish_checkpoint(conn, signer, ORIGIN)
        _alert(conn)
        _link(conn, first["v-can"], first["s-conv"])
    second = first["v-iss"].replace(status_date="2026-01-15")
    second.record_hash = hash_json(second.content())
    with engine.begin() as conn:
        stored = upsert_blocks(conn, [second], connector="verra")
        assert stored.changed == 1
        log_store.append_leaves(conn, [BlockLeaf("verra", "v-iss", 2, second.record_hash)])
    return World(engine, signer, {**first, "v-iss": second})


def _alert(conn: sa.Connection) -> None:
    at = datetime(2026, 1, 3, tzinfo=UTC)
    sides = [
        {
            "registry": "verra",
            "record_id": "v-ret",
            "serial": V_RET,
            "block_start": 1100,
            "block_end": 1199,
            "status": "retired",
            "role": "a",
        },
        {
            "registry": "tccr",
            "record_id": "t-dup",
            "serial": "TVER-2024-0001-1100-1149",
            "block_start": 1100,
            "block_end": 1149,
            "status": "retired",
            "role": "b",
        },
    ]
    conn.execute(
        alert_table.insert().values(
            id=ALERT_ID,
            kind="double_use",
            severity="high",
            status="open",
            scheme="vcs",
            scope="",
            registry_a="verra",
            registry_b="tccr",
            overlap_start=1100,
            overlap_end=1149,
            overlap_size=50,
            explanation="units 1100-1149 are retired in verra and in tccr",
            sides=json.dumps(sides),
            detail=json.dumps({"ranges": [[1100, 1149]]}),
            content_hash="0" * 64,
            opened_at=at,
            updated_at=at,
            last_event_id=0,
        )
    )
    conn.execute(
        alert_side_table.insert(),
        [
            {"alert_id": ALERT_ID, "registry": "verra", "record_id": "v-ret"},
            {"alert_id": ALERT_ID, "registry": "tccr", "record_id": "t-dup"},
        ],
    )


def _link(conn: sa.Connection, source: UnitBlock, target: UnitBlock) -> None:
    at = datetime(2026, 1, 3, tzinfo=UTC)
    conn.execute(
        block_link_table.insert().values(
            id="ln_" + "2" * 24,
            kind="conversion",
            rule="cancelled-for-conversion",
            scheme="vcs",
            scope="",
            source_registry=source.registry,
            source_record_id=source.record_id,
            source_serial=source.serial,
            target_registry=target.registry,
            target_record_id=target.record_id,
            target_serial=target.serial,
            overlap_start=1500,
            overlap_end=1599,
            overlap_size=100,
            explanation="converted from verra to srn-ppi",
            first_seen_at=at,
            updated_at=at,
        )
    )


class Api:
    """A running app: ``client`` speaks HTTP to it; ``app`` is the aiohttp application."""

    def __init__(self, app: web.Application, base: str) -> None:
        self.app = app
        self.base = base
        self.client = httpx.AsyncClient(base_url=base, timeout=30)

    async def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return await self.client.get(path, **kwargs)


@contextlib.contextmanager
def serve_subprocess(
    database_url: str, config: Path, port: int, log_path: Path, *extra: str
) -> Iterator[str]:
    """``metaregistry serve`` in a child process, as an operator starts it; yields its base
    URL once ``/healthz`` answers, stops it with SIGTERM."""
    env = {**os.environ, "METAREGISTRY_DATABASE_URL": database_url}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "metaregistry",
                "--config",
                str(config),
                "serve",
                "--port",
                str(port),
                *extra,
            ],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None:
                    raise RuntimeError(f"serve exited: {log_path.read_text()}")
                try:
                    if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline:
                    raise RuntimeError("serve did not become healthy within 60 s")
                time.sleep(0.1)
            yield base
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def write_config(directory: Path) -> Path:
    """A settings file naming the world's log key (so the server serves its public half)."""
    config = directory / "metaregistry.toml"
    config.write_text(f'[log]\nkey_file = "{directory / "log-key.pem"}"\norigin = "{ORIGIN}"\n')
    return config
