"""Hostile rows cost their own row only (issue 20 item 6).

Every registered connector that imports files is fed a file of its own good rows (built from
its ``sample.json``, in the first of CSV and NDJSON its reader takes) with hostile rows mixed
in by hypothesis: a 5,000-digit number, nesting 100,000 deep, bytes that are not UTF-8, a
NUL, half a surrogate pair, a cell over the CSV field limit, a line that is not an object.
Reading and preparing never raises, every good row comes out a block, and every hostile row
comes out a quarantine entry naming its line. A connector added later is picked up by its
entry point.
"""

from __future__ import annotations

import csv
import inspect
import io
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaregistry import plugins
from metaregistry.connector import Connector, FatalSourceError
from metaregistry.index import store
from metaregistry.ingest import ingest_records
from metaregistry.pipeline import prepare_page

OBSERVED = "2026-12-05T00:00:00Z"
DEEP = "[" * 100_000 + "]" * 100_000
DIGITS = "9" * 5000
#: Good rows of a file kind the connector's sample.json has no record of.
EXTRA: dict[str, list[dict[str, Any]]] = {
    "regen": [
        {
            "regen_batch_metadata_file": "C01-001-20150101-20151231-001",
            "vcs_retirement_serial_number": (
                "7095-365233245-365234244-VCS-VCU-263-VER-BR-14-1329-01012015-31122015-0"
            ),
            "vcs_project_id": "1329",
            "additional_certifications": "",
        }
    ]
}
CSV_KINDS = ("latin1", "digits", "nul", "oversized", "deep")
JSON_KINDS = ("digits", "deep", "latin1", "nul", "surrogate", "not-object", "cut", "inf")


