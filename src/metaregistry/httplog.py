"""Requests aiohttp rejects before any handler sees them, logged as one line, rate-limited.

aiohttp logs every request its parser refuses (an over-long line, a bad method, a bad
Content-Length) on ``aiohttp.server`` with a full traceback, some at ERROR, unbounded: a
scanner fills the log with ~700 bytes a request. They are the client's errors, already
answered 400: :func:`install` turns each into one WARNING line (``rejected a malformed
request from HOST: LineTooLong: Got more than 8190 bytes ...``) and lets at most
:data:`PER_MINUTE` through a minute, then one line saying how many were left out.
Anything else on that logger (a bug in the server) keeps its traceback.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from aiohttp.http_exceptions import HttpProcessingError

__all__ = ["PER_MINUTE", "RejectedRequestFilter", "install"]

PER_MINUTE = 10
LOGGER = "aiohttp.server"


class RejectedRequestFilter(logging.Filter):
    """See the module docstring. ``clock`` is for tests."""

    def __init__(
        self, per_minute: int = PER_MINUTE, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__()
        self.per_minute = per_minute
        self.clock = clock
        self.window_start = clock()
        self.shown = 0
        self.suppressed = 0

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if not isinstance(exc, HttpProcessingError):
            return True
        now = self.clock()
        note = ""
        if now - self.window_start >= 60:
            if self.suppressed:
                note = f" ({self.suppressed} more left out in the previous minute)"
            self.window_start, self.shown, self.suppressed = now, 0, 0
        if self.shown >= self.per_minute:
            self.suppressed += 1
            return False
        self.shown += 1
        message = " ".join(str(exc.message).split())
        if len(message) > 160:
            message = message[:157] + "..."
        peer = record.getMessage().rpartition(" from ")[2] or "a client"
        record.msg = "rejected a malformed request from %s: %s: %s%s"
        record.args = (peer, type(exc).__name__, message, note)
        record.exc_info = None
        record.exc_text = None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def install(per_minute: int = PER_MINUTE) -> RejectedRequestFilter:
    """Put the filter on aiohttp's server logger (once per process)."""
    logger = logging.getLogger(LOGGER)
    for existing in logger.filters:
        if isinstance(existing, RejectedRequestFilter):
            return existing
    made = RejectedRequestFilter(per_minute)
    logger.addFilter(made)
    return made
