"""``metaregistry verify`` against a real server and an export, on SQLite and PostgreSQL:
an honest log passes (and a checkpoint saved before a sync is consistent with the one after);
a changed, deleted or reordered leaf, a swapped key, and a rewritten or rolled-back history
fail, each with the reason."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from click.testing import CliRunner, Result
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from metaregistry.api.app import create_app
from metaregistry.canonical import hash_json
from metaregistry.cli import main
from metaregistry.index.db import create_engine, migrate
from metaregistry.index.store import upsert_blocks
from metaregistry.log import store
from metaregistry.log.checkpoint import FileSigner, TreeHead, sign_checkpoint
from metaregistry.log.leaf import BlockLeaf, EventLeaf, LeafEntry
from metaregistry.log.note import key_text
from metaregistry.log.tables import checkpoints_table
from metaregistry.model import UnitBlock
from metaregistry.settings import settings_from

ORIGIN = "metaregistry.test/log"


#: The unit block behind each block leaf made here, by record_hash: Log.sync stores them in
#: the index too, so that the API serves what the log holds (verify --record checks both).
UNITS: dict[str, UnitBlock] = {}


def unit(i: int, version: int, salt: str) -> UnitBlock:
    made = UnitBlock(
        registry="verra",
        record_id=f"VCS-{i}",
        serial=f"VCS-{i}",
        scheme="vcs",
        scope="",
        block_start=100 * i + 1,
        block_end=100 * i + 100,
        quantity=100,
        status="issued" if version == 1 else "retired",
        status_reason=salt or None,
        observed_at="2026-01-02T03:04:05Z",
        raw_hash=f"{i:064x}",
    )
    made.record_hash = hash_json(made.content())
    UNITS[made.record_hash] = made
    return made


def blocks(start: int, end: int, version: int = 1, salt: str = "") -> list[LeafEntry]:
    return [
        BlockLeaf("verra", f"VCS-{i}", version, unit(i, version, salt).record_hash or "")
        for i in range(start, end)
    ]


def first_sync() -> list[LeafEntry]:
    return [*blocks(0, 40), EventLeaf("1", "a" * 64), EventLeaf("2", "b" * 64)]


def second_sync() -> list[LeafEntry]:
    return [*blocks(0, 10, version=2), *blocks(40, 50)]


@dataclass
class Log:
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

    def sync(
        self, entries: list[LeafEntry], signer: FileSigner | None = None, *, index: bool = True
    ) -> str:
        with self.engine.begin() as conn:
            if index:
                stored = [UNITS[e.record_hash] for e in entries if isinstance(e, BlockLeaf)]
                upsert_blocks(conn, stored, connector="verra")
            store.append_leaves(conn, entries)
            return store.publish_checkpoint(conn, signer or self.signer, ORIGIN).note

    def sql(self, statement: str, **params: Any) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text(statement), params)

    def cli(self, *args: str) -> Result:
        return CliRunner().invoke(main, list(args), env=self.env, catch_exceptions=False)

    def export(self) -> Path:
        directory = self.tmp / "export"
        result = self.cli("log", "export", str(directory))
        assert result.exit_code == 0, result.output
        return directory


@pytest.fixture(params=["sqlite", "postgresql"])
def log(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Log]:
    """A log after one sync (checkpoint saved to saved.txt) and a second sync."""
    if request.param == "postgresql":
        url = str(request.getfixturevalue("pg_url"))
    else:
        url = f"sqlite:///{tmp_path / 'log.db'}"
    engine = create_engine(url)
    migrate(engine)
    signer = FileSigner.open(tmp_path / "log.pem", ORIGIN)
    (tmp_path / "key.txt").write_text(key_text(signer))
    result = Log(url, engine, signer, tmp_path)
    (tmp_path / "saved.txt").write_text(result.sync(first_sync()))
    result.sync(second_sync())
    yield result
    engine.dispose()


@contextmanager
def served(log: Log) -> Iterator[str]:
    """The real API (create_app, read-only engine) on a free port in a background thread."""
    readonly = create_engine(log.url, readonly=True)
    settings = settings_from({"database_url": log.url, "api": {"rate_limit": 0}})
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    state: dict[str, Any] = {}

    async def start() -> None:
        runner = web.AppRunner(create_app(settings, engine=readonly, signer=log.signer))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        state["runner"], state["port"] = runner, runner.addresses[0][1]
        ready.set()

    thread = threading.Thread(target=lambda: (loop.run_until_complete(start()), loop.run_forever()))
    thread.start()
    assert ready.wait(20)
    try:
        yield f"http://127.0.0.1:{state['port']}"
    finally:
        asyncio.run_coroutine_threadsafe(state["runner"].cleanup(), loop).result(20)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(20)
        loop.close()
        readonly.dispose()


def verify_export(log: Log, *extra: str) -> Result:
    return log.cli(
        "verify", "--key", str(log.tmp / "key.txt"), "--export", str(log.export()), *extra
    )


def verify_url(log: Log, *extra: str) -> Result:
    with served(log) as url:
        return log.cli("verify", "--key", str(log.tmp / "key.txt"), "--url", url, *extra)


def test_a_checkpoint_saved_before_a_sync_is_consistent_with_the_one_after(log: Log) -> None:
    saved = str(log.tmp / "saved.txt")
    new = log.tmp / "new.txt"
    for verify in (verify_export, verify_url):
        result = verify(log, "--checkpoint", saved, "--record", "verra/VCS-3", "--save", str(new))
        assert result.exit_code == 0, result.output
        assert "consistent with the saved checkpoint of size 42" in result.output
        assert "record verra/VCS-3 version 2" in result.output
        assert f"ok: checkpoint {ORIGIN} size 62" in result.output
        assert new.read_text().startswith(f"{ORIGIN}\n62\n")
    assert "all 62 leaves hash to the signed root" in verify_export(log).output
    result = verify_url(log, "--all-leaves", "--checkpoint", str(new))
    assert result.exit_code == 0, result.output
    assert "all 62 leaves hash to the signed root" in result.output


def change_leaf(log: Log) -> None:
    """Rewrite the record_hash inside leaf 17 (VCS-17 version 1), as an editor of the
    database would, leaving the recorded leaf hash alone."""
    forged = BlockLeaf("verra", "VCS-17", 1, "f" * 64).data()
    log.sql("UPDATE log_leaves SET data = :data WHERE idx = 17", data=forged)


def change_leaf_and_hash(log: Log) -> None:
    from metaregistry.log.merkle import leaf_hash

    forged = BlockLeaf("verra", "VCS-17", 1, "f" * 64).data()
    log.sql(
        "UPDATE log_leaves SET data = :d, leaf_hash = :h WHERE idx = 17",
        d=forged,
        h=leaf_hash(forged),
    )


def delete_leaf(log: Log) -> None:
    log.sql("DELETE FROM log_leaves WHERE idx = 17")


def reorder_leaves(log: Log) -> None:
    """Swap leaves 17 and 23 (every column but the index)."""
    columns = "data, leaf_hash, registry, record_id, version"
    with log.engine.begin() as conn:
        rows = {
            r[0]: r[1:]
            for r in conn.execute(
                sa.text(f"SELECT idx, {columns} FROM log_leaves WHERE idx IN (17, 23)")
            )
        }
        for idx, other in ((17, 23), (23, 17)):
            conn.execute(
                sa.text(
                    "UPDATE log_leaves SET data = :d, leaf_hash = :h, registry = :r, "
                    "record_id = :i, version = :v WHERE idx = :idx"
                ),
                dict(zip("dhriv", rows[other], strict=True), idx=idx),
            )


def swap_key(log: Log) -> None:
    """Someone with another key publishes the newest checkpoint under the log's origin."""
    impostor = FileSigner(ORIGIN, Ed25519PrivateKey.generate())
    with log.engine.begin() as conn:
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


