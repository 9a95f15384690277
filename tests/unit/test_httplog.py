"""Requests aiohttp's parser refuses are logged as one line each, rate-limited."""

from __future__ import annotations

import asyncio
import logging

import pytest
from aiohttp import web

from metaregistry import httplog

BAD = [
    b"GET /" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",  # over-long line
    b"BR@KEN / HTTP/1.1\r\n\r\n",  # bad method
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",  # bad Content-Length
]


async def _send(payloads: list[bytes]) -> list[bytes]:
    app = web.Application()
    app.router.add_get("/", lambda _: web.Response(text="ok"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    answers = []
    try:
        for payload in payloads:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(payload)
            await writer.drain()
            answers.append(await reader.read(100))
            writer.close()
        await asyncio.sleep(0.1)
    finally:
        await runner.cleanup()
    return answers


@pytest.fixture
def installed() -> httplog.RejectedRequestFilter:
    made = httplog.install()
    made.shown = made.suppressed = 0
    made.window_start = made.clock()
    return made


def test_each_rejected_request_is_one_warning_line_without_a_traceback(
    installed: httplog.RejectedRequestFilter, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="aiohttp.server")
    answers = asyncio.run(_send(BAD))
    assert all(a.startswith(b"HTTP/1.0 400") or a.startswith(b"HTTP/1.1 400") for a in answers)
    records = [r for r in caplog.records if r.name == "aiohttp.server"]
    assert len(records) == 3, [r.getMessage() for r in records]
    kinds = []
    for record in records:
        assert record.levelno == logging.WARNING
        assert record.exc_info is None and record.exc_text is None
        text = record.getMessage()
        assert "\n" not in text and len(text) < 300, text
        assert text.startswith("rejected a malformed request from 127.0.0.1: ")
        kinds.append(text.split(": ")[1])
    assert kinds == ["LineTooLong", "BadHttpMethod", "BadHttpMessage"]


def test_rejected_requests_are_rate_limited_and_the_rest_counted() -> None:
    now = [0.0]
    limiter = httplog.RejectedRequestFilter(per_minute=2, clock=lambda: now[0])

    def record() -> logging.LogRecord:
        from aiohttp.http_exceptions import BadHttpMessage

        try:
            raise BadHttpMessage("bad\n  thing")
        except BadHttpMessage:
            import sys

            return logging.LogRecord(
                "aiohttp.server",
                logging.ERROR,
                __file__,
                1,
                "Error handling request from %s",
                ("10.0.0.1",),
                sys.exc_info(),
            )

    passed = [limiter.filter(record()) for _ in range(5)]
    assert passed == [True, True, False, False, False]
    now[0] = 61.0
    again = record()
    assert limiter.filter(again)
    assert again.getMessage() == (
        "rejected a malformed request from 10.0.0.1: BadHttpMessage: bad thing"
        " (3 more left out in the previous minute)"
    )


def test_other_errors_keep_their_traceback() -> None:
    limiter = httplog.RejectedRequestFilter()
    try:
        raise RuntimeError("a bug in a handler")
    except RuntimeError:
        import sys

        record = logging.LogRecord(
            "aiohttp.server",
            logging.ERROR,
            __file__,
            1,
            "Error handling request",
            (),
            sys.exc_info(),
        )
    assert limiter.filter(record)
    assert record.exc_info is not None and record.levelno == logging.ERROR


def test_the_api_and_the_mocks_install_it() -> None:
    import inspect

    from metaregistry.api import app
    from metaregistry.mock.server import app as mock_app

    assert "httplog.install()" in inspect.getsource(app.create_app)
    assert "httplog.install()" in inspect.getsource(mock_app.build_app)
