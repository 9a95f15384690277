"""Fixtures of the feed's unit tests."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from metaregistry.feed import alert_tables
from metaregistry.feed.tables import WebhookOutboxRow, WebhookSubscriberRow
from metaregistry.feed.testing import STANDIN, AlertWriter
from metaregistry.index.metadata import metadata


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def feed_engine(engine: sa.Engine, monkeypatch: pytest.MonkeyPatch) -> sa.Engine:
    """The migrated ``engine`` with detection's alert tables (stand-ins until they land) and
    the feed's tables."""
    if "alert" not in metadata.tables:
        STANDIN.create_all(engine)
        monkeypatch.setattr(alert_tables, "alert_table", lambda: STANDIN.tables["alert"])
        monkeypatch.setattr(alert_tables, "event_table", lambda: STANDIN.tables["alert_event"])
    feed = [WebhookSubscriberRow.__table__, WebhookOutboxRow.__table__]  # type: ignore[attr-defined]
    metadata.create_all(engine, tables=feed, checkfirst=True)
    return engine


@pytest.fixture
def alerts(feed_engine: sa.Engine) -> AlertWriter:
    return AlertWriter(feed_engine)
