"""``metaregistry quarantine list|show|retry`` with --json for scripts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.index import store
from metaregistry.index.db import create_engine


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {
        "METAREGISTRY_DATABASE_URL": db_url,
        "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "k.pem"),
    }


def test_list_show_and_retry(tmp_path: Path, env: dict[str, str], db_url: str) -> None:
    push = tmp_path / "push.ndjson"
    bad = {
        "registry": "carb",
        "record_id": "c-1",
        "status": "issued",
        "serial": "ACR-US-1185-2025-3078-9 to 1",
    }
    push.write_text(json.dumps(bad) + "\n")
    runner = CliRunner()
    assert runner.invoke(main, ["import", "generic", str(push)], env=env).exit_code == 1

    listed = runner.invoke(main, ["quarantine", "list", "--json"], env=env)
    entries = json.loads(listed.stdout)
    assert len(entries) == 1
    assert entries[0]["ref"] == "push.ndjson:1" and "9" in entries[0]["error"]
    shown = json.loads(
        runner.invoke(main, ["quarantine", "show", str(entries[0]["id"]), "--json"], env=env).output
    )
    assert shown["payload"]["serial"] == bad["serial"]

    # still failing: retry says so and keeps the entry open
    retry = runner.invoke(main, ["quarantine", "retry", "--json"], env=env)
    assert retry.exit_code == 1 and json.loads(retry.stdout)["failing"][0]["id"] == entries[0]["id"]

    # an operator fixes the payload at the source of truth (here: the stored payload), then retries
    engine = create_engine(db_url)
    fixed = dict(bad, serial="ACR-US-1185-2025-3078-1 to 9")
    with engine.begin() as conn:
        conn.execute(store.quarantine_table.update().values(payload=json.dumps(fixed)))
    retry = runner.invoke(main, ["quarantine", "retry", "--json"], env=env)
    assert retry.exit_code == 0, retry.output
    assert json.loads(retry.stdout)["resolved"] == [entries[0]["id"]]
    with engine.connect() as conn:
        block = store.get_block(conn, "carb", "c-1")
        still_open = conn.execute(
            sa.select(sa.func.count())
            .select_from(store.quarantine_table)
            .where(store.quarantine_table.c.resolved_at.is_(None))
        ).scalar()
    assert block is not None and block.quantity == 9
    assert still_open == 0
    assert json.loads(runner.invoke(main, ["quarantine", "list", "--json"], env=env).stdout) == []
    engine.dispose()


def test_show_unknown_id(env: dict[str, str]) -> None:
    result = CliRunner().invoke(main, ["quarantine", "show", "999"], env=env)
    assert result.exit_code != 0 and "no quarantine entry 999" in result.output
