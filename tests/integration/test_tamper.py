"""Issue 20 item 1: a row rewritten behind metaregistry's back is never served as verified.

A small index written through the real writers (blocks and their leaves, detection's
alerts, events and links, a signed checkpoint), on SQLite and PostgreSQL. Each tamper edits
the database as an operator with SQL access would; then:

* the API refuses to serve the record (500 ``integrity_error`` naming record and field),
* ``metaregistry verify --url --record`` / ``--serial`` fails naming the record,
* ``metaregistry audit`` lists the row and what differs, and exits 1;

and on the untouched index all three pass.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from test_log_verify import served

from metaregistry.canonical import hash_json, sha256_hex
from metaregistry.cli import main
from metaregistry.detect.engine import detect_full
from metaregistry.index.db import create_engine, migrate
from metaregistry.index.store import upsert_blocks
from metaregistry.log import store
from metaregistry.log.checkpoint import TreeHead, sign_checkpoint
from metaregistry.log.keyfile import FileSigner
from metaregistry.log.leaf import BlockLeaf
from metaregistry.log.note import key_text
from metaregistry.log.tables import checkpoints_table
from metaregistry.model import UnitBlock

ORIGIN = "metaregistry.test/log"


def serial(start: int, end: int) -> str:
    return f"19385-{start}-{end}-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1"


def unit(
    registry: str, record_id: str, start: int, end: int, status: str, **extra: Any
) -> UnitBlock:
    made = UnitBlock(
        registry=registry,
        record_id=record_id,
        serial=extra.pop("serial", serial(start, end)),
        scheme="vcs",
        scope="",
        block_start=start,
        block_end=end,
        quantity=end - start + 1,
        status=status,
        project_id="VCS1340",
        observed_at="2026-01-02T03:04:05Z",
        raw_hash=sha256_hex(f"{registry} {record_id} {status}".encode()),
        **extra,
    )
    made.record_hash = hash_json(made.content())
    return made


BLOCKS = [
    unit("verra", "v-iss", 1000, 1999, "issued"),
    unit("verra", "v-ret", 3100, 3199, "retired"),
    unit("tccr", "t-dup", 3100, 3149, "retired", serial="TVER-2024-0001-3100-3149"),
    unit(
        "verra",
        "v-can",
        1500 + 10_000,
        1599 + 10_000,
        "cancelled",
        status_reason="cancelled for conversion to SPE-GRK",
    ),
    unit(
        "srn-ppi",
        "s-conv",
        1500 + 10_000,
        1599 + 10_000,
        "issued",
        serial="IDN-SPE-0007-000001-000100",
        origin=serial(11_500, 11_599),
    ),
]


@dataclass
class Index:
    url: str
    engine: sa.Engine
    signer: FileSigner
    tmp: Path

    @property
    def env(self) -> dict[str, str]:
        return {
            "METAREGISTRY_DATABASE_URL": self.url,
            "METAREGISTRY_LOG__KEY_FILE": str(self.tmp / "log.pem"),
            "METAREGISTRY_LOG__ORIGIN": ORIGIN,
        }

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def sql(self, statement: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    def scalar(self, statement: str, **params: Any) -> Any:
        with self.engine.connect() as conn:
            return conn.execute(sa.text(statement), params).scalar()


def _store(conn: sa.Connection, blocks: list[UnitBlock]) -> None:
    for registry in sorted({b.registry for b in blocks}):
        stored = upsert_blocks(
            conn, [b for b in blocks if b.registry == registry], connector=registry
        )
        store.append_leaves(
            conn,
            [
                BlockLeaf(v.block.registry, v.block.record_id, v.version, v.block.record_hash or "")
                for v in stored.versions
            ],
        )


@pytest.fixture(params=["sqlite", "postgresql"])
def index(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Index]:
    if request.param == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path / 'index.db'}"
    engine = create_engine(url)
    migrate(engine)
    signer = FileSigner.open(tmp_path / "log.pem", ORIGIN)
    (tmp_path / "key.txt").write_text(key_text(signer))
    with engine.begin() as conn:
        _store(conn, BLOCKS)
        second = BLOCKS[0].replace(status_date="2026-01-15")
        second.record_hash = hash_json(second.content())
        _store(conn, [second])
        detect_full(conn)
        store.publish_checkpoint(conn, signer, ORIGIN)
    made = Index(url, engine, signer, tmp_path)
    assert made.scalar("SELECT COUNT(*) FROM alert") == 1
    assert made.scalar("SELECT COUNT(*) FROM block_link") == 1
    yield made
    engine.dispose()


def verify(index: Index, url: str, *args: str) -> Result:
    return index.cli("verify", "--key", str(index.tmp / "key.txt"), "--url", url, *args)


def test_an_untouched_index_passes_the_api_the_verifier_and_the_audit(index: Index) -> None:
    with served(index) as url:  # type: ignore[arg-type]
        result = verify(
            index,
            url,
            "--record",
            "verra/v-iss",
            "--record",
            "verra/v-ret",
            "--serial",
            serial(3100, 3100),
            "--serial",
            serial(11_500, 11_500),
        )
        assert result.exit_code == 0, result.output
        assert "record verra/v-iss as served: content hashes to record_hash" in result.output
        assert "2 history entries check" in result.output
        assert "record verra/v-ret: 1 open alert as the log's events record them" in result.output
        answer = httpx.get(f"{url}/v1/records/verra/v-iss").json()
        history = answer["block"]["history"]
        assert [h["version"] for h in history] == [1, 2]
        assert "content" in history[0] and "content" not in history[1]
        assert hash_json(history[0]["content"]) == history[0]["record_hash"]
    result = index.cli("audit")
    assert result.exit_code == 0, result.output
    assert "ok: everything agrees with the log" in result.output
    assert (
        "1 link" in result.output
        and "1 links" not in result.output
        and "6 versions" in result.output
    )


def _content(index: Index, record_id: str, version: int) -> dict[str, Any]:
    text = index.scalar(
        "SELECT content FROM unit_block_version WHERE record_id = :r AND version = :v",
        r=record_id,
        v=version,
    )
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def edit_row(index: Index) -> None:
    index.sql("UPDATE unit_block SET status = 'issued' WHERE record_id = 'v-ret'")


def edit_row_and_hash(index: Index) -> None:
    """The editor recomputes record_hash too: the content then hashes, the log disagrees."""
    content = {**_content(index, "v-ret", 1), "status": "issued"}
    fake = UnitBlock.from_json(content)
    index.sql(
        "UPDATE unit_block SET status = 'issued', record_hash = :h WHERE record_id = 'v-ret'",
        h=hash_json(fake.content()),
    )


def edit_version(index: Index) -> None:
    content = {**_content(index, "v-iss", 1), "status": "retired"}
    index.sql(
        "UPDATE unit_block_version SET content = :c WHERE record_id = 'v-iss' AND version = 1",
        c=json.dumps(content),
    )


def edit_alert(index: Index) -> None:
    index.sql("UPDATE alert SET severity = 'low'")


def delete_alert(index: Index) -> None:
    index.sql("DELETE FROM alert_side")
    index.sql("DELETE FROM alert")


def edit_event(index: Index) -> None:
    index.sql("UPDATE alert_event SET type = 'resolved'")


def delete_event(index: Index) -> None:
    index.sql("DELETE FROM alert_event")


def edit_link(index: Index) -> None:
    index.sql("UPDATE block_link SET overlap_end = overlap_end - 50, overlap_size = 50")


def delete_link(index: Index) -> None:
    index.sql("DELETE FROM block_link")


def delete_row(index: Index) -> None:
    index.sql("DELETE FROM unit_block WHERE record_id = 'v-ret'")


def forge_checkpoint(index: Index) -> None:
    """Someone with another key signs the log's head under its origin."""
    impostor = FileSigner(ORIGIN, Ed25519PrivateKey.generate())
    with index.engine.begin() as conn:
        head = TreeHead(ORIGIN, store.tree_size(conn), store.root(conn))
        conn.execute(
            sa.insert(checkpoints_table).values(
                origin=ORIGIN,
                size=head.size,
                root=head.root,
                note=sign_checkpoint(head, impostor).note,
                created_at=sa.func.now(),
            )
        )


