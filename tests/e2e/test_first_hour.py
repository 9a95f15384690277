"""A new user's first hour (issue 22): a busy port, the demo's index from the CLI, paths
shown as written."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from metaregistry.cli import main


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield int(listener.getsockname()[1])


def test_serve_on_a_busy_port_says_which_option_changes_it(busy_port: int, tmp_path: Path) -> None:
    env = {"METAREGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'x.db'}"}
    result = CliRunner().invoke(main, ["serve", "--port", str(busy_port)], env=env)
    assert result.exit_code == 1
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.output
    assert "--port N" in result.output and "METAREGISTRY_API__PORT" in result.output
    assert "Traceback" not in result.output


def test_the_demo_on_a_busy_port_stops_before_any_setup(busy_port: int, tmp_path: Path) -> None:
    base = tmp_path / "demo"
    result = CliRunner().invoke(
        main, ["demo", "--dir", str(base), "--port", str(busy_port), "--records", "500"]
    )
    assert result.exit_code == 1, result.output
    assert "already in use" in result.output and "--port" in result.output
    assert not base.exists()  # nothing generated, no mock started


def test_the_daemon_on_a_busy_port_says_which_setting_changes_it(
    busy_port: int, tmp_path: Path
) -> None:
    database = tmp_path / "x.db"
    env = {
        "METAREGISTRY_DATABASE_URL": f"sqlite:///{database}",
        "METAREGISTRY_API__PORT": str(busy_port),
        "METAREGISTRY_CONNECTORS__VERRA__BASE_URL": "http://127.0.0.1:9",
    }
    result = CliRunner().invoke(main, ["daemon", "verra"], env=env)
    assert result.exit_code == 1, result.output
    assert f"port {busy_port} on 127.0.0.1 is already in use" in result.output
    assert "METAREGISTRY_API__PORT" in result.output and "--no-api" in result.output
    assert "Traceback" not in result.output
    assert not database.exists()  # stopped before opening (or creating) the index


def test_commands_beside_the_demo_use_its_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    demo = tmp_path / ".demo"
    demo.mkdir()
    database = demo / "metaregistry.db"
    (demo / "metaregistry.toml").write_text(
        f'database_url = "sqlite:///{database}"\n', encoding="utf-8"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAREGISTRY_DATABASE_URL", raising=False)
    result = CliRunner().invoke(main, ["alerts", "--json"], env={})
    assert result.exit_code == 0, result.output
    assert "using the demo's settings, .demo/metaregistry.toml" in result.stderr
    assert database.is_file()  # the demo's index was opened, not a new one here
    assert not (tmp_path / "metaregistry.db").exists()


def test_a_command_that_makes_a_new_empty_index_says_so_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run in the wrong folder, a command makes an empty index there: it says so instead of
    answering 'no alerts' as if the user's index had none."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("METAREGISTRY_DATABASE_URL", raising=False)
    first = CliRunner().invoke(main, ["alerts"], env={})
    assert first.exit_code == 0, first.output
    assert "created a new, empty index metaregistry.db" in first.stderr
    assert (tmp_path / "metaregistry.db").is_file()
    again = CliRunner().invoke(main, ["alerts"], env={})
    assert again.exit_code == 0 and "created a new" not in again.stderr


def test_a_missing_database_is_named_as_written_not_url_encoded(tmp_path: Path) -> None:
    from metaregistry.api.app import IndexMissingError, detect_features
    from metaregistry.index.db import create_engine

    path = tmp_path / "nowhere" / "metaregistry.db"
    engine = create_engine(f"sqlite:///{path}", readonly=True)
    with pytest.raises(IndexMissingError) as caught:
        detect_features(engine)
    message = str(caught.value)
    assert f"sqlite:///{path}" in message
    assert "%3A" not in message and "mode=ro" not in message


def test_the_signing_key_lands_beside_the_database_and_is_announced_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    here = tmp_path / "here"
    here.mkdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(here)
    data = here / "records.ndjson"
    record = {
        "registry": "verra",
        "record_id": "r1",
        "serial": "S-1",
        "scheme": "vcs",
        "scope": "",
        "block_start": 1,
        "block_end": 10,
        "quantity": 10,
        "status": "issued",
    }
    data.write_text(json.dumps(record) + "\n", encoding="utf-8")
    env = {"METAREGISTRY_DATABASE_URL": f"sqlite:///{elsewhere / 'index.db'}"}
    first = CliRunner().invoke(main, ["import", "generic", str(data)], env=env)
    assert first.exit_code == 0, first.output
    key = elsewhere / "metaregistry-log.pem"
    assert key.is_file() and not (here / "metaregistry-log.pem").exists()
    assert f"created the log's signing key {key}" in first.stderr
    again = CliRunner().invoke(main, ["import", "generic", str(data)], env=env)
    assert again.exit_code == 0, again.output
    assert "created the log's signing key" not in again.stderr


def test_sigterm_to_run_py_stops_the_command_it_started(tmp_path: Path, free_port: int) -> None:
    """Issue 20 item 2: run.py forwards SIGTERM (docker stop, systemd, CI) to the command it
    runs, which stops; nothing keeps listening after run.py is gone."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request

    from metaregistry.index.db import create_engine, migrate

    database = f"sqlite:///{tmp_path / 'index.db'}"
    engine = create_engine(database)
    migrate(engine)
    engine.dispose()
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "METAREGISTRY_DATABASE_URL": database}
    env["METAREGISTRY_LOG__KEY_FILE"] = str(tmp_path / "key.pem")
    proc = subprocess.Popen(
        [sys.executable, str(root / "run.py"), "metaregistry", "serve", "--port", str(free_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{free_port}/healthz"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            break
        except OSError:
            assert time.monotonic() < deadline, "the API never answered"
            assert proc.poll() is None, "run.py exited early"
            time.sleep(0.2)
    proc.send_signal(signal.SIGTERM)  # to run.py only, not its process group
    assert proc.wait(timeout=30) == 0 or proc.returncode in (-signal.SIGTERM, 143)
    time.sleep(0.5)
    with pytest.raises(OSError):
        urllib.request.urlopen(url, timeout=1)
    try:  # and no process of its session is left
        os.killpg(proc.pid, 0)
        survivors = True
    except ProcessLookupError:
        survivors = False
    assert not survivors


def test_real_data_can_live_where_a_variable_says(tmp_path: Path) -> None:
    """Issue 22 item 7: METAREGISTRY_REAL_DATA points the real-data tests elsewhere (the
    test configuration reads it when it loads)."""
    import os
    import subprocess
    import sys

    conftest = Path(__file__).resolve().parents[1] / "conftest.py"
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('probe_conftest', {str(conftest)!r})\n"
        "module = importlib.util.module_from_spec(spec)\n"
        "spec.loader.exec_module(module)\n"
        "print('REAL', module.REAL_DATA)\n"
    )
    env = {**os.environ, "METAREGISTRY_REAL_DATA": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert f"REAL {tmp_path}" in done.stdout, done.stdout[-2000:] + done.stderr[-2000:]


@pytest.mark.parametrize("ci", ["", "true"])
def test_real_data_tests_follow_the_variable_skip_outside_ci_and_fail_under_it(
    tmp_path: Path, ci: str
) -> None:
    """A real-data test run with METAREGISTRY_REAL_DATA naming an empty folder skips (outside
    CI) or fails (CI=true); naming a folder that holds the data (a link to it here), it runs."""
    import os
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[2]
    empty = tmp_path / "empty"
    empty.mkdir()
    test = "tests/unit/serials/test_serials_real.py::test_the_real_files_hold_all_serial_families"

    def run(where: Path) -> str:
        env = {**os.environ, "METAREGISTRY_REAL_DATA": str(where), "CI": ci}
        done = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test],
            cwd=root, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        return done.stdout[-1500:]

    missing = run(empty)
    if ci:
        assert "1 error" in missing or "1 failed" in missing, missing  # fails in its fixture
        assert f"real registry data at {empty} is required under CI=true" in missing, missing
    else:
        assert "1 skipped" in missing, missing
    shared = root.parent / "shared" / "data" / "real"
    if (shared / "PROVENANCE.md").is_file():
        elsewhere = tmp_path / "copy-of-real"
        elsewhere.symlink_to(shared, target_is_directory=True)
        assert "1 passed" in run(elsewhere)


def test_import_says_what_detection_did_in_a_sentence_and_json_for_scripts(
    tmp_path: Path,
) -> None:
    import json

    rows = [
        {
            "registry": registry,
            "record_id": f"{registry}-1",
            "serial": f"S-{registry}",
            "scheme": "vcs",
            "scope": "",
            "block_start": 1,
            "block_end": 10,
            "quantity": 10,
            "status": "retired",
        }
        for registry in ("verra", "gold-standard")
    ]
    data = tmp_path / "records.ndjson"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    env = {
        "METAREGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'index.db'}",
        "METAREGISTRY_LOG__KEY_FILE": str(tmp_path / "key.pem"),
    }
    people = CliRunner().invoke(main, ["import", "generic", str(data)], env=env)
    assert people.exit_code == 0, people.output
    assert "1 alert opened" in people.stdout and "{" not in people.stdout
    scripts = CliRunner().invoke(main, ["import", "generic", str(data), "--json"], env=env)
    report = json.loads(scripts.stdout)
    assert (report["seen"], report["unchanged"], report["quarantined"]) == (2, 2, 0)
    assert report["detection"]["alerts_opened"] == 0


def test_a_quarantine_reason_says_what_was_expected_in_words() -> None:
    import json

    from metaregistry.schemas import Validator, schema_root

    schema = json.loads(
        (schema_root() / "raw" / "verra" / "transactions.schema.json").read_text("utf-8")
    )
    validator = Validator(schema)
    record = {name: "1" for name in schema.get("required", [])}
    record["Quantity Issued"] = "four hundred"
    (issue,) = [i for i in validator.errors(record) if i.path == "Quantity Issued"]
    assert str(issue) == 'Quantity Issued: is not a whole number (value: "four hundred")'


def test_a_value_of_the_wrong_type_is_named_in_words_too() -> None:
    from metaregistry.schemas import Validator

    schema = {
        "type": "object",
        "properties": {
            "quantity": {"type": "integer"},
            "amount": {"type": ["string", "integer"]},
            "status": {"enum": ["issued", "retired"]},
        },
    }
    issues = Validator(schema).errors({"quantity": "n/a", "amount": {"value": "1"}, "status": "x"})
    assert [str(i) for i in issues] == [
        'amount: is not text or a whole number (value: {"value": "1"})',
        'quantity: is not a whole number (value: "n/a")',
        'status: is not one of issued, retired (value: "x")',
    ]


def _run_py() -> Any:
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "run.py"
    spec = importlib.util.spec_from_file_location("run_py_probe", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_first_install_says_a_line_per_package(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 22 item 4: run.py's install is not 30 s of silence; pip's full output is shown
    only when it fails."""
    import subprocess
    import sys

    run_py = _run_py()
    pip_like = (
        "print('Collecting click>=8.1'); print('  Downloading click-8.1.whl (98 kB)');"
        "print('Collecting httpx>=0.27'); print('Successfully installed click-8.1 httpx-0.27')"
    )
    run_py._pip_with_progress([sys.executable, "-c", pip_like])
    said = capsys.readouterr().err.splitlines()
    assert said == ["    [1] click>=8.1", "    [2] httpx>=0.27", "    installed 2 packages"]
    failing = "print('Collecting nothing-such'); print('ERROR: No matching distribution'); exit(1)"
    with pytest.raises(subprocess.CalledProcessError):
        run_py._pip_with_progress([sys.executable, "-c", failing])
    assert "ERROR: No matching distribution" in capsys.readouterr().err


def test_an_alerts_overlap_fields_are_documented_one_meaning_each() -> None:
    """Issue 22 item 8: overlap_start..overlap_end and overlap_size describe the same units
    (for a quantity mismatch, shared and excess), and the API's document says so."""
    from metaregistry.api.openapi import document

    schemas = document(mounted=("alerts",))["components"]["schemas"]
    feed = schemas["FeedAlert"]["properties"]
    assert "shared units plus the excess" in feed["overlap_size"]["description"]
    assert "shared units and the excess" in feed["overlap_end"]["description"]
    assert "excess" in feed["detail"]["description"]
    lookup = schemas["Alert"]["properties"]["overlap"]
    assert "shared units plus the excess" in lookup["description"]


def test_operations_says_how_to_get_from_nothing_to_running() -> None:
    """Issue 22 item 6: where the wheel comes from, the database and role, the key compose
    needs (named where compose is introduced, in both files), one key path throughout."""
    import re

    import yaml

    deploy = Path(__file__).resolve().parents[2] / "deploy"
    guide = (deploy / "OPERATIONS.md").read_text(encoding="utf-8")
    steps = guide.split("## From nothing to running")[1].split("\n## ")[0]
    assert "sh deploy/scripts/build-wheel.sh" in steps
    assert "CREATE ROLE metaregistry LOGIN" in steps and "CREATE DATABASE metaregistry" in steps
    made = re.search(r"METAREGISTRY_LOG__KEY_FILE=(\S+) metaregistry log key", steps)
    used = re.search(r"export METAREGISTRY_LOG__KEY_FILE=(\S+)", steps)
    assert made and used and made.group(1) == used.group(1)  # the key made is the key used
    compose_text = (deploy / "compose.yaml").read_text(encoding="utf-8")
    secret = yaml.safe_load(compose_text)["secrets"]["metaregistry_log_key"]["file"]
    assert secret == "./secrets/log-key.pem"
    header = compose_text.split("\nname:")[0]
    assert "deploy/secrets/log-key.pem" in header and "metaregistry log key" in header
    assert "deploy/secrets/log-key.pem" in steps and "chown 10001:10001" in steps
    assert re.search(r"--uid 10001\b", (deploy / "Dockerfile").read_text(encoding="utf-8"))


def test_no_schema_pattern_is_ever_shown_as_a_regular_expression() -> None:
    """Every pattern in every schema (raw and normalized) fails in words: PATTERN_WORDS or
    the first part of the field's description, a phrase ('a whole number'), never the regex."""
    import json
    from types import SimpleNamespace

    from metaregistry.schemas import _message, schema_root

    def patterns(node: object) -> Iterator[dict[str, Any]]:
        if isinstance(node, dict):
            if isinstance(node.get("pattern"), str):
                yield node
            for value in node.values():
                yield from patterns(value)
        elif isinstance(node, list):
            for value in node:
                yield from patterns(value)

    root = Path(str(schema_root()))
    seen = 0
    for path in sorted(root.rglob("*.schema.json")):
        for node in patterns(json.loads(path.read_text(encoding="utf-8"))):
            err = SimpleNamespace(validator="pattern", validator_value=node["pattern"], schema=node)
            words = _message(err)
            seen += 1
            assert node["pattern"] not in words, (path.name, words)
            assert words.startswith("is not ") and words[7].islower(), (path.name, words)
            assert "^" not in words and "\\" not in words, (path.name, words)
    assert seen > 100


def test_sync_says_what_detection_did_in_a_sentence_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Like import: after the per-connector lines, detection's figures as a sentence (and
    'sync --json' carries them for scripts)."""
    import json

    from metaregistry import sync

    detection = {"mode": "incremental", "blocks_checked": 12, "alerts_opened": 1}
    detection |= {"alerts_updated": 0, "alerts_resolved": 0, "links_found": 2}

    async def fake_sync(*_args: object, **_kwargs: object) -> sync.SyncReport:
        source = sync.SourceReport("verra", pages=1, seen=12, distinct=12, written=12)
        return sync.SyncReport([source], detection=detection, checkpoint="origin\n12\nroot\n")

    monkeypatch.setattr(sync, "sync_connectors", fake_sync)
    env = {
        "METAREGISTRY_DATABASE_URL": f"sqlite:///{tmp_path / 'index.db'}",
        "METAREGISTRY_CONNECTORS__VERRA__BASE_URL": "http://127.0.0.1:9",
    }
    people = CliRunner().invoke(main, ["sync", "verra"], env=env)
    assert people.exit_code == 0, people.output
    assert (
        "detection (incremental): checked 12 blocks; 1 alert opened, 0 updated, 0 resolved; "
        "2 legitimate links." in people.stdout
    )
    scripts = CliRunner().invoke(main, ["sync", "verra", "--json"], env=env)
    assert json.loads(scripts.stdout)["detection"] == detection
