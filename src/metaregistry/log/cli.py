"""Commands: ``metaregistry log key|checkpoint|export DIR`` and ``metaregistry verify``.

``verify`` needs nothing from the operator but the public key: it reads the log from a
server's API (``--url``) or from an export directory (``--export``) and exits 1 with the
reason when the log is not what the key signed (see :mod:`metaregistry.log.verify`).
"""

from __future__ import annotations

import os
from pathlib import Path

import click
from sqlalchemy.engine import Engine

from metaregistry.cli import open_index, settings_of
from metaregistry.index.db import create_engine
from metaregistry.log import store
from metaregistry.log.export import write_export
from metaregistry.log.keyfile import FileSigner, KeyFileError
from metaregistry.log.note import NoteError, Verifier, key_text
from metaregistry.log.sources import ExportSource, HttpSource, LogSource, LogSourceError
from metaregistry.log.verify import VerificationError, verify_log
from metaregistry.progress import Progress

__all__ = ["register"]


def register(group: click.Group) -> None:
    group.add_command(log_group)
    group.add_command(verify_command)
    group.add_command(audit_command)


def _signer(ctx: click.Context) -> FileSigner:
    settings = settings_of(ctx)
    try:
        return FileSigner.open(settings.log_key_path(), settings.log.origin)
    except (KeyFileError, NoteError) as exc:
        raise click.ClickException(str(exc)) from exc


def _one(many: str) -> str:
    """``log leaves`` -> ``log leaf``, ``alerts`` -> ``alert`` (the audit's counted things)."""
    return many[: -len("ves")] + "f" if many.endswith("leaves") else many.removesuffix("s")


def _engine(ctx: click.Context) -> Engine:
    return open_index(ctx)


@click.group("log")
def log_group() -> None:
    """The tamper-evident log: its key, checkpoints and exports."""


@log_group.command("key")
@click.pass_context
def key_command(ctx: click.Context) -> None:
    """Print the log's public key: the signed-note verifier key string, then the PEM.

    Give either to `metaregistry verify --key`. The key file is created on first use."""
    click.echo(key_text(_signer(ctx)), nl=False)


@log_group.command("checkpoint")
@click.pass_context
def checkpoint_command(ctx: click.Context) -> None:
    """Sign and publish a checkpoint of the log now (sync does this after every run)."""
    signer = _signer(ctx)
    engine = _engine(ctx)
    try:
        with engine.begin() as conn:
            signed = store.publish_checkpoint(conn, signer, settings_of(ctx).log.origin)
    except NoteError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(signed.note, nl=False)


@log_group.command("export")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
@click.pass_context
def export_command(ctx: click.Context, directory: Path) -> None:
    """Write every leaf and checkpoint to DIRECTORY, for `metaregistry verify --export`."""
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            with Progress("log export", unit="leaves") as progress:
                leaves, checkpoints = write_export(
                    conn, directory, lambda done, total: progress.update("", done, total)
                )
            size = store.tree_size(conn)
    finally:
        engine.dispose()
    click.echo(f"exported {leaves} leaves and {checkpoints} checkpoints to {directory}")
    if leaves != size:
        click.echo(
            f"warning: the log's leaf indexes run to {size - 1}, but {size - leaves} leaf rows "
            "are missing: metaregistry verify --export names them",
            err=True,
        )


def _record(text: str) -> tuple[str, str]:
    registry, sep, record_id = text.partition("/")
    if not (sep and registry and record_id):
        raise click.BadParameter(
            f"expected REGISTRY/RECORD_ID, got {text!r}", param_hint="--record"
        )
    return registry, record_id