def edit_leaf(index: Index) -> None:
    index.sql("UPDATE log_leaves SET data = :d WHERE idx = 1", d=b'{"type":"block"}')


#: tamper: (how, the record the API refuses / verifier fails on (None: served rows are
#: untouched), what the verifier says, what the audit says)
TAMPERS: dict[str, tuple[Callable[[Index], None], str | None, str, str]] = {
    "current row edited": (
        edit_row,
        "verra/v-ret",
        "status is 'issued' in the index row, 'retired' in stored version 1",
        "unit_block verra/v-ret (version 1): the row differs from its stored version: status "
        "is 'issued' in the row, 'retired' in version 1",
    ),
    "current row and its hash edited": (
        edit_row_and_hash,
        "verra/v-ret",
        "is not the leaf the log holds for it (status is 'issued' in the index row",
        "unit_block verra/v-ret (version 1): record_hash is",
    ),
    "version edited": (
        edit_version,
        "verra/v-iss",
        "stored version 1 does not hash to its record_hash",
        "unit_block_version verra/v-iss version 1: its content does not hash to its record_hash",
    ),
    "current row deleted": (
        delete_row,
        None,
        "",
        "unit_block verra/v-ret: the record has logged versions, its current row is missing",
    ),
    "alert edited": (edit_alert, None, "", "differs from its logged event 1 in severity"),
    "alert deleted": (delete_alert, None, "", "its events are logged, the row is missing"),
    "alert event edited": (edit_event, None, "", "its document does not hash to its event_hash"),
    "alert event deleted": (delete_event, None, "", "the log holds this event, the row is missing"),
    "link edited": (edit_link, None, "", "overlap_end, overlap_size differ from what detection"),
    "checkpoint forged": (forge_checkpoint, None, "", "the note is not signed by the key"),
    "leaf edited": (
        edit_leaf,
        None,
        "",
        "log_leaves idx 1: its bytes do not hash to its leaf_hash",
    ),
    "link deleted": (
        delete_link,
        None,
        "",
        "detection over the logged blocks finds this link, the row is missing",
    ),
}


