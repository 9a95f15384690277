"""``metaregistry serve`` (the public API alone) and ``metaregistry lookup`` (the same answer
in the terminal)."""

from __future__ import annotations

import dataclasses
import json
import logging
import multiprocessing
import os
import shutil
import signal
import sys
import tempfile
from collections.abc import Sequence
from typing import Any, Final, NoReturn

import click
from aiohttp import web

from metaregistry.api.errors import ApiError
from metaregistry.api.metrics import MULTIPROCESS_ENV
from metaregistry.cli import settings_of
from metaregistry.settings import Settings
from metaregistry.wording import counted

__all__ = ["register"]

_log = logging.getLogger(__name__)
#: Logged by each API process once it listens (startup, proof cache included, is done).
SERVING_LINE: Final = "API process serving"


def register(group: click.Group) -> None:
    group.add_command(serve_command)
    group.add_command(lookup_command)


@click.command("serve")
@click.option("--host", default=None, help="Address to listen on (default: [api] host).")
@click.option("--port", type=int, default=None, help="Port (default: [api] port).")
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=1,
    show_default=True,
    help="Processes sharing the port (SO_REUSEPORT); each has its own connections.",
)
@click.option("--no-rate-limit", is_flag=True, help="Lift the per-client rate limit (benchmarks).")
@click.pass_context
def serve_command(
    ctx: click.Context, host: str | None, port: int | None, workers: int, no_rate_limit: bool
) -> None:
    """Serve the public lookup API over the index, read-only.

    Any number of API processes (here or on other hosts) can serve one database while a
    daemon writes it.
    """
    settings = _with_overrides(settings_of(ctx), host, port, no_rate_limit)
    config = settings.api
    from metaregistry.netcheck import PortBusyError, check_port

    try:
        check_port(config.host, config.port, how="--port N, or [api] port (METAREGISTRY_API__PORT)")
    except PortBusyError as exc:
        raise click.ClickException(str(exc)) from None
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    limit = "off" if config.rate_limit == 0 else f"{config.rate_limit:g}/s, burst {config.burst:g}"
    click.echo(
        f"metaregistry API on http://{config.host}:{config.port}/ ({workers} worker"
        f"{'s' if workers > 1 else ''}, rate limit {limit})",
        err=True,
    )
    if workers == 1:
        _serve(settings, reuse_port=False)
        return
    # The workers keep their metrics in files of one directory, so that any of them can
    # answer /metrics for all (prometheus-client's multiprocess mode; see api/metrics.py).
    own_dir = not os.environ.get(MULTIPROCESS_ENV)
    if own_dir:
        os.environ[MULTIPROCESS_ENV] = tempfile.mkdtemp(prefix="metaregistry-metrics-")
    spawn = multiprocessing.get_context("spawn")
    children = [
        spawn.Process(target=_worker, args=(settings, os.getpid()), name=f"metaregistry-api-{i}")
        for i in range(workers)
    ]
    try:
        _run_workers(children)
    finally:
        if own_dir:
            shutil.rmtree(os.environ.pop(MULTIPROCESS_ENV), ignore_errors=True)


