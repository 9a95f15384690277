"""Running one stream through the sync engine's own paging (``sync.StreamPages``: the real
``retry.fetch``, Retry-After, page-token loop detection) without a database, for tests that
look at the pages themselves. ``waits`` are the engine's chosen waits (not slept): with this
policy's zero backoff, a source's Retry-After, else 0."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx

from metaregistry.connector import HttpStream, Page
from metaregistry.retry import RetryPolicy
from metaregistry.sync import StreamPages


def drive(
    stream: HttpStream, cursor: Mapping[str, Any] | None = None, attempts: int = 4
) -> tuple[list[Page], list[float]]:
    """Every page of ``stream`` (from ``cursor``) and the wait before each retry."""
    waits: list[float] = []

    async def no_sleep(seconds: float) -> None:
        return None

    async def run() -> list[Page]:
        policy = RetryPolicy(attempts=attempts, base=0.0, cap=0.0, max_retry_after=3600.0)
        pages = StreamPages(stream, cursor, label=f"test/{stream.name}")
        async with httpx.AsyncClient() as client:
            found = [
                page
                async for page in pages.run(
                    client,
                    policy,
                    sleep=no_sleep,
                    on_retry=lambda attempt, error, wait: waits.append(wait),
                )
            ]
        assert pages.completed
        return found

    return asyncio.run(run()), waits