TAMPERS: dict[str, tuple[Callable[[Log], None], str, str]] = {
    # tamper: (how, what verify --export says, what verify --url --record verra/VCS-17 says)
    "changed leaf": (
        change_leaf,
        "leaf 17: its bytes hash to",
        "is listed at leaf 17, but no leaf with its hash",
    ),
    "changed leaf and hash": (
        change_leaf_and_hash,
        "a leaf from 0 to 41 was changed, removed or reordered",
        "is listed at leaf 17, but no leaf with its hash",
    ),
    "deleted leaf": (
        delete_leaf,
        "leaf 17 is missing: leaf indexes jump from 16 to 18",
        "record verra/VCS-17 has no leaf in the log",
    ),
    "reordered leaves": (
        reorder_leaves,
        "a leaf from 0 to 41 was changed, removed or reordered",
        "is listed at leaf 23, but the signed tree has it at leaf 17: leaves were reordered",
    ),
    "swapped key": (
        swap_key,
        "latest checkpoint: note is not signed by the trusted key",
        "latest checkpoint: note is not signed by the trusted key",
    ),
}


@pytest.mark.parametrize("tamper", TAMPERS)
def test_tampering_fails_verification_and_says_which(log: Log, tamper: str) -> None:
    how, by_export, by_url = TAMPERS[tamper]
    how(log)
    result = verify_export(log)
    assert result.exit_code == 1
    assert by_export in result.stderr
    result = verify_url(log, "--record", "verra/VCS-17")
    assert result.exit_code == 1
    assert by_url in result.stderr
    assert result.stderr.startswith("FAILED: ")


def rewrite_history(log: Log, entries: list[LeafEntry]) -> None:
    """The operator, who holds the key, rebuilds the log with other leaves and re-signs."""
    for table in ("log_checkpoints", "log_leaf_hashes", "log_nodes", "log_leaves"):
        log.sql(f"DELETE FROM {table}")
    log.sync(entries, index=False)


