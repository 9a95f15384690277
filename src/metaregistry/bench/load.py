"""HTTP load on loopback: N concurrent clients for a fixed time, against the real lookup API
and against a trivial aiohttp handler (the baseline), measured the same way.

The load generator runs in the benchmark's own process and shares the machine's cores with
the server: on a 2-core machine both figures are lower than a dedicated load host would show,
which is why the ratio to the trivial handler is the figure to read.
"""

from __future__ import annotations

import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

__all__ = ["free_port", "run_load", "serve_forever", "start_server", "wait_ready"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_forever(params: dict[str, Any]) -> None:
    """The trivial handler: what aiohttp itself costs per request on this machine."""

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"serial": request.match_info["serial"], "blocks": []})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_get("/v1/serials/{serial}", handler)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=int(params["port"]), print=None, access_log=None)


def start_server(kind: str, port: int, db_url: str | None = None) -> subprocess.Popen[bytes]:
    """``kind`` is ``api`` (``metaregistry serve``) or ``trivial``."""
    if kind == "trivial":
        args = [
            sys.executable,
            "-m",
            "metaregistry.bench.child",
            "lookup_server",
            f'{{"port": {port}}}',
        ]
        env = dict(os.environ)
    else:
        args = [sys.executable, "-m", "metaregistry", "serve"]
        env = dict(
            os.environ,
            METAREGISTRY_DATABASE_URL=db_url or "",
            METAREGISTRY_API__PORT=str(port),
            METAREGISTRY_API__HOST="127.0.0.1",
            METAREGISTRY_API__RATE_LIMIT="0",  # lift the per-client limit for the benchmark
        )
    return subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            raise RuntimeError(f"server exited early: {err[-2000:]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("server did not become ready")


async def _load(base: str, serials: list[str], clients: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    statuses: dict[int, int] = {}
    deadline = time.perf_counter() + seconds
    paths = [f"{base}/v1/serials/{urllib.parse.quote(s, safe='')}" for s in serials]

    async def client(session: ClientSession, rng: random.Random) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            url = paths[rng.randrange(len(paths))]
            started = time.perf_counter()
            try:
                async with session.get(url) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
            except Exception:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    connector = TCPConnector(limit=clients, force_close=False)
    async with ClientSession(connector=connector) as session:

        async def warm(url: str) -> None:
            async with session.get(url) as resp:
                await resp.read()

        # warm up the connections and the server's caches
        await asyncio.gather(*(warm(paths[i % len(paths)]) for i in range(clients)))
        started = time.perf_counter()
        await asyncio.gather(*(client(session, random.Random(i)) for i in range(clients)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0
        )

    return {
        "requests": len(latencies),
        "errors": errors,
        "statuses": statuses,
        "seconds": elapsed,
        "requests_per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p99_ms": pct(0.99),
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0,
    }


def run_load(
    port: int, serials: list[str], *, clients: int = 32, seconds: float = 10.0
) -> dict[str, Any]:
    return asyncio.run(_load(f"http://127.0.0.1:{port}", serials, clients, seconds))
