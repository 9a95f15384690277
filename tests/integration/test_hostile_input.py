"""Inputs that used to crash an import and lose the rows after them (issue 20 item 6): every
reader turns a record it cannot read into a quarantined record with its reason, and goes on.
A hypothesis test mixes hostile lines among good ones for the generic reader (NDJSON and CSV)
and for the tabular reader every CSV connector shares; a large file with one bad line in the
middle, imported through the CLI, stores every good row."""

from __future__ import annotations

import json
from pathlib import Path

import sqlalchemy as sa
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaregistry.cli import main
from metaregistry.pipeline import prepare_page
from metaregistry_connectors.generic import connector as generic
from metaregistry_connectors.verra import connector as verra

STAMP = "2026-12-05T00:00:00.000000Z"

#: Lines no reader can make a record of, each once the reason of a crash.
HOSTILE_NDJSON: list[bytes] = [
    b'{"registry": "verra", "quantity": ' + b"9" * 5000 + b"}",  # > 4300 digits
    b"[" * 100_000 + b"]" * 100_000,  # nesting far past the recursion limit
    b'{"registry": "verra", "serial": "caf\xe9"}',  # not UTF-8
    b'{"registry": ',  # cut off
    b"42",  # JSON, but no object
    b'{"registry": "verra", "record_id": "x", "serial": "S", "status": "issued", '
    b'"block_start": 1, "block_end": "ten", "quantity": 10, "scheme": "vcs", "scope": ""}',
    b'{"nested": ' + b'{"a": ' * 900 + b"1" + b"}" * 900 + b"}",  # deep but readable JSON
]


def good_line(n: int) -> bytes:
    record = {
        "registry": "verra",
        "record_id": f"good-{n}",
        "serial": f"S-{n}",
        "scheme": "vcs",
        "scope": "",
        "block_start": n * 10 + 1,
        "block_end": n * 10 + 10,
        "quantity": 10,
        "status": "issued",
    }
    return json.dumps(record).encode()


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layout=st.lists(
        st.one_of(st.just(None), st.integers(0, len(HOSTILE_NDJSON) - 1)), min_size=1, max_size=30
    )
)
def test_generic_ndjson_keeps_every_good_line_around_hostile_ones(
    tmp_path_factory: object, layout: list[int | None]
) -> None:
    folder = Path(str(tmp_path_factory.mktemp("fuzz")))  # type: ignore[attr-defined]
    lines, good = [], 0
    for item in layout:
        if item is None:
            lines.append(good_line(good))
            good += 1
        else:
            lines.append(HOSTILE_NDJSON[item])
    path = folder / "mixed.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    page = prepare_page(generic, list(generic.read_file(path)), STAMP)
    assert sorted(b.record_id for b in page.blocks) == sorted(f"good-{n}" for n in range(good))
    assert len(page.quarantined) == len(layout) - good
    for entry in page.quarantined:
        assert entry.error and entry.ref.startswith("mixed.ndjson:")


VERRA_HEADER = "Serial Number,Quantity Issued,Retirement/Cancellation Date,Retirement Details"


def verra_row(n: int) -> bytes:
    start = 941467007 + n * 1000
    serial = f"19385-{start}-{start + 424}-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1"
    return f"{serial},425,,".encode()


