"""The running server against its own OpenAPI document, with schemathesis.

Starts ``metaregistry serve`` on a free port over a small seeded index (the world of
tests/api), then runs ``st run`` on ``/openapi.json`` with a fixed seed, bounded in examples
and time, checking: no server errors, documented status codes and content types, and
bodies that match the documented schemas. The SSE stream is left out: it never ends.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "api"))
from api_world import block, build_world, serve_subprocess, write_config

from metaregistry.index.store import upsert_blocks
from metaregistry.log import store as log_store
from metaregistry.log.leaf import BlockLeaf

REPO = Path(__file__).resolve().parents[2]
DOCUMENTED_SERIAL = "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1"
CHECKS = (
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)


def _st() -> Path:
    found = Path(sys.executable).with_name("st")
    if not found.exists():
        pytest.fail(f"schemathesis' st is not installed beside {sys.executable}")
    return found


def add_documented_example(engine: sa.Engine, world_signer: object) -> None:
    """The serial the OpenAPI document gives as an example, so that the examples phase gets
    a full answer (blocks, history, a proof) rather than a 404."""
    example = block("verra", "v-doc", DOCUMENTED_SERIAL, 941467007, 941467431, "retired")
    with engine.begin() as conn:
        stored = upsert_blocks(conn, [example], connector="verra")
        log_store.append_leaves(
            conn,
            [
                BlockLeaf("verra", "v-doc", v.version, v.block.record_hash or "")
                for v in stored.versions
            ],
        )
        log_store.publish_checkpoint(conn, world_signer, "metaregistry.test/log")  # type: ignore[arg-type]


@pytest.fixture
def server(engine: sa.Engine, tmp_path: Path, free_port: int) -> Iterator[str]:
    world = build_world(engine, tmp_path)
    add_documented_example(engine, world.signer)
    url = engine.url.render_as_string(hide_password=False)
    log = tmp_path / "serve.log"
    try:
        with serve_subprocess(
            url, write_config(tmp_path), free_port, log, "--no-rate-limit"
        ) as base:
            yield base
    finally:
        # Keep the server's log beside the report: a 500 there has its traceback here.
        artifacts = REPO / "test-artifacts" / "schemathesis"
        artifacts.mkdir(parents=True, exist_ok=True)
        if log.exists():
            (artifacts / "serve.log").write_bytes(log.read_bytes())


@pytest.mark.slow
def test_the_server_conforms_to_its_openapi_document(server: str, tmp_path: Path) -> None:
    report = REPO / "test-artifacts" / "schemathesis"
    report.mkdir(parents=True, exist_ok=True)
    command = [
        str(_st()),
        "run",
        f"{server}/openapi.json",
        "--checks",
        ",".join(CHECKS),
        "--exclude-path",
        "/v1/alerts/stream",
        "--phases",
        "examples,coverage,fuzzing",
        "--max-examples",
        "25",
        "--max-time",
        "60",
        "--seed",
        "20260101",
        "--workers",
        "2",
        "--request-timeout",
        "20",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--report",
        "junit",
        "--report-dir",
        str(report),
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    output = done.stdout + done.stderr
    (report / "output.txt").write_text(output)
    assert done.returncode == 0, output[-20000:]
    assert "No issues found" in output or " passed" in output, output[-5000:]
