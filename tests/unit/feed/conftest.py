"""Fixtures of the feed's unit tests."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from metaregistry.feed import alert_tables
from metaregistry.feed.tables import WebhookOutboxRow, WebhookSubscriberRow
from metaregistry.feed.testing import AlertWriter
from metaregistry.index.metadata import metadata


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def feed_engine(engine: sa.Engine) -> sa.Engine:
    """The migrated ``engine``, with detection's alert tables and the feed's tables."""
    # TODO(feed): a no-op once the 0003_detect and 0004_feed migrations exist; then drop it.
    tables = [
        alert_tables.alert_table(),
        alert_tables.event_table(),
        WebhookSubscriberRow.__table__,  # type: ignore[attr-defined]
        WebhookOutboxRow.__table__,  # type: ignore[attr-defined]
    ]
    metadata.create_all(engine, tables=tables, checkfirst=True)
    return engine


@pytest.fixture
def alerts(feed_engine: sa.Engine) -> AlertWriter:
    return AlertWriter(feed_engine)