HOSTILE_CSV: list[bytes] = [
    b"19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1,425,,caf\xe9",
    b"not-a-serial,425,,",
    b"19385-1-10-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1," + b"9" * 5000 + b",,",
    b"19385-1-10-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1,four hundred,,",
    b",,," + b"x" * 100_000,
]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layout=st.lists(
        st.one_of(st.just(None), st.integers(0, len(HOSTILE_CSV) - 1)), min_size=1, max_size=25
    )
)
def test_the_tabular_reader_keeps_every_good_row_around_hostile_ones(
    tmp_path_factory: object, layout: list[int | None]
) -> None:
    folder = Path(str(tmp_path_factory.mktemp("fuzz")))  # type: ignore[attr-defined]
    lines, good = [VERRA_HEADER.encode()], 0
    for item in layout:
        if item is None:
            lines.append(verra_row(good))
            good += 1
        else:
            lines.append(HOSTILE_CSV[item])
    path = folder / "mixed.csv"
    path.write_bytes(b"\n".join(lines) + b"\n")
    records = list(verra.read_file(path))
    page = prepare_page(verra, records, STAMP)
    assert len(page.blocks) == good
    # every hostile row is quarantined (the all-blank one with a long extra cell included)
    assert len(page.blocks) + len(page.quarantined) == len(records) == len(layout)


def test_one_bad_line_in_the_middle_of_a_large_file_loses_nothing(
    tmp_path: Path, db_url: str
) -> None:
    lines = [good_line(n) for n in range(3000)]
    lines.insert(1500, HOSTILE_NDJSON[0])
    lines.insert(2000, HOSTILE_NDJSON[1])
    path = tmp_path / "large.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    env = {
        "METAREGISTRY_DATABASE_URL": db_url,
        "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "key.pem"),
    }
    result = CliRunner().invoke(main, ["import", "generic", str(path), "--no-detect"], env=env)
    assert result.exit_code == 1  # quarantined records make the import say so
    assert "3002 records, 3000 written, 0 unchanged, 2 quarantined" in result.stdout
    assert "Traceback" not in result.output
    engine = sa.create_engine(db_url.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT COUNT(*) FROM unit_block")).scalar()
            reasons = [r[0] for r in conn.execute(sa.text("SELECT error FROM quarantine"))]
    finally:
        engine.dispose()
    assert stored == 3000
    assert any("a number of 5000 digits" in r for r in reasons), reasons
    assert any("nested deeper than 64 levels" in r for r in reasons), reasons


def test_api_dumps_import_exactly_as_the_sync_normalizes_them(tmp_path: Path, db_url: str) -> None:
    """Issue 20 item 5: records of Verra's search API (vcus.ndjson) and of Gold Standard's GET
    /credits (credits.ndjson), as a generated world writes them, import through the file
    path with the hashes the sync path gives the same records; a JSON array too."""
    from metaregistry import plugins
    from metaregistry.index.db import create_engine
    from metaregistry.mock.world import generate_world, world_records

    world = tmp_path / "world"
    generate_world(11, 600, world)
    expected: dict[tuple[str, str], str] = {}
    for name, relative in (
        ("verra", "verra/vcus.ndjson"),
        ("gold-standard", "gold-standard/credits.ndjson"),
    ):
        connector = plugins.load(name)
        page = prepare_page(connector, list(world_records(world, relative)), STAMP)
        expected.update({b.key: b.record_hash or "" for b in page.blocks})
    env = {
        "METAREGISTRY_DATABASE_URL": db_url,
        "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "key.pem"),
    }
    for name, relative in (
        ("verra", "verra/vcus.ndjson"),
        ("gold-standard", "gold-standard/credits.ndjson"),
    ):
        result = CliRunner().invoke(
            main, ["import", name, str(world / relative), "--no-detect"], env=env
        )
        assert "Traceback" not in result.output and "records" in result.stdout, result.output
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            stored = {
                (r[0], r[1]): r[2]
                for r in conn.execute(
                    sa.text("SELECT registry, record_id, record_hash FROM unit_block")
                )
            }
    finally:
        engine.dispose()
    assert stored == expected
    # the same records as one JSON array: nothing new
    lines = (world / "verra" / "vcus.ndjson").read_text(encoding="utf-8").splitlines()
    array = tmp_path / "vcus.json"
    array.write_text("[" + ",".join(lines) + "]", encoding="utf-8")
    again = CliRunner().invoke(main, ["import", "verra", str(array), "--no-detect"], env=env)
    assert ", 0 written," in again.stdout, again.output