#: tamper: what ``verify --record verra/v-ret`` (and ``--serial`` of its units) says: the
#: alerts served with a record are held against the logged alert events.
BY_VERIFIER_ALERTS = {
    "alert edited": "is served with severity 'low', its newest logged event (1) says",
    "alert deleted": "open on this record (event 1), the server does not show it",
    "alert event edited": "event 1: the served event does not hash to its event_hash",
    "alert event deleted": "is served, but no logged event records it",
}


@pytest.mark.parametrize("tamper", BY_VERIFIER_ALERTS)
def test_the_verifier_holds_served_alerts_against_the_logged_events(
    index: Index, tamper: str
) -> None:
    with served(index) as url:  # type: ignore[arg-type]
        assert verify(index, url, "--record", "verra/v-ret").exit_code == 0
        TAMPERS[tamper][0](index)
        for args in (("--record", "verra/v-ret"), ("--serial", serial(3100, 3100))):
            result = verify(index, url, *args)
            assert result.exit_code == 1, result.output
            assert result.stderr.startswith("FAILED: "), result.stderr
            assert BY_VERIFIER_ALERTS[tamper] in result.stderr, result.stderr


@pytest.mark.parametrize("tamper", TAMPERS)
def test_a_tampered_index_is_refused_by_the_api_failed_by_the_verifier_listed_by_the_audit(
    index: Index, tamper: str
) -> None:
    how, record, by_verifier, by_audit = TAMPERS[tamper]
    how(index)
    result = index.cli("audit")
    assert result.exit_code == 1, result.output
    assert "DIFFERS: " in result.output and by_audit in result.output, result.output
    assert "disagreements with the log" in result.stderr
    if record is None:
        return
    registry, record_id = record.split("/")
    with served(index) as url:  # type: ignore[arg-type]
        answer = httpx.get(f"{url}/v1/records/{registry}/{record_id}")
        assert answer.status_code == 500
        assert answer.json()["error"] == "integrity_error"
        assert f"record {record}: " in answer.json()["message"]
        start = index.scalar("SELECT block_start FROM unit_block WHERE record_id = :r", r=record_id)
        lookup = httpx.get(f"{url}/v1/serials/{serial(start, start)}")
        assert lookup.status_code == 500
        assert by_verifier in lookup.json()["message"]
        terminal = index.cli("lookup", serial(start, start))
        assert terminal.exit_code == 3, terminal.output
        assert f"Error: record {record}: " in terminal.stderr and by_verifier in terminal.stderr
        for args in (("--record", record), ("--serial", serial(start, start))):
            result = verify(index, url, *args)
            assert result.exit_code == 1, result.output
            assert result.stderr.startswith("FAILED: the server refuses"), result.stderr
            assert f"record {record}: " in result.stderr
            assert by_verifier in result.stderr


def test_the_verifier_recomputes_what_a_server_serves(index: Index) -> None:
    """A server that serves a rewritten row without checking it (an old or hostile one):
    the verifier recomputes the content itself and fails naming the record."""
    from metaregistry.log.served import ServedError, check_served_block, signed_heads

    with served(index) as url:  # type: ignore[arg-type]
        answer = httpx.get(f"{url}/v1/records/verra/v-ret").json()
        checkpoint = httpx.get(f"{url}/v1/log/checkpoint").text
    from metaregistry.log.checkpoint import verify_checkpoint
    from metaregistry.log.note import Verifier

    verifier = Verifier.parse((index.tmp / "key.txt").read_text())
    latest = verify_checkpoint(checkpoint, verifier)
    heads = signed_heads(answer["checkpoint"], latest, verifier)
    assert "content hashes to record_hash" in check_served_block(answer["block"], heads)
    tampered = {**answer["block"], "status": "issued"}
    with pytest.raises(ServedError, match="record verra/v-ret: the served content does not hash"):
        check_served_block(tampered, heads)
    rehashed = {
        **tampered,
        "provenance": {
            **tampered["provenance"],
            "record_hash": hash_json(UnitBlock.from_json(tampered).content()),
        },
    }
    with pytest.raises(ServedError, match=r"verra/v-ret: proof.leaf_hash \S+ is not the leaf"):
        check_served_block(rehashed, heads)
    history = [{**answer["block"]["history"][0], "status": "issued"}]
    with pytest.raises(ServedError, match="history version 1 shows status 'issued'"):
        check_served_block({**answer["block"], "history": history}, heads)
    with pytest.raises(ServedError, match="served without an inclusion proof"):
        check_served_block({**answer["block"], "proof": None}, heads)
