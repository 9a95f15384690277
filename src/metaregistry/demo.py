"""``metaregistry demo``: the whole system on one machine, in one command.

It generates a world with every pattern of DOMAIN.md planted, starts the five mock registries
as real processes on real ports (with faults on), syncs every connector into SQLite, imports
the registries outside the five through their own connectors (ACR's and CAR's reports, Regen's
C01 batch table, CARB's issuance table) or, where no public export of theirs is modelled
(Toucan, the CDM registry, and what a registry's files cannot state by serial), through
``generic``, prints a
summary, and keeps the daemon and the lookup API running until Ctrl-C (``--once``: exit after
the summary). Everything lives under ``--dir`` (default ``./.demo``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any, Final

import click
import sqlalchemy as sa

from metaregistry import plugins
from metaregistry.index import store
from metaregistry.index.db import create_engine, migrate
from metaregistry.ingest import ingest_records, max_version_id
from metaregistry.progress import Progress
from metaregistry.settings import Settings

__all__ = ["MOCKS", "demo_command"]

#: The mock registries the demo starts, with the connector that syncs each.
MOCKS = ("verra", "gold-standard", "srn-ppi", "tccr", "jcm")
DEMO_FAULTS = "429=0.02,5xx=0.02,slow=0.01,truncate=0.01,repeat=0.01,malformed=0.001"


def _options_from_environment() -> dict[str, str]:
    """The connectors' own options set in the environment
    (``METAREGISTRY_CONNECTORS__SRN_PPI__PAGE_SIZE=100``): the demo honours them; it never
    takes a base URL, token or schedule from there (those would point it away from its
    mocks), nor any other setting."""
    import os

    prefix = "METAREGISTRY_CONNECTORS__"
    engine_keys = ("BASE_URL", "TOKEN", "SCHEDULE")
    return {
        k: v
        for k, v in os.environ.items()
        if k.upper().startswith(prefix) and k.upper().rpartition("__")[2] not in engine_keys
    }


def _settings(
    base: Path,
    urls: dict[str, str],
    tokens: dict[str, str],
    port: int,
    schedule: str = "interval:2m",
) -> Settings:
    from metaregistry.settings import load_settings

    # absolute paths: the settings file works with --config from any directory
    where = base.resolve()
    raw: dict[str, Any] = {
        "database_url": f"sqlite:///{where / 'metaregistry.db'}",
        "log": {"key_file": str(where / "log-key.pem"), "origin": "demo.metaregistry.local/log"},
        "api": {"host": "127.0.0.1", "port": port, "rate_limit": 50, "burst": 100},
        "connectors": {
            name: {
                "base_url": url,
                "token": tokens[name],
                "schedule": schedule,
                "timeout": 600,
            }
            for name, url in urls.items()
        },
    }
    import tomli_w

    config = base / "metaregistry.toml"
    config.write_text(tomli_w.dumps(raw), encoding="utf-8")
    return load_settings(config, environ=_options_from_environment())


#: The world's folders of file-only registries, each read by the connector of its name, and
#: the files it holds there.
FILE_IMPORTS: Final = (
    ("acr", "*.csv"),
    ("car", "*.csv"),
    ("regen", "*.csv"),
    ("carb", "*.csv"),
    ("generic", "*.ndjson"),
)


def _import_files(engine: sa.Engine, world: Path) -> dict[str, tuple[int, int]]:
    """Each file-only registry's files through its connector, as ``metaregistry import``
    reads them; per connector (records seen, quarantined)."""
    out: dict[str, tuple[int, int]] = {}
    for name, pattern in FILE_IMPORTS:
        connector = plugins.load(name)
        seen = quarantined = 0
        for path in sorted((world / name).glob(pattern)):
            report = ingest_records(engine, connector, connector.read_file(path))
            seen += report.seen
            quarantined += report.quarantined
        out[name] = (seen, quarantined)
    return out


def summary(engine: sa.Engine) -> dict[str, Any]:
    """Per registry: blocks, units, quarantined; alerts by kind."""
    ub = store.unit_block
    q = store.quarantine_table
    out: dict[str, Any] = {"registries": {}, "quarantined": {}, "alerts": {}, "links": {}}
    with engine.connect() as conn:
        for registry, blocks, units in conn.execute(
            sa.select(ub.c.registry, sa.func.count(), sa.func.sum(ub.c.quantity))
            .group_by(ub.c.registry)
            .order_by(ub.c.registry)
        ):
            out["registries"][registry] = {"blocks": int(blocks), "units": int(units or 0)}
        for connector, count in conn.execute(
            sa.select(q.c.connector, sa.func.count())
            .where(q.c.resolved_at.is_(None))
            .group_by(q.c.connector)
        ):
            out["quarantined"][connector] = int(count)
        try:
            from metaregistry.detect import tables as detect_tables

            alert = detect_tables.AlertRow.__table__  # type: ignore[attr-defined]
            link = detect_tables.BlockLinkRow.__table__  # type: ignore[attr-defined]
            out["alerts"] = dict(
                Counter(
                    {
                        k: int(n)
                        for k, n in conn.execute(
                            sa.select(alert.c.kind, sa.func.count()).group_by(alert.c.kind)
                        )
                    }
                )
            )
            out["links"] = {
                k: int(n)
                for k, n in conn.execute(
                    sa.select(link.c.kind, sa.func.count()).group_by(link.c.kind)
                )
            }
        except (ImportError, AttributeError):
            pass
    return out


def _print_summary(data: dict[str, Any]) -> None:
    click.echo("\nregistry               blocks          units")
    for registry, row in data["registries"].items():
        click.echo(f"  {registry:<18} {row['blocks']:>9,} {row['units']:>15,}")
    click.echo(
        "quarantined: " + (", ".join(f"{k}={v}" for k, v in data["quarantined"].items()) or "none")
    )
    click.echo(
        "alerts:      "
        + (", ".join(f"{k}={v}" for k, v in sorted(data["alerts"].items())) or "none")
    )
    click.echo(
        "links:       "
        + (", ".join(f"{k}={v}" for k, v in sorted(data["links"].items())) or "none")
    )


@click.command("demo")
@click.option("--records", default=20_000, show_default=True, help="Size of the generated world.")
@click.option("--seed", default=2026, show_default=True)
@click.option(
    "--dir", "base", default=Path(".demo"), type=click.Path(file_okay=False, path_type=Path)
)
@click.option("--port", default=8080, show_default=True, help="Port of the lookup API.")
@click.option("--faults", default=DEMO_FAULTS, show_default=True, help="Faults the mocks inject.")
@click.option("--once", is_flag=True, help="Sync, print the summary and exit.")
@click.option(
    "--schedule",
    default="interval:2m",
    show_default=True,
    help="How often the daemon syncs each registry again after the first sync.",
)
@click.option("--fresh/--keep", default=True, help="Start from an empty directory (default).")
def demo_command(
    records: int,
    seed: int,
    base: Path,
    port: int,
    faults: str,
    once: bool,
    schedule: str,
    fresh: bool,
) -> None:
    """Generate a world, start the mock registries, sync, detect, serve the lookup API."""
    from metaregistry.mock.server import spawn
    from metaregistry.mock.world import generate_world
    from metaregistry.settings import ConfigError, load_settings
    from metaregistry.sync import sync_connectors

    try:  # a bad option stops the demo here, before anything runs
        load_settings(None, environ=_options_from_environment())
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from exc
    if not once:  # a busy port stops it here too, not after a minute of setup
        from metaregistry.netcheck import PortBusyError, check_port

        try:
            check_port("127.0.0.1", port, how="--port N (python3 run.py demo --port 8090)")
        except PortBusyError as exc:
            raise click.ClickException(str(exc)) from None
    if fresh and base.exists():
        shutil.rmtree(base)
    base.mkdir(parents=True, exist_ok=True)
    world = base / "world"
    if not (world / "truth.json").exists():
        click.echo(f"generating a world of {records:,} records (seed {seed}) in {world}", err=True)
        generate_world(seed, records, world)
    tokens = {name: f"demo-token-{name}" for name in MOCKS}
    with contextlib.ExitStack() as stack:
        urls: dict[str, str] = {}
        for name in MOCKS:
            mock = stack.enter_context(spawn(name, world, faults=faults, token=tokens[name]))
            urls[name] = mock.url
            click.echo(f"mock {name:<14} {mock.url}", err=True)
        settings = _settings(base, urls, tokens, port, schedule)
        engine = create_engine(settings.database_url)
        migrate(engine)
        with engine.connect() as conn:
            since = max_version_id(conn)
        for name, (seen, bad) in _import_files(engine, world).items():
            what = "Toucan, the CDM registry and moves" if name == "generic" else "its files"
            click.echo(f"{name}: imported {seen:,} records of {what} ({bad} quarantined)", err=True)
        with Progress("syncing") as progress:
            report = asyncio.run(
                sync_connectors(
                    engine, settings, list(MOCKS), progress=progress.sync_callback(), detect=False
                )
            )
        for source in report.sources:
            click.echo(
                f"  {source.connector:<14} {source.outcome:<7} {source.seen:>8,} records "
                f"{source.pages:>5} {'page ' if source.pages == 1 else 'pages'} "
                f"{source.quarantined:>4} quarantined "
                f"{source.seconds:6.1f}s" + (f"  ({source.error})" if source.error else "")
            )
        from metaregistry.sync import detect_and_checkpoint

        detect_and_checkpoint(engine, settings, since)
        _print_summary(summary(engine))
        (base / "summary.json").write_text(json.dumps(summary(engine), indent=2))
        _print_next_steps(base, engine, settings, port, once)
        if once:
            return
        from metaregistry.daemon import Daemon

        click.echo(f"\nlookup API and web page: http://127.0.0.1:{port}/   (Ctrl-C to stop)")
        sys.stdout.flush()

        async def run() -> None:
            daemon = Daemon(engine=engine, settings=settings, names=list(MOCKS))
            await daemon.run(serve_api=True, run_now=False)

        asyncio.run(run())
        from metaregistry.stopping import stop_on_sigterm

        stop_on_sigterm()  # asyncio restored the default: a SIGTERM now still stops the mocks


def _print_next_steps(
    base: Path, engine: sa.Engine, settings: Settings, port: int, once: bool
) -> None:
    """The commands that work on the demo's index right after it, exactly as typed."""
    from metaregistry.log.keyfile import FileSigner
    from metaregistry.log.note import key_text

    # verify needs the log's public key: the demo publishes it beside its index
    public = base / "log-public.txt"
    signer = FileSigner.open(settings.log_key_path(), settings.log.origin)
    public.write_text(key_text(signer), encoding="utf-8")
    ub = store.unit_block
    with engine.connect() as conn:
        serial = conn.execute(
            sa.select(ub.c.serial).where(ub.c.registry == "verra").order_by(ub.c.id).limit(1)
        ).scalar()
    config = base / "metaregistry.toml"
    cli = "python3 run.py metaregistry"
    # Run beside the demo's folder the CLI finds its settings by itself; elsewhere, --config.
    where = "" if base == Path(".demo") else f" --config {config}"
    lines = [
        "",
        "next, on the demo's index (settings in " + str(config) + "):",
        f"  {cli}{where} lookup '{serial}'" if serial else f"  {cli}{where} lookup SERIAL",
        f"  {cli}{where} alerts",
        f"  {cli}{where} reconcile",
        f"  {cli}{where} quarantine list",
        f"  {cli} verify --key {public} --url http://127.0.0.1:{port}" if not once else "",
    ]
    click.echo("\n".join(line for line in lines if line))


def register(group: click.Group) -> None:
    group.add_command(demo_command)
