"""Fixtures of the feed's unit tests."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from metaregistry.feed.testing import AlertWriter


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def feed_engine(engine: sa.Engine) -> sa.Engine:
    """The migrated ``engine`` (detection's alert tables and the feed's included)."""
    return engine


@pytest.fixture
def alerts(feed_engine: sa.Engine) -> AlertWriter:
    return AlertWriter(feed_engine)
