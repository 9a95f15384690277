"""Commands around getting data in and out: sync, import, export, quarantine, connectors,
config, daemon, demo."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
from pathlib import Path
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metaregistry import plugins
from metaregistry.cli import open_index, settings_of
from metaregistry.connector import ConnectorError, ConnectorOptions
from metaregistry.index import store
from metaregistry.ingest import PageResult, ingest_records, max_version_id
from metaregistry.preparers import Preparers, PreparingError, default_jobs, reader_url
from metaregistry.progress import Progress
from metaregistry.settings import mask_secrets
from metaregistry.wording import counted

__all__ = ["register", "writer_engine"]


def writer_engine(ctx: click.Context) -> Engine:
    return open_index(ctx)


@click.command("sync")
@click.argument("names", nargs=-1)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--no-detect", is_flag=True, help="Skip detection after the sync.")
@click.pass_context
def sync_command(
    ctx: click.Context, names: tuple[str, ...], as_json: bool, no_detect: bool
) -> None:
    """Sync the named connectors (default: every one configured with a base_url)."""
    from metaregistry.sync import LogKeyError, SyncReport, sync_connectors

    settings = settings_of(ctx)
    engine = writer_engine(ctx)
    progress = Progress("sync")

    async def run() -> SyncReport:
        # SIGTERM (docker stop, systemd, CI) and Ctrl-C stop the sync at the next page
        # boundary: the page in flight is committed, every run row is closed, the lease is
        # released. A second signal stops at once.
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()

        def on_signal(signum: int) -> None:
            if stop.is_set():
                loop.remove_signal_handler(signal.SIGTERM)
                loop.remove_signal_handler(signal.SIGINT)
                signal.raise_signal(signum)
                return
            click.echo(
                f"\n{signal.Signals(signum).name}: stopping after the pages in flight "
                "(again to stop at once)",
                err=True,
            )
            stop.set()

        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, on_signal, signum)
        return await sync_connectors(
            engine,
            settings,
            list(names) or None,
            progress=progress.sync_callback(),
            detect=not no_detect,
            stop=stop,
        )

    try:
        with progress:
            report = asyncio.run(run())
    except (plugins.PluginError, LogKeyError) as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        for source in report.sources:
            line = (
                f"{source.connector:<16} {source.outcome:<8} pages={source.pages} "
                f"seen={source.seen} distinct={source.distinct} written={source.written} "
                f"quarantined={source.quarantined} "
                f"withdrawn={source.withdrawn} ({source.seconds:.1f}s)"
            )
            click.echo(line)
            if source.error:
                click.echo(f"  error: {source.error}")
            for drift in source.drift:
                click.echo(f"  drift: {drift}")
        if report.detection:
            click.echo(detection_sentence(report.detection))
        if report.checkpoint:
            click.echo("checkpoint:\n" + report.checkpoint)
    if not report.sources:
        raise click.ClickException("no connector to sync: configure [connectors.NAME] base_url")
    if not report.ok:
        ctx.exit(1)


def detection_sentence(summary: dict[str, Any]) -> str:
    """What detection (and reconciliation) did after a write, for people; ``--json`` gives
    the figures to scripts."""
    text = (
        f"detection ({summary.get('mode', 'incremental')}): checked "
        f"{counted(int(summary.get('blocks_checked', 0)), 'block')}; "
        f"{counted(int(summary.get('alerts_opened', 0)), 'alert')} opened, "
        f"{summary.get('alerts_updated', 0)} updated, {summary.get('alerts_resolved', 0)} "
        f"resolved; {counted(int(summary.get('links_found', 0)), 'legitimate link')}"
    )
    rec = summary.get("reconcile")
    if isinstance(rec, dict) and "error" in rec:
        text += f"; reconciliation failed: {rec['error']}"
    elif isinstance(rec, dict):
        counts = rec.get("counts", {})
        text += (
            f"; by project: {counts.get('matched', 0)} matched, "
            f"{counts.get('mismatched', 0)} mismatched, {counts.get('pending', 0)} pending, "
            f"{counts.get('unverifiable', 0)} unverifiable"
        )
    a6 = summary.get("article6")
    if isinstance(a6, dict) and a6.get("findings"):
        found = ", ".join(f"{n} {kind}" for kind, n in a6["findings"].items())
        text += f"; Article 6: {found}"
    return text + "."


#: Below this much input, ``import`` prepares in-process unless ``--jobs`` says otherwise:
#: starting preparing processes (about a second) costs more than they save on a few pages.
SMALL_IMPORT_BYTES = 4 << 20


@click.command("import")
@click.argument("connector_name", metavar="CONNECTOR")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--no-detect", is_flag=True, help="Skip detection after the import.")
@click.option(
    "--jobs",
    type=click.IntRange(min=1),
    default=None,
    help=(
        "Processes preparing records (validate, normalize, hash) while this one stores them; "
        "1 prepares in this process. Default: from the CPU count "
        f"({default_jobs()} here), or 1 for files under {SMALL_IMPORT_BYTES >> 20} MiB in all."
    ),
)
@click.option(
    "--complete",
    is_flag=True,
    help=(
        "The FILES are the registry's full export: record that the index holds its complete "
        "record set, so project-level checks may raise alerts on it (refused when a record "
        "was quarantined)."
    ),
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON (for scripts).")
@click.pass_context
def import_command(
    ctx: click.Context,
    connector_name: str,
    files: tuple[Path, ...],
    no_detect: bool,
    jobs: int | None,
    complete: bool,
    as_json: bool,
) -> None:
    """Import export FILES through CONNECTOR. Bad records are quarantined with their reason;
    exits 1 naming them when any was. Ends, like every write, with a signed checkpoint of
    the log, so that what was imported is provable at once."""
    from metaregistry.repeats import repeated_records
    from metaregistry.sync import LogKeyError, detect_and_checkpoint, log_signer, publish_checkpoint

    try:
        connector = plugins.load(connector_name)
    except plugins.PluginError as exc:
        raise click.ClickException(str(exc)) from exc
    if jobs is None:
        small = sum(path.stat().st_size for path in files) < SMALL_IMPORT_BYTES
        jobs = 1 if small else default_jobs()
    settings = settings_of(ctx)
    engine = writer_engine(ctx)
    try:
        log_signer(engine, settings)  # a wrong key stops the import before anything is written
    except LogKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    with engine.connect() as conn:
        since = max_version_id(conn)
    totals = {"seen": 0, "written": 0, "unchanged": 0}
    failures: list[str] = []
    repeats: list[str] = []  # a record on two rows of one file, with different content
    registries: set[str] = set(connector.registries)

    def on_page(result: PageResult) -> None:
        if not connector.registries:  # the generic format: whichever registries it holds
            registries.update(v.block.registry for v in result.versions)
        totals["seen"] += result.seen
        totals["written"] += result.written
        totals["unchanged"] += result.unchanged
        failures.extend(f"{q.ref}: {q.error}" for q in result.quarantined)
        progress.update("", totals["seen"])

    # The same path the benchmark measures; one set of preparing processes for every file.
    progress = Progress(f"import {connector_name}")
    with contextlib.ExitStack() as stack:
        stack.enter_context(progress)
        preparers = None
        if jobs > 1:
            preparers = stack.enter_context(
                Preparers(jobs, reader_url(engine), preload=[connector.name])
            )
        for path in files:
            with engine.connect() as conn:
                before = max_version_id(conn)
            try:
                ingest_records(
                    engine,
                    connector,
                    connector.read_file(path),
                    on_page=on_page,
                    preparers=preparers,
                )
            except (ConnectorError, PreparingError) as exc:
                raise click.ClickException(f"{path}: {exc}") from exc
            repeats.extend(repeated_records(engine, connector, path, before))
    if not as_json:
        click.echo(
            f"{connector_name}: {totals['seen']} record{'' if totals['seen'] == 1 else 's'}, "
            f"{totals['written']} written, "
            f"{totals['unchanged']} unchanged, {len(failures)} quarantined"
        )
    summary: dict[str, Any] | None = None
    if complete:
        if failures:
            click.echo(
                f"not recorded as complete: {len(failures)} records were quarantined", err=True
            )
        elif registries:
            from metaregistry.reconcile.reader import mark_complete

            with engine.begin() as conn:
                names = ", ".join(p.name for p in files)
                mark_complete(conn, registries, "import", f"{connector_name}: {names}")
            click.echo(f"complete record set: {', '.join(sorted(registries))}")
    try:
        if no_detect:
            note = publish_checkpoint(engine, settings)
        else:
            summary, note = detect_and_checkpoint(engine, settings, since)
    except LogKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    if as_json:
        report = {
            "connector": connector_name,
            "files": [str(p) for p in files],
            **totals,
            "quarantined": len(failures),
            "repeated": repeats,
            "detection": summary,
            "checkpoint_size": int(note.splitlines()[1]),
        }
        click.echo(json.dumps(report, indent=2, default=str))
    else:
        if summary is not None:
            click.echo(detection_sentence(summary))
        click.echo(f"checkpoint: size {note.splitlines()[1]}")
    for line in repeats:
        click.echo(f"warning: {line}", err=True)
    if failures:
        for line in failures[:50]:
            click.echo(f"quarantined {line}", err=True)
        if len(failures) > 50:
            click.echo(
                f"... and {len(failures) - 50} more (metaregistry quarantine list)", err=True
            )
        ctx.exit(1)


@click.command("export")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.pass_context
def export_command(ctx: click.Context, file: Path) -> None:
    """Write every current block to FILE as NDJSON in the generic format (re-importable)."""
    engine = writer_engine(ctx)
    count = 0
    with engine.connect() as conn, file.open("w", encoding="utf-8") as out:
        for block in store.blocks(conn):
            out.write(json.dumps(block.to_json(), ensure_ascii=False, sort_keys=True) + "\n")
            count += 1
    click.echo(f"exported {count} blocks to {file}")


@click.group("quarantine")
def quarantine_group() -> None:
    """Records that failed validation or normalization, kept with their reason."""


def _quarantine_rows(engine: Engine, *, include_resolved: bool = False) -> list[Any]:
    table = store.quarantine_table
    stmt = sa.select(table).order_by(table.c.id)
    if not include_resolved:
        stmt = stmt.where(table.c.resolved_at.is_(None))
    with engine.connect() as conn:
        return list(conn.execute(stmt).mappings())


def _row_json(row: Any, *, payload: bool) -> dict[str, Any]:
    out = {
        "id": row["id"],
        "connector": row["connector"],
        "stream": row["stream"],
        "ref": row["ref"],
        "stage": row["stage"],
        "error": row["error"],
        "attempts": row["attempts"],
        "created_at": row["created_at"].isoformat() if row["created_at"] else None,
        "resolved_at": row["resolved_at"].isoformat() if row["resolved_at"] else None,
    }
    if payload:
        out["payload"] = (
            json.loads(row["payload"]) if row["payload"][:1] in "{[" else row["payload"]
        )
    return out


@quarantine_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--all", "include_resolved", is_flag=True, help="Include resolved entries.")
@click.pass_context
def quarantine_list(ctx: click.Context, as_json: bool, include_resolved: bool) -> None:
    rows = _quarantine_rows(writer_engine(ctx), include_resolved=include_resolved)
    if as_json:
        click.echo(json.dumps([_row_json(r, payload=False) for r in rows], indent=2))
        return
    for r in rows:
        click.echo(f"{r['id']:>6}  {r['connector']:<14} {r['ref']:<32} {r['error'][:100]}")
    click.echo(f"{len(rows)} quarantined", err=True)


@quarantine_group.command("show")
@click.argument("entry_id", type=int)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quarantine_show(ctx: click.Context, entry_id: int, as_json: bool) -> None:
    rows = [
        r
        for r in _quarantine_rows(writer_engine(ctx), include_resolved=True)
        if r["id"] == entry_id
    ]
    if not rows:
        raise click.ClickException(f"no quarantine entry {entry_id}")
    data = _row_json(rows[0], payload=True)
    if as_json:
        click.echo(json.dumps(data, indent=2, ensure_ascii=False))
    else:
        for key, value in data.items():
            shown = json.dumps(value, indent=2, ensure_ascii=False) if key == "payload" else value
            click.echo(f"{key}: {shown}")


@quarantine_group.command("retry")
@click.argument("entry_ids", type=int, nargs=-1)
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def quarantine_retry(ctx: click.Context, entry_ids: tuple[int, ...], as_json: bool) -> None:
    """Run quarantined records through the pipeline again (all open ones by default), for
    example after a connector was fixed. Those that pass are stored and marked resolved."""
    from metaregistry.quarantine import retry_entries
    from metaregistry.sync import LogKeyError, detect_and_checkpoint, log_signer

    engine = writer_engine(ctx)
    try:
        log_signer(engine, settings_of(ctx))  # a wrong key stops the retry before it writes
    except LogKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    with engine.connect() as conn:
        since = max_version_id(conn)
    outcome = retry_entries(engine, list(entry_ids) or None)
    if outcome["resolved"]:
        # what the retry stored is checked like anything a sync stores
        detect_and_checkpoint(engine, settings_of(ctx), since)
    if as_json:
        click.echo(json.dumps(outcome, indent=2))
    else:
        click.echo(f"resolved {len(outcome['resolved'])}, still failing {len(outcome['failing'])}")
    if outcome["failing"]:
        ctx.exit(1)


@click.command("connectors")
@click.option("--json", "as_json", is_flag=True)
def connectors_command(as_json: bool) -> None:
    """List the installed connectors (entry-point group metaregistry.connectors)."""
    out = []
    for name in plugins.available():
        try:
            c = plugins.load(name)
            out.append(
                {"name": name, "description": c.description, "registries": list(c.registries)}
            )
        except plugins.PluginError as exc:
            out.append({"name": name, "error": str(exc)})
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    for item in out:
        click.echo(f"{item['name']:<16} {item.get('description') or item.get('error', '')}")


@click.command("config")
@click.option(
    "--reference",
    is_flag=True,
    help="Print the settings reference (Markdown, every key with its type, default and "
    "environment variable) generated from the typed settings model: docs/SETTINGS.md.",
)
@click.pass_context
def config_command(ctx: click.Context, reference: bool) -> None:
    """Show the effective configuration (file + environment, defaults filled in), secrets
    masked."""
    from metaregistry import settings as settings_module

    if reference:
        click.echo(settings_module.reference(), nl=False)
        return
    settings = settings_of(ctx)
    data = settings.model_dump(mode="json", exclude={"connectors"})
    data["connectors"] = {}
    for name in settings.connectors:
        config = settings.connector(name)
        options = config.options
        if isinstance(options, ConnectorOptions):
            options = options.model_dump(mode="json")
        data["connectors"][name] = {
            "base_url": config.base_url,
            "token": config.token,
            "schedule": config.schedule,
            "timeout": config.timeout,
            **options,
        }
    data["_source"] = str(settings.source) if settings.source else "(defaults and environment)"
    click.echo(json.dumps(mask_secrets(data), indent=2, default=str))


def register(group: click.Group) -> None:
    for command in (
        sync_command,
        import_command,
        export_command,
        quarantine_group,
        connectors_command,
        config_command,
    ):
        group.add_command(command)
