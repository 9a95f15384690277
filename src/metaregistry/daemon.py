"""``metaregistry daemon``: APScheduler wiring only; ``sync`` owns everything else.

Each connector with a ``schedule`` (``interval:30m``, ``interval:6h``, ``cron:0 */6 * * *``;
default ``interval:1h``) gets its own job. Job options are chosen on purpose:

* ``max_instances=1``: a connector never syncs twice at once in one process (across processes
  the sync's own lock decides);
* ``coalesce=True``: runs missed while the daemon was down or busy collapse into one;
* ``misfire_grace_time``: a run up to that late still happens (a whole sync catches up anyway).

Every sync runs in its own task under its own timeout, so a slow or failing source never
delays another. Detection and the checkpoint run after each sync, one at a time. SIGTERM or
SIGINT stops the scheduler, lets each running sync commit the page in flight, and exits 0.
Unless ``--no-api``, the lookup API is served from the same process.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from dataclasses import dataclass, field
from typing import Any

import click
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.engine import Engine

from metaregistry import plugins
from metaregistry.cli import settings_of
from metaregistry.ingest import max_version_id
from metaregistry.settings import ConfigError, Settings
from metaregistry.sync import (
    LogKeyError,
    SourceReport,
    connector_timeout,
    default_owner,
    detect_and_checkpoint,
    log_signer,
    sync_connector,
)

__all__ = ["Daemon", "daemon_command", "parse_schedule"]

log = logging.getLogger("metaregistry.daemon")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_schedule(text: str | None) -> BaseTrigger:
    """``interval:90s|30m|6h|1d`` or ``cron:<five crontab fields>`` (UTC)."""
    text = (text or "interval:1h").strip()
    kind, _, spec = text.partition(":")
    if kind == "interval" and spec[:-1].isdigit() and spec[-1:] in _UNITS:
        return IntervalTrigger(seconds=int(spec[:-1]) * _UNITS[spec[-1]], timezone="UTC")
    if kind == "cron":
        try:
            return CronTrigger.from_crontab(spec, timezone="UTC")
        except ValueError as exc:
            raise ConfigError(f"schedule {text!r}: {exc}") from exc
    raise ConfigError(f"schedule {text!r}: expected interval:<n>[smhd] or cron:<crontab>")


@dataclass
class Daemon:
    engine: Engine
    settings: Settings
    names: list[str]
    owner: str = field(default_factory=default_owner)
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    reports: list[SourceReport] = field(default_factory=list)
    connectors: dict[str, Any] = field(default_factory=dict)  # overrides entry points
    closers: list[Any] = field(default_factory=list)
    _post_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _running: set[asyncio.Task[Any]] = field(default_factory=set)

    async def sync_one(self, name: str) -> SourceReport:
        task = asyncio.current_task()
        if task is not None:
            self._running.add(task)
            task.add_done_callback(self._running.discard)
        if self.stop.is_set():
            return SourceReport(connector=name, outcome="stopped")
        config = self.settings.connector(name)
        since = await asyncio.to_thread(self._since)
        try:
            # a wrong key stops this sync before anything is written (it would otherwise
            # store the records and fail to sign the checkpoint that covers them)
            await asyncio.to_thread(log_signer, self.engine, self.settings)
            connector = self.connectors.get(name) or plugins.load(name)
            report = await asyncio.wait_for(
                sync_connector(
                    self.engine,
                    connector,
                    config,
                    owner=self.owner,
                    stop=self.stop,
                ),
                timeout=connector_timeout(config),
            )
        except TimeoutError:
            report = SourceReport(connector=name, outcome="timeout", error="sync timed out")
        except LogKeyError as exc:
            report = SourceReport(connector=name, outcome="failed", error=str(exc))
        except Exception as exc:  # this source's failed report; the other jobs go on
            report = SourceReport(
                connector=name, outcome="failed", error=f"{type(exc).__name__}: {exc}"
            )
        log.info(
            "sync %s: %s pages=%d seen=%d distinct=%d written=%d quarantined=%d %s",
            name,
            report.outcome,
            report.pages,
            report.seen,
            report.distinct,
            report.written,
            report.quarantined,
            report.error or "",
        )
        self.reports.append(report)
        # also when nothing was written but detection is behind: records a dead run (this
        # daemon's or another's) stored and never checked are checked now, not at the next
        # change of the source
        if report.written or report.withdrawn or await asyncio.to_thread(self._behind):
            async with self._post_lock:
                await asyncio.to_thread(detect_and_checkpoint, self.engine, self.settings, since)
        return report

    def _since(self) -> int:
        with self.engine.connect() as conn:
            return max_version_id(conn)

    def _behind(self) -> bool:
        """Whether versions exist that no detection run has checked."""
        from metaregistry.detect.engine import last_run

        with self.engine.connect() as conn:
            checked, newest = last_run(conn), max_version_id(conn)
        return newest > (checked or 0)

    def scheduler(self, *, run_now: bool = True) -> AsyncIOScheduler:
        """The jobs: one per connector, first run now (``run_now``) or at its trigger's first
        fire time, and the webhook delivery when webhooks are configured."""
        scheduler = AsyncIOScheduler(timezone="UTC")
        for name in self.names:
            trigger = parse_schedule(self.settings.connector(name).schedule)
            # APScheduler 3 reads ``next_run_time=None`` as "add the job paused": leave it out
            # to start on the trigger's first tick (a paused job never runs).
            first: dict[str, Any] = {"next_run_time": _now()} if run_now else {}
            scheduler.add_job(
                self.sync_one,
                trigger,
                args=[name],
                id=f"sync:{name}",
                name=f"sync {name}",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=300,
                **first,
            )
        deliverer = _webhook_job(self)
        if deliverer is not None:
            scheduler.add_job(
                deliverer,
                IntervalTrigger(seconds=5),
                id="webhooks",
                max_instances=1,
                coalesce=True,
                misfire_grace_time=30,
            )
        return scheduler

    async def run(self, *, serve_api: bool = True, run_now: bool = True) -> None:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(sig, self.stop.set)
        scheduler = self.scheduler(run_now=run_now)
        scheduler.start()
        runner = await _start_api(self.settings) if serve_api else None
        try:
            await self.stop.wait()
        finally:
            scheduler.pause()
            # Running syncs watch ``stop``: each commits its page in flight, then returns.
            # Wait for them before shutting the scheduler down, which would cancel them.
            if self._running:
                await asyncio.wait(set(self._running), timeout=120)
            scheduler.shutdown(wait=False)
            for close in self.closers:
                await close()
            if runner is not None:
                await runner.cleanup()


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


def _webhook_job(daemon: Daemon) -> Any:
    """A scheduler job delivering alert events to the configured webhooks; the config is
    checked here, at start-up, not in the first run."""
    if not daemon.settings.webhooks:
        return None
    from metaregistry.feed.webhooks import WebhookDeliverer

    deliverer = WebhookDeliverer(daemon.engine, daemon.settings, owner=daemon.owner)
    daemon.closers.append(deliverer.aclose)
    return deliverer.run_once


async def _start_api(settings: Settings) -> Any:
    from aiohttp import web

    from metaregistry.api.app import create_app

    app = create_app(settings)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    host, port = settings.api.host, settings.api.port
    await web.TCPSite(runner, host, port).start()
    click.echo(f"lookup API on http://{host}:{port}/", err=True)
    return runner


@click.command("daemon")
@click.argument("names", nargs=-1)
@click.option("--no-api", is_flag=True, help="Do not serve the lookup API from this process.")
@click.option("--no-initial-run", is_flag=True, help="Wait for each schedule's first tick.")
@click.pass_context
def daemon_command(
    ctx: click.Context, names: tuple[str, ...], no_api: bool, no_initial_run: bool
) -> None:
    """Sync connectors on their schedules until SIGTERM/SIGINT."""
    from metaregistry.sync.cli import writer_engine

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    settings = settings_of(ctx)
    chosen = list(names) or [n for n, c in settings.connectors.items() if c.base_url]
    if not chosen:
        raise click.ClickException("no connector to schedule: configure [connectors.NAME]")
    for name in chosen:
        parse_schedule(settings.connector(name).schedule)  # fail fast on a bad schedule
    if not no_api:  # a busy port is one line before any work, not a traceback after (issue 22)
        from metaregistry.netcheck import PortBusyError, check_port

        how = "[api] port (METAREGISTRY_API__PORT), or --no-api"
        try:
            check_port(settings.api.host, settings.api.port, how=how)
        except PortBusyError as exc:
            raise click.ClickException(str(exc)) from None
    engine = writer_engine(ctx)
    try:
        log_signer(engine, settings)  # a wrong key: one line, before any job starts
    except LogKeyError as exc:
        raise click.ClickException(str(exc)) from exc

    async def main() -> None:
        daemon = Daemon(engine=engine, settings=settings, names=chosen)
        await daemon.run(serve_api=not no_api, run_now=not no_initial_run)

    asyncio.run(main())
    click.echo("daemon stopped", err=True)


def register(group: click.Group) -> None:
    group.add_command(daemon_command)
