"""Ctrl-C during an import takes effect between pages: the page being stored is committed
whole, then KeyboardInterrupt; the connection is left clean (no failed reset)."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from metaregistry import ingest
from metaregistry.connector import RawRecord
from metaregistry.index import store
from metaregistry.index.db import create_engine, migrate
from metaregistry.log import store as log_store
from metaregistry.plugins import load


def _records(n: int) -> Iterator[RawRecord]:
    for i in range(n):
        payload = {
            "registry": "carb",
            "record_id": f"carb-{i}",
            "serial": f"CAFR{i}-A",
            "scheme": "car",
            "scope": "9010",
            "block_start": i * 100 + 1,
            "block_end": i * 100 + 100,
            "quantity": 100,
            "status": "issued",
        }
        yield RawRecord(payload, f"line {i + 1}")


def test_ctrl_c_while_a_page_is_stored_commits_it_then_stops(
    db_url: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    engine = create_engine(db_url)
    migrate(engine)
    real_store_page = ingest.store_page
    pages = 0

    def store_then_ctrl_c(*args: Any, **kwargs: Any) -> Any:
        nonlocal pages
        pages += 1
        if pages == 2:  # Ctrl-C arrives in the middle of the second page's transaction
            os.kill(os.getpid(), signal.SIGINT)
        return real_store_page(*args, **kwargs)

    monkeypatch.setattr(ingest, "store_page", store_then_ctrl_c)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with caplog.at_level(logging.WARNING), pytest.raises(KeyboardInterrupt):
            ingest.ingest_records(engine, load("generic"), _records(500), page_size=100)
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with engine.connect() as conn:
            blocks = conn.execute(sa.select(sa.func.count()).select_from(store.unit_block))
            assert blocks.scalar() == 200  # both pages whole, nothing after
            assert log_store.tree_size(conn) == 200
        assert not [r for r in caplog.records if "reset" in r.getMessage()]
    finally:
        signal.signal(signal.SIGINT, previous)
        engine.dispose()


def test_where_ctrl_c_is_ignored_or_handled_elsewhere_it_is_left_alone() -> None:
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with ingest._interrupt_after_commit():
            assert signal.getsignal(signal.SIGINT) is signal.SIG_IGN
            os.kill(os.getpid(), signal.SIGINT)  # ignored: nothing raised, now or after
    finally:
        signal.signal(signal.SIGINT, previous)
