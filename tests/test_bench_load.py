"""The benchmark's load generator: real HTTP/1.1 keep-alive requests, statuses and latencies
counted, a response it cannot read counted as an error (never as a fast answer)."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator

import pytest

from metaregistry.bench import load


@pytest.fixture
def raw_server(free_port: int) -> Iterator[tuple[int, list[bytes]]]:
    """A server answering by the first byte of the serial: ``o`` 200 with a body, ``m`` 404,
    ``c`` a chunked answer (no Content-Length). Records every request line it read."""
    seen: list[bytes] = []
    loop = asyncio.new_event_loop()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                line = head.split(b"\r\n", 1)[0]
                seen.append(line)
                kind = line.split(b" ")[1][len(b"/v1/serials/") :][:1]
                if kind == b"o":
                    writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                elif kind == b"m":
                    writer.write(b"HTTP/1.1 404 Not Found\r\ncontent-length: 2\r\n\r\n{}")
                else:
                    writer.write(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = loop.run_until_complete(asyncio.start_server(handle, "127.0.0.1", free_port))
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield free_port, seen
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    server.close()
    loop.run_until_complete(server.wait_closed())
    loop.close()


def test_statuses_and_latencies_are_counted(raw_server: tuple[int, list[bytes]]) -> None:
    port, seen = raw_server
    result = load.run_load(port, ["ok-1", "ok-2", "missing"], clients=3, seconds=0.5)
    assert result["errors"] == 0
    assert set(result["statuses"]) == {200, 404}
    assert sum(result["statuses"].values()) == result["requests"] > 10
    assert 0 < result["p50_ms"] <= result["p90_ms"] <= result["p99_ms"] <= result["max_ms"]
    assert result["distinct_serials"] == 3
    # warm-up requests are made but not counted
    assert len(seen) > result["requests"]
    assert seen[0].startswith(b"GET /v1/serials/") and seen[0].endswith(b" HTTP/1.1")


def test_an_answer_without_content_length_is_an_error(
    raw_server: tuple[int, list[bytes]],
) -> None:
    port, _ = raw_server
    result = load.run_load(port, ["chunked"], clients=2, seconds=0.3)
    assert result["requests"] == 0
    assert result["errors"] > 0


def test_serials_are_quoted_into_the_path(raw_server: tuple[int, list[bytes]]) -> None:
    port, seen = raw_server
    load.run_load(port, ["ok 1/2"], clients=1, seconds=0.2)
    assert b"GET /v1/serials/ok%201%2F2 HTTP/1.1" in seen


def test_the_trivial_server_answers_every_request(free_port: int) -> None:
    server = load.start_server("trivial", free_port)
    try:
        load.wait_ready(free_port, server)
        result = load.run_load(free_port, ["VCS-1", "VCS-2"], clients=4, seconds=0.5)
    finally:
        server.stop()
    assert result["errors"] == 0
    assert result["statuses"] == {200: result["requests"]}
    assert result["requests_per_s"] > 100


def test_a_two_process_trivial_server_waits_for_both_and_stops_both(free_port: int) -> None:
    server = load.start_server("trivial", free_port, workers=2)
    try:
        load.wait_ready(free_port, server)
        assert server.serving == 2
        result = load.run_load(free_port, ["VCS-1"], clients=8, seconds=0.5)
    finally:
        server.stop()
    assert result["errors"] == 0
    assert result["requests"] > 0
    # The second process went with the first: nothing listens on the port any more.
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", free_port), timeout=1):
        pass
