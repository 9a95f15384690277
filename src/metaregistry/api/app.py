"""The public API as one aiohttp application: lookups, the alert feed, the log, a web page.

:func:`create_app` wires the lookup routes (``routes.py``), the web page (``page.py``) and
``/openapi.json``, and mounts the route modules of other areas when they are installed:
``metaregistry.feed.routes`` (``/v1/alerts...``) and ``metaregistry.api.log_routes``
(``/v1/log/...``). Every request passes one middleware (``gate.py``): metrics, CORS
preflight, the size and rate limits, and errors (every failure becomes the JSON body of
``errors.py``).

The database is only read, through the read-only engine (SQLite opened ``mode=ro``,
PostgreSQL sessions ``default_transaction_read_only``), so any number of API processes can
serve one index while a daemon writes it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import gc
import importlib
import importlib.util
import json
import logging
import time
from pathlib import Path
from typing import Any, Final
from urllib.parse import unquote

import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.engine import Engine

from metaregistry import httplog
from metaregistry.api import openapi, page, proofs, routes
from metaregistry.api.answers import AnswerCache, serial_answer
from metaregistry.api.batches import Batcher
from metaregistry.api.gate import gate_middleware
from metaregistry.api.keys import ENGINE_KEY, READER_KEY, SETTINGS_KEY, SIGNER_KEY
from metaregistry.api.limits import CorsPolicy, TokenBucket, cors_on_prepare
from metaregistry.api.lookup import Features
from metaregistry.api.metrics import RequestMetrics
from metaregistry.api.proofs import NodeCache
from metaregistry.api.reader import Reader
from metaregistry.api.registries import IndexStats
from metaregistry.api.state import (
    ANSWERS_KEY,
    BATCHES_KEY,
    CONFIG_KEY,
    FEATURES_KEY,
    METRICS_KEY,
    OPENAPI_KEY,
    STATS_KEY,
)
from metaregistry.index.db import create_engine
from metaregistry.settings import Settings

__all__ = ["IndexMissingError", "create_app", "mounted_modules"]

_log = logging.getLogger(__name__)


#: Route modules of other areas, mounted when installed: (module, feature name).
MOUNTABLE: Final = (("metaregistry.feed.routes", "alerts"), ("metaregistry.api.log_routes", "log"))
_WARM_WAIT: Final = 30.0  # seconds startup waits for the proof cache to load


class IndexMissingError(RuntimeError):
    """The database has no index tables: nothing has been synced into it yet."""


def create_app(
    settings: Settings, *, engine: Engine | None = None, signer: Any = None
) -> web.Application:
    """The API over the index of ``settings`` (or over ``engine``, a read-only engine the
    caller owns). ``signer`` is the log's Signer; only its public key is ever served."""
    httplog.install()  # requests aiohttp's parser refuses: one line each, rate-limited
    config = settings.api
    owned = engine is None
    if engine is None:
        engine = create_engine(settings.database_url, readonly=True)
    try:
        features = dataclasses.replace(
            detect_features(engine), nodes=NodeCache.of_megabytes(config.proof_cache_mb)
        )
    except Exception:
        if owned:
            engine.dispose()
        raise
    reader = Reader(engine, threads=config.db_threads, timeout=config.query_timeout)
    request_metrics = RequestMetrics()
    cors = CorsPolicy(config.cors_origins)
    app = web.Application(
        middlewares=[
            gate_middleware(
                metrics=request_metrics,
                cors=cors,
                max_body_bytes=config.max_body_bytes,
                bucket=TokenBucket(config.rate_limit, config.burst),
                trust_forwarded_for=config.trust_forwarded_for,
            )
        ],
        client_max_size=max(config.max_body_bytes, 1024),
    )
    app[ENGINE_KEY] = engine
    app[SETTINGS_KEY] = settings
    app[SIGNER_KEY] = signer
    app[READER_KEY] = reader
    app[CONFIG_KEY] = config
    app[FEATURES_KEY] = features
    app[METRICS_KEY] = request_metrics
    answers = app[ANSWERS_KEY] = AnswerCache(int(config.answer_cache_mb * 2**20))
    batches = app[BATCHES_KEY] = Batcher(reader, serial_answer)
    for name, help, read in (
        ("answer_cache_hits", "Lookups answered from the answer cache.", lambda: answers.hits),
        ("answer_cache_misses", "Lookups computed (cache on, no answer).", lambda: answers.misses),
        (
            "lookup_batches",
            "Batches of lookups run, each in one read transaction.",
            lambda: batches.batches,
        ),
        (
            "lookup_batched",
            "Lookups run in those batches (over the batches: the mean batch size).",
            lambda: batches.calls,
        ),
    ):
        request_metrics.track(f"metaregistry_{name}", help, read)
    app[STATS_KEY] = IndexStats(
        reader, sorted(settings.connectors), ttl=config.stats_ttl, with_log=features.log
    )
    app.on_response_prepare.append(cors_on_prepare(cors))

    routes.add_routes(app)
    mounted = mounted_modules(features)
    for name in mounted:
        importlib.import_module(name).add_routes(app)
    page.add_routes(app)
    document = openapi.document(
        mounted=[feature for module, feature in MOUNTABLE if module in mounted]
    )
    app[OPENAPI_KEY] = json.dumps(document, indent=1).encode()
    app.router.add_get("/openapi.json", _openapi)

    warming: list[asyncio.Task[None]] = []

    async def warm(_: web.Application) -> None:
        if features.log:
            # Before listening (on_startup runs first), so that the first lookups are as
            # fast as the rest; a very large log finishes loading in the background.
            task = asyncio.create_task(_warm_proofs(reader, features))
            warming.append(task)
            await asyncio.wait({task}, timeout=_WARM_WAIT)

    async def close(_: web.Application) -> None:
        for task in warming:
            task.cancel()
        await asyncio.gather(*warming, return_exceptions=True)
        await asyncio.to_thread(reader.close)
        if owned:
            engine.dispose()

    app.on_startup.append(warm)
    app.on_cleanup.append(close)
    return app