def test_a_rewritten_history_is_not_consistent_with_a_saved_checkpoint(log: Log) -> None:
    rewritten = first_sync()
    rewritten[5] = blocks(5, 6, salt="evil")[0]
    rewrite_history(log, [*rewritten, *second_sync()])
    saved = str(log.tmp / "saved.txt")
    assert verify_export(log).exit_code == 0  # self-consistent: only the saved head tells
    for verify in (verify_export, verify_url):
        result = verify(log, "--checkpoint", saved)
        assert result.exit_code == 1
        assert (
            "not consistent with the saved checkpoint of size 42: the log was forked or "
            "rewritten" in result.stderr
        )


def test_a_rolled_back_log_is_caught(log: Log) -> None:
    rewrite_history(log, first_sync()[:30])
    result = verify_url(log, "--checkpoint", str(log.tmp / "saved.txt"))
    assert result.exit_code == 1
    assert "the log shrank from 42 leaves (saved checkpoint) to 30" in result.stderr


def test_a_saved_checkpoint_signed_by_another_key_is_refused(log: Log) -> None:
    impostor = FileSigner(ORIGIN, Ed25519PrivateKey.generate())
    forged = log.tmp / "forged.txt"
    forged.write_text(sign_checkpoint(TreeHead(ORIGIN, 1, b"\x00" * 32), impostor).note)
    result = verify_export(log, "--checkpoint", str(forged))
    assert result.exit_code == 1
    assert "saved checkpoint: note is not signed by the trusted key" in result.stderr


BAD_REQUESTS = [
    ("/v1/log/proof/inclusion?leaf=xyz&size=3", "leaf", "xyz"),
    ("/v1/log/proof/inclusion?size=3", "leaf", None),
    (f"/v1/log/proof/inclusion?leaf={'a' * 64}&size=-1", "size", "-1"),
    (f"/v1/log/proof/inclusion?leaf={'a' * 64}&size=0", "size", "0"),
    (f"/v1/log/proof/inclusion?leaf={'a' * 64}&size=63", "size", "63"),
    ("/v1/log/proof/consistency?from=5&to=2", "from", "5"),
    ("/v1/log/proof/consistency?from=1&to=99", "to", "99"),
    ("/v1/log/proof/consistency?from=a&to=2", "from", "a"),
    ("/v1/log/leaves?start=0&end=1001", "end", "1001"),
    ("/v1/log/leaves?start=5&end=1", "end", "1"),
    ("/v1/log/leaves?registry=verra", "record_id", None),
]


def test_the_api_serves_the_log_and_names_bad_parameters(log: Log) -> None:
    import httpx

    with served(log) as url, httpx.Client(base_url=url) as http:
        key = http.get("/v1/log/key")
        assert key.text == key_text(log.signer)
        checkpoint = http.get("/v1/log/checkpoint")
        assert checkpoint.text.startswith(f"{ORIGIN}\n62\n")
        leaves = http.get("/v1/log/leaves", params={"start": 40, "end": 43}).json()
        assert [leaf["index"] for leaf in leaves["leaves"]] == [40, 41, 42]
        assert leaves["leaves"][0]["entry"] == {
            "event_hash": "a" * 64,
            "event_id": "1",
            "type": "alert_event",
        }
        assert http.get("/v1/log/leaves", params={"start": 60, "end": 99}).json()["end"] == 62
        versions = http.get("/v1/log/leaves", params={"registry": "verra", "record_id": "VCS-3"})
        assert [leaf["index"] for leaf in versions.json()["leaves"]] == [3, 42 + 3]
        unknown = http.get("/v1/log/proof/inclusion", params={"leaf": "0" * 64, "size": 62})
        assert unknown.status_code == 404
        for path, field, value in BAD_REQUESTS:
            answer = http.get(path)
            assert answer.status_code == 400, path
            body = answer.json()
            assert body["field"] == field, path
            assert body.get("value") == value, path


def test_an_unreachable_server_or_a_bad_call_is_an_error_not_a_pass(
    log: Log, free_port: int
) -> None:
    key = str(log.tmp / "key.txt")
    down = log.cli("verify", "--key", key, "--url", f"http://127.0.0.1:{free_port}")
    assert down.exit_code == 1
    assert down.stderr.startswith(f"FAILED: GET http://127.0.0.1:{free_port}/v1/log/checkpoint")
    both = log.cli("verify", "--key", key, "--url", "http://x", "--export", str(log.tmp))
    assert both.exit_code == 2
    assert "exactly one of --url and --export" in both.stderr
    bad = log.cli("verify", "--key", key, "--export", str(log.export()), "--record", "VCS-1")
    assert bad.exit_code == 2
    assert "expected REGISTRY/RECORD_ID" in bad.stderr