@dataclass(frozen=True)
class GoodFile:
    """A connector's good rows as the lines of a file its reader takes."""

    suffix: str
    header: bytes
    rows: list[bytes]
    payloads: list[dict[str, Any]]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _csv_line(cells: list[str]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerow(cells)
    return out.getvalue().encode("utf-8")


def _as_csv(payloads: list[dict[str, Any]]) -> GoodFile:
    keys = list(dict.fromkeys(k for p in payloads for k in p))
    rows = [_csv_line([_cell(p.get(k)) for k in keys]) for p in payloads]
    return GoodFile(".csv", _csv_line(keys), rows, payloads)


def _as_ndjson(payloads: list[dict[str, Any]]) -> GoodFile:
    rows = [json.dumps(p).encode("utf-8") + b"\n" for p in payloads]
    return GoodFile(".ndjson", b"", rows, payloads)


def _write(path: Path, good: GoodFile, rows: list[bytes]) -> Path:
    path = path.with_suffix(good.suffix)
    path.write_bytes(good.header + b"".join(rows))
    return path


def _works(connector: Connector, good: GoodFile, tmp: Path) -> bool:
    path = _write(tmp / f"probe-{connector.name}", good, good.rows)
    try:
        page = prepare_page(connector, list(connector.read_file(path)), OBSERVED)
    except FatalSourceError:
        return False
    return len(page.blocks) == len(good.rows) and not page.quarantined


def good_files(connector: Connector, tmp: Path) -> list[GoodFile]:
    """One good file per stream of the sample (and EXTRA) that the reader imports."""
    path = Path(inspect.getfile(type(connector))).parent / "sample.json"
    records = json.loads(path.read_text(encoding="utf-8"))["records"]
    streams: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        streams.setdefault(record["stream"], []).append(record["payload"])
    if connector.name in EXTRA:
        streams["extra"] = EXTRA[connector.name]
    found = []
    for payloads in streams.values():
        for make in (_as_csv, _as_ndjson):
            good = make(payloads)
            if _works(connector, good, tmp):
                found.append(good)
                break
    return found


def _hostile_csv(kind: str, cells: list[str], column: int) -> bytes:
    if kind == "latin1":
        line = _csv_line([c + "\x00MARK" if i == column else c for i, c in enumerate(cells)])
        return line.replace(b"\x00MARK", b"caf\xe9\xff")
    if kind == "oversized":
        return _csv_line([c + "A" * 200_000 if i == column else c for i, c in enumerate(cells)])
    value = {"digits": DIGITS, "nul": "a\x00b", "deep": DEEP}[kind]
    return _csv_line([value] * len(cells))


def _hostile_json(kind: str, payload: dict[str, Any], column: int) -> bytes:
    keys = list(payload)
    key = keys[column % len(keys)]
    if kind == "not-object":
        return b"[1, 2]\n"
    if kind == "cut":
        text = json.dumps(payload).encode("utf-8")
        return text[: len(text) // 2] + b"\n"
    marker = {**payload, key: "@@MARK@@"}
    text = json.dumps(marker).encode("utf-8")
    raw = {
        "digits": DIGITS.encode(),
        "deep": DEEP.encode(),
        "latin1": b'"caf\xe9\xff"',
        "nul": b'"a\\u0000b"',
        "surrogate": b'"a\\ud800b"',
        "inf": b"1e999",
    }[kind]
    return text.replace(b'"@@MARK@@"', raw) + b"\n"


def _check(
    connector: Connector, good: GoodFile, plan: list[tuple[int, int, int]], tmp: Path
) -> None:
    """Write the good rows (three times over) with the planned hostile rows inserted (at a
    position, of a kind, aimed at a column); every good row must come out a block, every
    hostile one a quarantine entry."""
    path, hostile_lines = _mixed(connector, good, plan, tmp)
    good_count = len(good.rows) * 3
    records = list(connector.read_file(path))
    page = prepare_page(connector, records, OBSERVED)
    quarantined = {int(q.ref.rsplit(":", 1)[1]) for q in page.quarantined}
    assert len(page.blocks) == good_count, [q.error for q in page.quarantined]
    assert quarantined == hostile_lines, [(q.ref, q.error[:100]) for q in page.quarantined]
    for entry in page.quarantined:
        assert entry.error, entry.ref


def _mixed(
    connector: Connector, good: GoodFile, plan: list[tuple[int, int, int]], tmp: Path
) -> tuple[Path, set[int]]:
    """The good rows three times over with the planned hostile rows inserted (at a position,
    of a kind, aimed at a column): the file, and the lines the hostile rows start on."""
    rows: list[tuple[bool, bytes]] = [(True, row) for row in good.rows * 3]
    cells = next(csv.reader(io.StringIO(good.rows[0].decode("utf-8"))))
    for position, kind, column in plan:
        if good.suffix == ".csv":
            hostile = _hostile_csv(CSV_KINDS[kind % len(CSV_KINDS)], cells, column % len(cells))
        else:
            hostile = _hostile_json(JSON_KINDS[kind % len(JSON_KINDS)], good.payloads[0], column)
        rows.insert(position % (len(rows) + 1), (False, hostile))
    path = _write(tmp / f"hostile-{connector.name}", good, [r for _, r in rows])
    lines = _first_lines(good, [row for _, row in rows])
    return path, {lines[i] for i, (ok, _) in enumerate(rows) if not ok}


def _first_lines(good: GoodFile, rows: list[bytes]) -> list[int]:
    """The line each row starts on."""
    line = 2 if good.header else 1
    out = []
    for row in rows:
        out.append(line)
        line += row.count(b"\n") or 1
    return out


_PLAN = st.lists(
    st.tuples(st.integers(0, 50), st.integers(0, 23), st.integers(0, 50)), min_size=1, max_size=4
)


@pytest.mark.parametrize("name", plugins.available())
def test_hostile_rows_are_quarantined_and_good_rows_kept(name: str, tmp_path: Path) -> None:
    connector = plugins.load(name)
    files = good_files(connector, tmp_path)
    if type(connector).read_file is Connector.read_file:
        pytest.skip(f"{name} imports no files")
    assert files, f"no stream of {name}'s sample.json imports as CSV or NDJSON"

    @settings(
        max_examples=12,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(plan=_PLAN, which=st.integers(0, 10))
    def run(plan: list[tuple[int, int, int]], which: int) -> None:
        _check(connector, files[which % len(files)], plan, tmp_path)

    run()


@pytest.mark.parametrize("name", plugins.available())
def test_every_good_row_is_stored_around_hostile_ones(
    name: str, tmp_path: Path, engine: sa.Engine
) -> None:
    """The same through the store, on SQLite and PostgreSQL: one hostile row of every kind
    among the good rows, imported in pages of 3; every good record is in the index, every
    hostile row in the quarantine with its line."""
    connector = plugins.load(name)
    if type(connector).read_file is Connector.read_file:
        pytest.skip(f"{name} imports no files")
    files = good_files(connector, tmp_path)
    assert files
    # one file: the quarantine keeps one entry per distinct payload, across files too
    for number, good in enumerate(files[:1]):
        kinds = CSV_KINDS if good.suffix == ".csv" else JSON_KINDS
        plan = [(3 * i + 1, i, i) for i in range(len(kinds))]
        # and a second row the csv module refuses (or a second long number): two entries
        plan.append(
            (3 * len(kinds) + 2, kinds.index("oversized" if good.suffix == ".csv" else "digits"), 1)
        )
        folder = tmp_path / f"f{number}"
        folder.mkdir()
        path, hostile_lines = _mixed(connector, good, plan, folder)
        clean = _write(tmp_path / f"clean{number}", good, good.rows)
        want = {b.key for b in prepare_page(connector, connector.read_file(clean), OBSERVED).blocks}
        ingest_records(engine, connector, connector.read_file(path), page_size=3)
        with engine.connect() as conn:
            stored = {
                (r[0], r[1])
                for r in conn.execute(
                    sa.select(store.unit_block.c.registry, store.unit_block.c.record_id)
                )
            }
            refs = {
                r[0]
                for r in conn.execute(sa.select(store.quarantine_table.c.ref))
                if r[0].startswith(path.name + ":")
            }
        assert want <= stored, sorted(want - stored)[:5]
        assert {int(r.rsplit(":", 1)[1]) for r in refs} == hostile_lines
