"""``metaregistry import generic``: good lines stored, bad ones quarantined, export round-trips."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from metaregistry.cli import main
from metaregistry.index import store
from metaregistry.index.db import create_engine

LINES = [
    {
        "registry": "toucan",
        "record_id": "t-1",
        "status": "issued",
        "serial": "TCO2-VCS-1340-2020-A",
        "scheme": "vcs",
        "scope": "",
        "block_start": 941467007,
        "block_end": 941467431,
        "origin": "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1",
    },
    {
        "registry": "carb",
        "record_id": "c-1",
        "status": "issued",
        "serial": "ACR-US-1185-2025-3078-1 to 85847",
        "status_reason": "Cafe\u0301 credits",
    },
    {
        "registry": "carb",
        "record_id": "c-2",
        "status": "issued",
        "serial": "ACR-US-1185-2025-30X8-1 to 85847",
    },
]


@pytest.fixture
def env(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.chdir(tmp_path)
    return {"METAREGISTRY_DATABASE_URL": db_url}


def _write(path: Path, lines: list[object]) -> Path:
    path.write_text(
        "".join((json.dumps(x) if not isinstance(x, str) else x) + "\n" for x in lines),
        encoding="utf-8",
    )
    return path


def test_malformed_lines_are_quarantined_and_named(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    source = _write(tmp_path / "push.ndjson", [*LINES, "{not json", {"registry": "carb"}])
    result = CliRunner().invoke(main, ["import", "generic", str(source)], env=env)
    assert result.exit_code == 1, result.output
    assert "push.ndjson:3" in result.output  # the bad serial, named by line
    assert "30X8" in result.output
    assert "push.ndjson:4" in result.output  # not JSON
    assert "push.ndjson:5" in result.output  # missing fields
    engine = create_engine(db_url)
    with engine.connect() as conn:
        kept = conn.execute(sa.select(store.unit_block.c.record_id)).scalars().all()
        reasons = conn.execute(
            sa.select(store.quarantine_table.c.ref, store.quarantine_table.c.error)
        ).all()
        carb = store.get_block(conn, "carb", "c-1")
    assert sorted(kept) == ["c-1", "t-1"]
    assert {r[0] for r in reasons} == {"push.ndjson:3", "push.ndjson:4", "push.ndjson:5"}
    assert carb is not None and (carb.scheme, carb.scope, carb.quantity) == ("acr", "3078", 85847)
    assert carb.status_reason == "Caf\u00e9 credits"  # NFC-normalized
    engine.dispose()


def test_export_then_import_is_a_no_op(tmp_path: Path, env: dict[str, str], db_url: str) -> None:
    runner = CliRunner()
    source = _write(tmp_path / "push.ndjson", LINES[:2])
    assert runner.invoke(main, ["import", "generic", str(source)], env=env).exit_code == 0
    out = tmp_path / "export.ndjson"
    first = runner.invoke(main, ["export", str(out)], env=env)
    assert first.exit_code == 0, first.output
    engine = create_engine(db_url)
    with engine.connect() as conn:
        before = conn.execute(
            sa.select(sa.func.count()).select_from(store.unit_block_version)
        ).scalar()
    again = runner.invoke(main, ["import", "generic", str(out)], env=env)
    assert again.exit_code == 0, again.output
    assert "2 unchanged" in again.output
    with engine.connect() as conn:
        after = conn.execute(
            sa.select(sa.func.count()).select_from(store.unit_block_version)
        ).scalar()
    assert before == after == 2
    second = tmp_path / "export2.ndjson"
    runner.invoke(main, ["export", str(second)], env=env)
    assert out.read_text() == second.read_text()
    engine.dispose()


def test_csv_with_the_same_columns(tmp_path: Path, env: dict[str, str], db_url: str) -> None:
    csv_file = tmp_path / "push.csv"
    csv_file.write_text(
        "registry,record_id,serial,status,status_date\n"
        "carb,c-9,CAR-1-US-1335-31-983-KS-2025-9205-1 to 5000,cancelled,2025-02-03\n"
        "carb,c-10,CAR-1-US-1335-31-983-KS-2025-9205-1 to 5000,cancelled,03/02/2025\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(main, ["import", "generic", str(csv_file)], env=env)
    assert result.exit_code == 1
    assert "push.csv:3" in result.output and "status_date" in result.output


def test_unknown_connector_is_a_clear_error(env: dict[str, str], tmp_path: Path) -> None:
    f = _write(tmp_path / "x.ndjson", [])
    result = CliRunner().invoke(main, ["import", "nope", str(f)], env=env)
    assert result.exit_code != 0
    assert "unknown connector 'nope'" in result.output


def test_a_huge_line_is_quarantined_not_loaded(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    huge = {**LINES[1], "record_id": "c-huge", "status_reason": "x" * 1_100_000}
    source = _write(tmp_path / "push.ndjson", [LINES[1], huge])
    result = CliRunner().invoke(main, ["import", "generic", str(source)], env=env)
    assert result.exit_code == 1
    assert "push.ndjson:2" in result.output and "bytes long" in result.output
    engine = create_engine(db_url)
    with engine.connect() as conn:
        kept = conn.execute(sa.select(store.unit_block.c.record_id)).scalars().all()
        stored = conn.execute(sa.select(store.quarantine_table.c.payload)).scalar()
    assert kept == ["c-1"]
    assert stored is not None and len(stored) < 10_000  # a bounded excerpt is kept
    engine.dispose()


def test_one_hostile_line_in_a_large_file_costs_that_line_only(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    """Issue 20 item 6: a 5,000-digit number, nesting 100,000 deep and bytes that are not
    UTF-8, in the middle of 6,000 good rows (NDJSON and CSV): every good row stored, each
    bad one quarantined with its reason."""
    good = [
        {
            "registry": "toucan",
            "record_id": f"big-{n}",
            "status": "issued",
            "serial": f"TCO2-VCS-1340-2020-{n}",
            "scheme": "vcs",
            "scope": "",
            "block_start": 1_000_000 + n * 10,
            "block_end": 1_000_000 + n * 10 + 9,
        }
        for n in range(6000)
    ]
    lines = [json.dumps(x).encode() + b"\n" for x in good]
    lines.insert(3000, b'{"registry": "toucan", "quantity": ' + b"9" * 5000 + b"}\n")
    lines.insert(3001, b"[" * 100_000 + b"]" * 100_000 + b"\n")
    lines.insert(3002, b'{"registry": "caf\xe9"}\n')
    source = tmp_path / "big.ndjson"
    source.write_bytes(b"".join(lines))
    header = "registry,record_id,status,serial,scheme,scope,block_start,block_end\n"
    rows = [
        f"car,c-{n},issued,CAR-{n},car,CA,{n * 10 + 1},{n * 10 + 10}\n".encode()
        for n in range(3000)
    ]
    rows.insert(1500, b"car,c-bad,issued,CAR-\xe9\xff,car,CA,1,2\n")
    table = tmp_path / "big.csv"
    table.write_bytes(header.encode() + b"".join(rows))
    for path in (source, table):
        result = CliRunner().invoke(main, ["import", "generic", str(path)], env=env)
        assert result.exit_code == 1, result.output  # 1: something was quarantined
    engine = create_engine(db_url)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(store.unit_block)).scalar()
        reasons = dict(
            conn.execute(
                sa.select(store.quarantine_table.c.ref, store.quarantine_table.c.error)
            ).all()
        )
    engine.dispose()
    assert stored == 9000
    assert sorted(reasons) == [
        "big.csv:1502",
        "big.ndjson:3001",
        "big.ndjson:3002",
        "big.ndjson:3003",
    ]
    assert "5000 digits" in reasons["big.ndjson:3001"]
    assert "nested deeper" in reasons["big.ndjson:3002"]
    assert "not UTF-8" in reasons["big.ndjson:3003"]
    assert "serial: not UTF-8 text" in reasons["big.csv:1502"]  # the column is named


def test_a_record_on_two_rows_with_different_content_is_reported(
    tmp_path: Path, env: dict[str, str], db_url: str
) -> None:
    """Issue 20 item 4: the same record twice in one file, disagreeing, is not merged
    silently: a warning names both rows (the later is current); a same-content repeat and
    a clean file say nothing."""
    first = dict(LINES[0])
    changed = {**first, "status": "retired"}
    same = dict(LINES[1])
    source = _write(tmp_path / "twice.ndjson", [first, same, same, changed])
    result = CliRunner().invoke(main, ["import", "generic", str(source), "--no-detect"], env=env)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert warnings == [
        "warning: twice.ndjson: toucan record 't-1' is on two rows with different content: "
        "twice.ndjson:1 and twice.ndjson:4 (the later is the current version)"
    ]
    engine = create_engine(db_url)
    with engine.connect() as conn:
        current = store.get_block(conn, "toucan", "t-1")
    engine.dispose()
    assert current is not None and current.status == "retired"
    clean = _write(tmp_path / "clean.ndjson", [LINES[1]])
    again = CliRunner().invoke(main, ["import", "generic", str(clean), "--no-detect"], env=env)
    assert "warning:" not in again.stderr, again.stderr
