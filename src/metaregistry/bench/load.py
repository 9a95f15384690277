"""HTTP load on loopback: N concurrent clients for a fixed time, against the real lookup API
and against a trivial aiohttp handler (the baseline), measured the same way.

The load generator runs in the benchmark's own process and shares the machine's cores with
the server: on a 2-core machine both figures are lower than a dedicated load host would show,
which is why the ratio to the trivial handler is the figure to read.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import json
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from typing import Any, Final

import sqlalchemy as sa
from aiohttp import web

from metaregistry.api import cli as api_cli

__all__ = [
    "SERVING_LINE",
    "Server",
    "ensure_checkpoint",
    "free_port",
    "run_load",
    "serve_forever",
    "start_server",
    "wait_ready",
]


#: What each ``metaregistry serve`` process logs once it listens.
SERVING_LINE: Final = api_cli.SERVING_LINE


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def serve_forever(params: dict[str, Any]) -> None:
    """The trivial handler: what aiohttp itself costs per request on this machine. With
    ``workers`` > 1 this process starts the others, all sharing the port (SO_REUSEPORT) as
    ``metaregistry serve --workers`` does, and stops them when it stops."""
    port, workers = int(params["port"]), int(params.get("workers", 1))

    async def handler(request: web.Request) -> web.Response:
        return web.json_response({"serial": request.match_info["serial"], "blocks": []})

    async def healthz(_: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    others: list[subprocess.Popen[bytes]] = []
    app = web.Application()
    app.router.add_get("/v1/serials/{serial}", handler)
    app.router.add_get("/healthz", healthz)
    try:
        for _ in range(workers - 1):  # inside the try: a stop while starting them stops them
            others.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "metaregistry.bench.child",
                        "lookup_server",
                        json.dumps({"port": port, "workers": 1, "reuse_port": True}),
                    ]
                )
            )
        web.run_app(
            app,
            host="127.0.0.1",
            port=port,
            reuse_port=bool(params.get("reuse_port")) or workers > 1 or None,
            access_log=None,
            print=lambda _: print(f"{SERVING_LINE} {os.getpid()}", file=sys.stderr, flush=True),
        )
    finally:
        for other in others:
            other.terminate()
        for other in others:
            other.wait(30)


class Server:
    """A server process of the benchmark, its stderr drained by a thread (kept for error
    messages; an undrained pipe would block the server once full), counting the processes
    that said they listen."""

    def __init__(self, proc: subprocess.Popen[bytes], workers: int) -> None:
        self.proc = proc
        self.workers = workers
        self.serving = 0
        self._tail: collections.deque[str] = collections.deque(maxlen=50)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        assert self.proc.stderr is not None
        for raw in self.proc.stderr:
            line = raw.decode(errors="replace").rstrip()
            self._tail.append(line)
            if SERVING_LINE in line:
                self.serving += 1

    @property
    def stderr_tail(self) -> str:
        return "\n".join(self._tail)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(30)
        self._thread.join(5)


def start_server(
    kind: str,
    port: int,
    db_url: str | None = None,
    *,
    workers: int = 1,
    env: dict[str, str] | None = None,
) -> Server:
    """``kind`` is ``api`` (``metaregistry serve``, with ``env`` added to its environment:
    settings) or ``trivial``; ``workers`` processes share the port."""
    if kind == "trivial":
        args = [
            sys.executable,
            "-m",
            "metaregistry.bench.child",
            "lookup_server",
            json.dumps({"port": port, "workers": workers}),
        ]
        env = dict(os.environ)
    else:
        args = [sys.executable, "-m", "metaregistry", "serve", "--workers", str(workers)]
        env = dict(
            os.environ,
            METAREGISTRY_DATABASE_URL=db_url or "",
            METAREGISTRY_API__PORT=str(port),
            METAREGISTRY_API__HOST="127.0.0.1",
            METAREGISTRY_API__RATE_LIMIT="0",  # lift the per-client limit for the benchmark
            **(env or {}),
        )
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    return Server(proc, workers)


def ensure_checkpoint(db_url: str) -> int:
    """The size of the index's latest log checkpoint, publishing one (signed with a key made
    for the run) when there is none, so that lookups carry inclusion proofs as they do after
    any sync. Returns 0 when the database has no log."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from metaregistry.index.db import create_engine
    from metaregistry.log import store as log_store
    from metaregistry.log.keyfile import FileSigner

    engine = create_engine(db_url)
    try:
        if not sa.inspect(engine).has_table("log_checkpoints"):
            return 0
        with engine.begin() as conn:
            if log_store.tree_size(conn) == 0:
                return 0
            latest = log_store.latest_checkpoint(conn)
            if latest is None:
                signer = FileSigner("bench", Ed25519PrivateKey.generate())
                latest = log_store.publish_checkpoint(conn, signer, "metaregistry.bench/log")
            return int(latest.size)
    finally:
        engine.dispose()