@click.command("verify")
@click.option(
    "--key",
    "key_file",
    required=True,
    type=click.Path(dir_okay=False, path_type=Path),
    help="The log's public key: verifier key string or PEM (`metaregistry log key`).",
)
@click.option("--url", help="Base URL of a metaregistry server to check.")
@click.option(
    "--export",
    "export_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory written by `metaregistry log export` to check instead.",
)
@click.option(
    "--checkpoint",
    "saved_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="A checkpoint saved earlier: the log must have only grown since.",
)
@click.option(
    "--record",
    "records",
    multiple=True,
    metavar="REGISTRY/RECORD_ID",
    help="Check that this record's versions are in the log and, with --url, that the record "
    "as served hashes to them (repeatable).",
)
@click.option(
    "--serial",
    "serials",
    multiple=True,
    metavar="SERIAL",
    help="With --url: look SERIAL up and recompute every block served for it (repeatable).",
)
@click.option(
    "--save",
    "save_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="After every check passed, save the latest checkpoint here.",
)
@click.option(
    "--all-leaves",
    is_flag=True,
    help="With --url, also fetch every leaf and recompute the root (--export always).",
)
@click.pass_context
def verify_command(
    ctx: click.Context,
    key_file: Path,
    url: str | None,
    export_dir: Path | None,
    saved_file: Path | None,
    records: tuple[str, ...],
    serials: tuple[str, ...],
    save_file: Path | None,
    all_leaves: bool,
) -> None:
    """Check a log with only its public key; exit 1 with the reason when a check fails."""
    if (url is None) == (export_dir is None):
        raise click.UsageError("give exactly one of --url and --export")
    try:
        verifier = Verifier.parse(key_file.read_text(encoding="utf-8"))
        saved = None if saved_file is None else saved_file.read_text(encoding="utf-8")
    except (OSError, NoteError) as exc:
        raise click.ClickException(f"cannot read the key or saved checkpoint: {exc}") from exc
    source: LogSource = HttpSource(url) if url is not None else ExportSource(export_dir or Path())
    try:
        outcome = verify_log(
            source,
            verifier,
            saved=saved,
            records=[_record(r) for r in records],
            all_leaves=all_leaves or export_dir is not None,
            serials=serials,
        )
    except (VerificationError, LogSourceError) as exc:
        click.echo(f"FAILED: {exc}", err=True)
        ctx.exit(1)
    for line in outcome.checks:
        click.echo(f"ok: {line}")
    if save_file is not None:
        temp = save_file.with_name(f".{save_file.name}.tmp")
        temp.write_text(outcome.checkpoint.note, encoding="utf-8")
        os.replace(temp, save_file)
        click.echo(f"saved the checkpoint of size {outcome.checkpoint.size} to {save_file}")


@click.command("audit")
@click.option("--database", "database_url", help="Database URL (default: the configured one).")
@click.option(
    "--key",
    "key_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="The log's public key, to check the checkpoints' signatures too (default: the "
    "configured key file's, when it exists).",
)
@click.pass_context
def audit_command(ctx: click.Context, database_url: str | None, key_file: Path | None) -> None:
    """Recompute every current row, version, alert event, alert and link of the index
    database against the log; list what disagrees (exit 1), or say what was checked."""
    from metaregistry.audit import audit

    settings = settings_of(ctx)
    verifier: Verifier | None = None
    try:
        if key_file is not None:
            verifier = Verifier.parse(key_file.read_text(encoding="utf-8"))
        elif settings.log_key_path().exists():
            signer = FileSigner.open(settings.log_key_path(), settings.log.origin)
            verifier = Verifier(signer.name, signer.public_key)
    except (OSError, NoteError, KeyFileError) as exc:
        raise click.ClickException(f"cannot read the log key: {exc}") from exc
    engine = create_engine(database_url or settings.database_url, readonly=True)
    try:
        with engine.connect() as conn:
            report = audit(conn, verifier)
    finally:
        engine.dispose()
    for finding in report.findings:
        click.echo(f"DIFFERS: {finding}")
    for note in report.notes:
        click.echo(f"note: {note}")
    counts = ", ".join(
        f"{n:,} {_one(what) if n == 1 else what}" for what, n in report.checked.items()
    )
    signed = "" if verifier is not None else " (checkpoint signatures not checked: no key)"
    if report.findings:
        click.echo(f"FAILED: {len(report.findings)} disagreements with the log; checked {counts}"
                   f"{signed}", err=True)  # fmt: skip
        ctx.exit(1)
    click.echo(f"ok: everything agrees with the log: {counts}{signed}")