async def _warm_proofs(reader: Reader, features: Features) -> None:
    """Load the log's large subtree hashes before the first lookups need them."""
    began = time.monotonic()
    try:
        checkpoint = await reader.run(proofs.latest_checkpoint)
        if checkpoint is None:
            return
        loaded = await reader.run_within(600.0, features.nodes.fill, checkpoint.size)
    except Exception as exc:  # lookups still work, reading nodes as they go
        _log.warning("could not preload log nodes for proofs: %s", exc)
        return
    # The cache is long-lived: keep the collector from walking it on every full collection
    # (those pauses showed up in the lookup latency's tail).
    gc.freeze()
    _log.info("preloaded %d log nodes for proofs in %.1f s", loaded, time.monotonic() - began)


def display_url(engine: Engine) -> str:
    """The database as the user wrote it: a read-only SQLite engine's ``file:...?mode=ro``
    URI shown as the plain ``sqlite:///path`` it was made from; passwords hidden."""
    url = engine.url
    database = url.database or ""
    if url.get_backend_name() == "sqlite" and unquote(database).startswith("file:"):
        path = unquote(database)[len("file:") :].split("?", 1)[0]
        return f"sqlite:///{path}"
    return url.render_as_string(hide_password=True)


def detect_features(engine: Engine) -> Features:
    """Which optional tables the database has; :class:`IndexMissingError` without an index."""
    url = display_url(engine)
    try:
        tables = set(sa.inspect(engine).get_table_names())
    except sa.exc.OperationalError as exc:
        hint = "check database_url, or run `metaregistry sync` once to create the index"
        if Path(".demo/metaregistry.db").is_file():
            hint = (
                "the demo's index is .demo/metaregistry.db: run beside it, or pass "
                "--config .demo/metaregistry.toml"
            )
        raise IndexMissingError(f"cannot open the database {url}: {exc.orig}; {hint}") from exc
    if "unit_block" not in tables:
        raise IndexMissingError(
            f"the database {url} has no index tables; run `metaregistry sync` (or any command "
            "that writes the index) once before serving it"
        )
    return Features(
        log={"log_leaves", "log_nodes", "log_checkpoints"} <= tables,
        alerts={"alert", "alert_side", "alert_event"} <= tables,
        links="block_link" in tables,
        projects={"project_link", "registry_coverage"} <= tables,
    )


def mounted_modules(features: Features) -> list[str]:
    """The other areas' route modules that are installed and whose tables exist."""
    out = []
    for module, feature in MOUNTABLE:
        if getattr(features, feature) and _installed(module):
            out.append(module)
    return out


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ModuleNotFoundError:
        return False


async def _openapi(request: web.Request) -> web.Response:
    return web.Response(body=request.app[OPENAPI_KEY], content_type="application/json")