def wait_ready(port: int, server: Server, timeout: float = 120) -> None:
    """Until the server answers ``/healthz`` and every one of its processes listens: with
    several, connections made while only the first one listened would all stay with it
    (keep-alive), and the run would measure one process."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            time.sleep(0.2)  # let the drain thread read the last lines
            raise RuntimeError(f"server exited early: {server.stderr_tail[-2000:]}")
        if server.serving >= server.workers:
            try:
                url = f"http://127.0.0.1:{port}/healthz"
                with urllib.request.urlopen(url, timeout=2) as resp:
                    if resp.status == 200:
                        return
            except OSError:
                pass
        time.sleep(0.2)
    raise RuntimeError(
        f"server did not become ready ({server.serving} of {server.workers} processes "
        f"listening): {server.stderr_tail[-2000:]}"
    )


@dataclasses.dataclass
class _Tally:
    latencies: list[float] = dataclasses.field(default_factory=list)
    statuses: dict[int, int] = dataclasses.field(default_factory=dict)
    errors: int = 0


_LENGTH = re.compile(rb"\r\ncontent-length:[ \t]*(\d+)", re.IGNORECASE)


def _content_length(head: bytes) -> int:
    found = _LENGTH.search(head)
    if found is None:
        raise ValueError(f"response without Content-Length: {head[:200]!r}")
    return int(found.group(1))


def request_bytes(path: str) -> bytes:
    return f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n".encode("ascii")


async def _exchange(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes
) -> int:
    """Send one request and read its whole answer (by its Content-Length); its status."""
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    length = _content_length(head)
    if length:
        await reader.readexactly(length)
    return int(head[9:12])


async def _client(
    port: int,
    paths: list[bytes],
    rng: random.Random,
    measure_from: float,
    deadline: float,
    tally: _Tally,
) -> None:
    """One client: one keep-alive connection, one request at a time, as fast as answers come;
    only requests started at ``measure_from`` or later count (the ones before warm up).

    HTTP/1.1 is spoken directly on an asyncio stream: the generator shares the cores with the
    server, and an HTTP client library costs several times the bytes it moves (aiohttp's
    client took about as much CPU per request as the trivial server handler here), which
    would measure the client instead of the server. Every response is read whole by its
    Content-Length; anything else is counted as an error."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        while time.perf_counter() < deadline:
            request = paths[rng.randrange(len(paths))]
            started = time.perf_counter()
            try:
                status = await _exchange(reader, writer, request)
            except (OSError, ValueError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
                if started >= measure_from:
                    tally.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                continue
            if started >= measure_from:
                tally.latencies.append(time.perf_counter() - started)
                tally.statuses[status] = tally.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def _warm(port: int, paths: list[bytes], clients: int) -> int:
    """Every path asked once, the clients sharing them, answers read and not counted: what
    a long-running server has in its caches (the span classes of the scopes asked for,
    the index pages in memory) before the measured requests."""

    async def one(share: list[bytes]) -> int:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        done = 0
        try:
            for request in share:
                await _exchange(reader, writer, request)
                done += 1
        finally:
            writer.close()
        return done

    counts = await asyncio.gather(*(one(paths[i::clients]) for i in range(clients)))
    return sum(counts)


async def _load(
    port: int, serials: list[str], clients: int, seconds: float, warm: bool
) -> dict[str, Any]:
    paths = [request_bytes(f"/v1/serials/{urllib.parse.quote(s, safe='')}") for s in serials]
    began = time.perf_counter()
    warmed = await _warm(port, paths, clients) if warm else 0
    warm_seconds = time.perf_counter() - began
    tally = _Tally()
    # Every client opens its connection and makes requests for a while before counting.
    started = time.perf_counter() + min(1.0, seconds / 5)
    deadline = started + seconds
    await asyncio.gather(
        *(_client(port, paths, random.Random(i), started, deadline, tally) for i in range(clients))
    )
    elapsed = time.perf_counter() - started
    latencies = sorted(tally.latencies)

    def pct(p: float) -> float:
        return (
            latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0.0
        )

    return {
        "requests": len(latencies),
        "distinct_serials": len(set(serials)),
        "errors": tally.errors,
        "statuses": tally.statuses,
        "seconds": elapsed,
        "requests_per_s": len(latencies) / elapsed if elapsed else 0.0,
        "p50_ms": pct(0.50),
        "p90_ms": pct(0.90),
        "p99_ms": pct(0.99),
        "max_ms": latencies[-1] * 1000 if latencies else 0.0,
        "mean_ms": statistics.fmean(latencies) * 1000 if latencies else 0.0,
        "warmup_requests": warmed,
        "warmup_seconds": warm_seconds,
    }


def run_load(
    port: int,
    serials: list[str],
    *,
    clients: int = 32,
    seconds: float = 10.0,
    warm: bool = False,
) -> dict[str, Any]:
    """Load for ``seconds`` (after about a second of uncounted requests); with ``warm``,
    every serial is asked once first (uncounted)."""
    return asyncio.run(_load(port, serials, clients, seconds, warm))