def _run_workers(children: Sequence[multiprocessing.process.BaseProcess]) -> None:
    """Start the workers and wait for them; SIGTERM or SIGINT (at any moment, starting
    included) terminates every worker started, and no other is started."""
    started: list[multiprocessing.process.BaseProcess] = []
    stopping = False

    def stop(signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for child in started:
            if child.is_alive() and child.pid is not None:
                child.terminate()

    # before the first start: a signal while the workers start must reach them too
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for child in children:
        if stopping:
            break
        started.append(child)
        child.start()
        if stopping:  # the signal came while this one started: its pid was not known
            child.terminate()
    for child in started:
        child.join()
    failed = [c.exitcode for c in started if c.exitcode not in (0, -signal.SIGTERM)]
    if failed and not stopping:
        raise click.ClickException(f"API worker(s) exited with {failed}")


def _with_overrides(
    settings: Settings, host: str | None, port: int | None, no_rate_limit: bool
) -> Settings:
    api: dict[str, Any] = {}
    if host is not None:
        api["host"] = host
    if port is not None:
        api["port"] = port
    if no_rate_limit:
        api["rate_limit"] = 0
    return settings.model_copy(update={"api": settings.api.model_copy(update=api)})


def _worker(settings: Settings, parent: int) -> None:
    # A spawned process starts clean: it gets the parent's checked settings (pickled).
    from metaregistry.stopping import die_with_parent

    die_with_parent(parent)  # a parent killed outright (SIGKILL) takes its workers with it
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    _serve(settings, reuse_port=True)


def _serve(settings: Settings, *, reuse_port: bool) -> None:
    from metaregistry.api.app import IndexMissingError, create_app

    config = settings.api
    try:
        app = create_app(settings, signer=_signer(settings))
    except IndexMissingError as exc:
        raise click.ClickException(str(exc)) from exc
    web.run_app(
        app,
        host=config.host,
        port=config.port,
        reuse_port=reuse_port or None,
        access_log=None,
        print=lambda _: _log.info(
            "%s %d on http://%s:%d/", SERVING_LINE, os.getpid(), config.host, config.port
        ),
        handle_signals=True,
    )


def _signer(settings: Settings) -> Any:
    """The log's key when its file exists (only the public half is served); the API never
    creates a key: the daemon does, on first sync."""
    path = settings.log_key_path()
    if not path.is_file():
        return None
    from metaregistry.log.keyfile import FileSigner, KeyFileError

    try:
        return FileSigner.open(path, settings.log.origin)
    except (KeyFileError, OSError, ValueError) as exc:
        _log.warning("log key %s not loaded (GET /v1/log/key will not answer): %s", path, exc)
        return None


@click.command("lookup")
@click.argument("serial")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answer.")
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=100,
    show_default=True,
    help="Most blocks to show.",
)
@click.pass_context
def lookup_command(ctx: click.Context, serial: str, as_json: bool, limit: int) -> None:
    """Where do the units of SERIAL live? Every registry's blocks holding any of them.

    SERIAL is a registry's serial as published, or units as scheme:scope:number
    (vcs::941467100) or scheme:scope:start-end. Exit status: 0 found, 1 not found, 2 when
    SERIAL cannot be read, 3 when the index disagrees with its log (a rewritten row: the
    answer is refused, naming the record; `metaregistry audit` lists every such row).
    """
    from metaregistry.api.app import IndexMissingError, detect_features
    from metaregistry.api.lookup import lookup
    from metaregistry.api.proofs import ONE_LOOKUP_PROOF_ENTRIES, NodeCache
    from metaregistry.api.reader import Reader
    from metaregistry.api.unit_query import read_query
    from metaregistry.index.db import create_engine

    settings = settings_of(ctx)
    config = settings.api
    try:
        query = read_query(serial, max_length=config.max_serial_length)
    except ApiError as error:
        _fail(error, as_json, 2)
    engine = create_engine(settings.database_url, readonly=True)
    try:
        # One lookup: a small proof cache, whose few upper levels load in milliseconds
        # (the server's large one loads the whole tree once, at startup).
        features = dataclasses.replace(
            detect_features(engine), nodes=NodeCache(entries=ONE_LOOKUP_PROOF_ENTRIES)
        )
        reader = Reader(engine, threads=1, timeout=max(config.query_timeout, 30.0))
        try:
            answer = reader.call(lookup, query, limit=limit, features=features)
        finally:
            reader.close()
    except IndexMissingError as exc:
        raise click.ClickException(str(exc)) from exc
    except ApiError as error:  # integrity_error: a row the log does not back
        _fail(error, as_json, 3)
    finally:
        engine.dispose()
    if answer is None:
        units = f"{query.start}" if query.start == query.end else f"{query.start}-{query.end}"
        _fail(
            ApiError(
                404,
                "not_found",
                f"no registry in the index holds units {units} of "
                f"scheme {query.scheme!r}, scope {query.scope!r}",
                field="serial",
                value=query.text,
            ),
            as_json,
            1,
        )
    if as_json:
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        click.echo(_readable(answer))


def _fail(error: ApiError, as_json: bool, code: int) -> NoReturn:
    if as_json:
        click.echo(json.dumps(error.body(), indent=2, ensure_ascii=False))
    else:
        click.echo(f"Error: {error.message}", err=True)
        if error.hint:
            click.echo(f"Hint: {error.hint}", err=True)
    sys.exit(code)


def _readable(answer: dict[str, Any]) -> str:
    query = answer["query"]
    summary = answer["summary"]
    units = (
        f"{query['block_start']:,}"
        if query["block_start"] == query["block_end"]
        else f"{query['block_start']:,}-{query['block_end']:,}"
    )
    lines = [
        f"{query['serial']}",
        f"  units {units} of scheme {query['scheme']!r}, scope {query['scope']!r} "
        f"({query['quantity']:,} units, read as {query['family']})",
        f"  held in {counted(len(summary['registries']), 'registry', 'registries')}, "
        f"{counted(summary['blocks'], 'block')}, {counted(summary['open_alerts'], 'open alert')}",
        "",
    ]
    for block in answer["blocks"]:
        overlap = block["overlap"]
        # numbering 'own': the record states a quantity, not unit numbers (issue 16)
        span = (
            f"{'own count':>14} {block['quantity']:<14,}"
            if block.get("numbering") == "own"
            else f"{block['block_start']:>14,}-{block['block_end']:<14,}"
        )
        lines.append(
            f"{block['registry']:<16} {block['status']:<11} {span} "
            f"(matching {overlap['quantity']:,}) v{block['version']}  {block['serial']}"
        )
        for link in block["links"]:
            lines.append(
                f"    {link['relation']}: {link['registry']} {link['serial']} ({link['status']})"
            )
        for alert in block["alerts"]:
            lines.append(
                f"    ALERT {alert['kind']} ({alert['severity']}, {alert['status']}): "
                f"{alert.get('explanation') or alert['id']}"
            )
        proof = block["proof"]
        if proof is not None and not proof["pending"]:
            lines.append(
                f"    logged as leaf {proof['leaf_index']} (proof of "
                f"{len(proof['hashes'])} hashes, tree size {proof['tree_size']})"
            )
    if answer["next_cursor"]:
        lines.append("... more blocks: use --limit or the API's cursor")
    return "\n".join(lines)
