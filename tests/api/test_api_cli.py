"""``metaregistry lookup`` and ``metaregistry serve`` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from api_world import V_RET, Api, World
from click.testing import CliRunner

from metaregistry.cli import main


@pytest.fixture
def cli_env(world: World, tmp_path: Path) -> dict[str, str]:
    config = tmp_path / "metaregistry.toml"
    config.write_text(
        f'[log]\nkey_file = "{tmp_path / "log-key.pem"}"\norigin = "metaregistry.test/log"\n'
    )
    return {
        "METAREGISTRY_DATABASE_URL": world.engine.url.render_as_string(hide_password=False),
        "CONFIG": str(config),
    }


def run_cli(env: dict[str, str], *args: str) -> Any:
    runner = CliRunner()
    return runner.invoke(
        main,
        ["--config", env["CONFIG"], *args],
        env={"METAREGISTRY_DATABASE_URL": env["METAREGISTRY_DATABASE_URL"]},
    )


@pytest.mark.anyio
async def test_lookup_json_is_the_api_answer(cli_env: dict[str, str], api: Api) -> None:
    result = run_cli(cli_env, "lookup", "vcs::1120", "--json")
    assert result.exit_code == 0, result.output
    over_http = (await api.get("/v1/serials/vcs::1120")).json()
    assert json.loads(result.output) == over_http


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_lookup_prints_where_the_units_live(cli_env: dict[str, str]) -> None:
    result = run_cli(cli_env, "lookup", V_RET)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == V_RET
    assert "held in 2 registries, 3 blocks, 1 open alert\n" in result.stdout  # not "1 ... alerts"
    tccr = next(line for line in lines if line.startswith("tccr"))
    assert "retired" in tccr
    assert "(matching 50)" in tccr
    assert "ALERT double_use (high, open): units 1100-1149 are retired in verra and in tccr" in (
        result.output
    )


def test_lookup_exit_status_tells_unknown_from_unreadable(cli_env: dict[str, str]) -> None:
    unknown = run_cli(cli_env, "lookup", "vcs::5")
    assert unknown.exit_code == 1
    assert "no registry in the index holds units 5 of scheme 'vcs'" in unknown.output
    unreadable = run_cli(cli_env, "lookup", "nonsense")
    assert unreadable.exit_code == 2
    assert "cannot parse serial 'nonsense'" in unreadable.output
    as_json = run_cli(cli_env, "lookup", "nonsense", "--json")
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout)["error"] == "invalid_serial"


def wait_healthy(base: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited with {process.returncode}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("serve did not become healthy within 60 s")


@pytest.fixture
def served(
    cli_env: dict[str, str], free_port: int, request: pytest.FixtureRequest
) -> Iterator[str]:
    workers = getattr(request, "param", 1)
    env = {**os.environ, "METAREGISTRY_DATABASE_URL": cli_env["METAREGISTRY_DATABASE_URL"]}
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "metaregistry",
            "--config",
            cli_env["CONFIG"],
            "serve",
            "--port",
            str(free_port),
            "--workers",
            str(workers),
            "--no-rate-limit",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{free_port}"
    try:
        wait_healthy(base, process)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stderr is not None:
            process.stderr.close()
        if process.stdout is not None:
            process.stdout.close()


@pytest.mark.parametrize("served", [1, 2], indirect=True, ids=["one-worker", "two-workers"])
def test_serve_answers_lookups_read_only(served: str) -> None:
    answer = httpx.get(f"{served}/v1/serials/vcs::1120", timeout=10)
    assert answer.status_code == 200
    assert {b["record_id"] for b in answer.json()["blocks"]} == {"v-iss", "v-ret", "t-dup"}
    # Every request of a burst is answered, whichever worker takes it.
    statuses = {httpx.get(f"{served}/v1/registries", timeout=10).status_code for _ in range(10)}
    assert statuses == {200}


@pytest.mark.parametrize("served", [2], indirect=True, ids=["two-workers"])
def test_every_scrape_of_two_workers_counts_the_requests_of_both(served: str) -> None:
    """``serve --workers 2``: a scrape lands on either worker (one port, SO_REUSEPORT) and
    reports the requests both answered (prometheus-client multiprocess mode); the start time
    has one series per worker. Without the shared files a scrape would count one worker's
    share: 40 connections all on one worker, and 8 scrapes all on it, are not a chance."""
    import re

    for _ in range(40):  # a new connection each: the kernel spreads them over the workers
        assert httpx.get(f"{served}/v1/registries", timeout=10).status_code == 200
    for _ in range(8):
        text = httpx.get(f"{served}/metrics", timeout=10).text
        counts = re.findall(
            r'^metaregistry_http_requests_total\{method="GET",route="/v1/registries",'
            r'status="200"\} (\S+)$',
            text,
            re.MULTILINE,
        )
        assert [float(c) for c in counts] == [40.0], text
        pids = re.findall(r'^metaregistry_api_start_time_seconds\{pid="(\d+)"\}', text, re.M)
        assert len(set(pids)) == 2, text


def test_a_block_numbered_its_own_way_reads_as_a_count_not_unit_numbers() -> None:
    """Issue 16: a record without unit numbers (numbering ``own``, e.g. a Cercarbono issuance
    met by a lookup of its retirement positions) prints its quantity, not 1..quantity."""
    from metaregistry.api.cli import _readable

    def block(status: str, start: int, end: int, numbering: str | None) -> dict[str, Any]:
        return {
            "registry": "cercarbono",
            "status": status,
            "block_start": start,
            "block_end": end,
            "quantity": end - start + 1,
            "numbering": numbering,
            "overlap": {"block_start": 2262, "block_end": 4425, "quantity": 2164},
            "version": 1,
            "serial": "CDC_1_1_1_321_14_1_2009",
            "links": [],
            "alerts": [],
            "proof": None,
        }

    query = {"serial": "CDC_1_1_1_321_14_1_2009 2262 to 4425", "block_start": 2262}
    query |= {"block_end": 4425, "scheme": "cercarbono", "scope": "CDC_1_1_1_321_14_1_2009"}
    query |= {"quantity": 2164, "family": "cercarbono"}
    answer = {
        "query": query,
        "summary": {"registries": ["cercarbono"], "blocks": 2, "open_alerts": 0},
        "blocks": [block("issued", 1, 4971, "own"), block("retired", 2262, 4425, None)],
        "next_cursor": None,
    }
    issued, retired = _readable(answer).splitlines()[4:6]
    assert "own count 4,971" in issued and "1-4,971" not in issued
    assert "2,262-4,425" in retired
