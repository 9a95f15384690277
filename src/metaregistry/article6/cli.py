"""Commands: ``metaregistry article6 import|authorizations|show|check`` (issue 19)."""

from __future__ import annotations

import json
from pathlib import Path

import click
import sqlalchemy as sa

from metaregistry.article6.prepare import prepare_authorizations
from metaregistry.article6.store import authorizations, history, upsert_authorizations
from metaregistry.authorization import Authorization
from metaregistry.cli import open_index, settings_of
from metaregistry.connector import FatalSourceError
from metaregistry.index import store as index_store

__all__ = ["register"]


def _engine(ctx: click.Context) -> sa.Engine:
    return open_index(ctx)


@click.group("article6")
def article6_group() -> None:
    """Article 6: authorizations (LoA, LoAck, results-based payments, JCM estimates)."""


@article6_group.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.pass_context
def import_command(ctx: click.Context, files: tuple[Path, ...]) -> None:
    """Import authorizations in the generic format (NDJSON, one per line; see the generic
    connector's README). Every new or changed one is a new version and a log leaf; a record
    that fails is quarantined with the field and value."""
    from metaregistry import plugins
    from metaregistry.ingest import utc_stamp
    from metaregistry.sync import LogKeyError, log_signer, publish_checkpoint

    connector = plugins.load_all()["generic"]
    settings = settings_of(ctx)
    engine = _engine(ctx)
    try:
        log_signer(engine, settings)
        written = quarantined = seen = 0
        for path in files:
            if path.suffix.lower() not in (".ndjson", ".jsonl"):
                raise click.ClickException(f"{path}: authorizations import from .ndjson/.jsonl")
            try:
                records = list(connector.read_file(path))
            except FatalSourceError as exc:
                raise click.ClickException(str(exc)) from exc
            prepared = prepare_authorizations(connector, records, utc_stamp())
            with engine.begin() as conn:
                stored = upsert_authorizations(
                    conn,
                    prepared.authorizations,
                    connector=connector.name,
                    raw_payloads=prepared.raw_payloads,
                )
                index_store.quarantine(conn, prepared.quarantined)
            seen += len(records)
            written += len(stored)
            quarantined += len(prepared.quarantined)
        publish_checkpoint(engine, settings)
    except LogKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    click.echo(
        f"article6 import: {seen} records, {written} versions written, "
        f"{seen - written - quarantined} unchanged, {quarantined} quarantined"
    )


def _line(auth: Authorization) -> str:
    parts = [
        f"{auth.registry}/{auth.authorization_id}",
        auth.kind,
        auth.status,
        f"{auth.host_party}->{','.join(auth.acquiring_parties) or '-'}",
        auth.date,
    ]
    if auth.activity_id:
        parts.append(f"activity {auth.activity_id}")
    if auth.vintage_from is not None or auth.vintage_to is not None:
        parts.append(f"vintages {auth.vintage_from or ''}-{auth.vintage_to or ''}")
    if auth.quantity is not None:
        parts.append(f"{auth.quantity:,} t")
    if auth.purposes:
        uses = "+".join(auth.purposes)
        if auth.oimp_uses:
            uses += f" ({', '.join(auth.oimp_uses)})"
        parts.append(uses)
    return "  ".join(parts)


@article6_group.command("authorizations")
@click.option("--party", help="Only authorizations of this host party (ISO alpha-2).")
@click.option("--kind", help="Only this kind (loa, loack, results-based-payment, jcm-estimate).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.pass_context
def list_command(ctx: click.Context, party: str | None, kind: str | None, as_json: bool) -> None:
    """The current version of every authorization."""
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            found = authorizations(conn, host_party=party, kind=kind)
    finally:
        engine.dispose()
    for auth in found:
        click.echo(json.dumps(auth.to_json(), sort_keys=True) if as_json else _line(auth))
    if not as_json:
        click.echo(f"{len(found)} authorizations")


@article6_group.command("show")
@click.argument("registry")
@click.argument("authorization_id")
@click.pass_context
def show_command(ctx: click.Context, registry: str, authorization_id: str) -> None:
    """Every version of one authorization (oldest first), with its log leaf."""
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            versions = history(conn, registry, authorization_id)
    finally:
        engine.dispose()
    if not versions:
        raise click.ClickException(f"no authorization {registry}/{authorization_id}")
    for entry in versions:
        click.echo(
            f"version {entry.version} (leaf {entry.leaf_idx}, record_hash "
            f"{entry.authorization.record_hash}): {_line(entry.authorization)}"
        )


@article6_group.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print every alert found as JSON.")
@click.option("--dry-run", is_flag=True, help="Report only; store no alert.")
@click.pass_context
def check_command(ctx: click.Context, as_json: bool, dry_run: bool) -> None:
    """Run the Article 6 checks over the whole index (authorization_exceeded,
    unauthorized_use, double_claim); alerts are opened, updated and resolved in the same
    lifecycle and feed as detection's, and a signed checkpoint covers their events."""
    from metaregistry.article6.checks import run_checks
    from metaregistry.sync import LogKeyError, log_signer, publish_checkpoint

    settings = settings_of(ctx)
    engine = _engine(ctx)
    try:
        if not dry_run:
            log_signer(engine, settings)
        with engine.begin() as conn:
            report = run_checks(conn, settings.article6.export_caps, store=not dry_run)
        if not dry_run:
            publish_checkpoint(engine, settings)
    except LogKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps([d.content() for d in report.drafts], indent=2, sort_keys=True))
        return
    for draft in report.drafts:
        click.echo(f"{draft.kind} ({draft.severity}, {draft.rules[0]}): {draft.explanation}")
    counts = ", ".join(f"{n} {kind}" for kind, n in report.counts().items()) or "no finding"
    line = f"article6 check: {counts}"
    if report.changes is not None:
        c = report.changes
        line += f"; alerts {c.opened} opened, {c.updated} updated, {c.resolved} resolved"
    click.echo(line)


@article6_group.command("report")
@click.option("--party", required=True, help="The host party (ISO alpha-2: TH, ID).")
@click.option("--year", required=True, type=click.IntRange(1990, 2100), help="Reported year.")
@click.option("--json", "as_json", is_flag=True, help="The five tables as one JSON object.")
@click.option(
    "--csv", "csv_dir", type=click.Path(file_okay=False, path_type=Path), help="CSV per table."
)
@click.option(
    "--xlsx", "xlsx_file", type=click.Path(dir_okay=False, path_type=Path), help="One workbook."
)
@click.pass_context
def report_command(
    ctx: click.Context,
    party: str,
    year: int,
    as_json: bool,
    csv_dir: Path | None,
    xlsx_file: Path | None,
) -> None:
    """A party's Article 6 year in the Agreed Electronic Format's tables (AEF V2): its
    authorizations, actions (first transfers, uses, cancellations) and holdings, every line
    naming the index records behind it."""
    from metaregistry.article6.aef import AEF_VERSION, tables, write_csv, write_xlsx
    from metaregistry.article6.ledger import ledger

    party = party.upper()
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            report = tables(ledger(conn, party), year)
    finally:
        engine.dispose()
    if csv_dir is not None:
        for path in write_csv(report, csv_dir):
            click.echo(f"wrote {path}", err=as_json)
    if xlsx_file is not None:
        write_xlsx(report, xlsx_file)
        click.echo(f"wrote {xlsx_file}", err=as_json)
    if as_json:
        click.echo(json.dumps({"format": AEF_VERSION, "tables": report}, indent=2, default=str))
    elif csv_dir is None and xlsx_file is None:
        click.echo(f"{party} {year} ({AEF_VERSION})")
        for sheet, rows in report.items():
            click.echo(f"  {sheet}: {len(rows)} rows")
        for row in report["Actions"]:
            click.echo(
                f"    {row['aefT3ActionsDate']} {row['aefT3ActionsType']}: "
                f"{row['aefT3ActionsQuantityTCo2']:,} t, {row['aefT3ActionsPartyItmoRegistryId']} "
                f"{row['aefT3ActionsItmoFirstId']}-{row['aefT3ActionsItmoLastId']} to "
                f"{row['aefT3ActionsAcquiringPartyId']} ({row['aefT3ActionsAuthorizationId']})"
            )


@click.command("eligible")
@click.argument("serial")
@click.option("--use", "use_text", required=True, help="corsia, sg-icc or ndc:<party>.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON answer.")
@click.pass_context
def eligible_command(ctx: click.Context, serial: str, use_text: str, as_json: bool) -> None:
    """May the units of SERIAL be used for USE? Eligible or not, and why, a reason a line
    (the answer of GET /v1/eligibility, with the lookup's inclusion proofs in --json).
    Exit status: 0 eligible, 1 not eligible or not found, 2 when SERIAL or USE cannot be
    read."""
    import dataclasses

    from metaregistry.api.app import IndexMissingError, detect_features
    from metaregistry.api.eligibility import eligibility, read_use
    from metaregistry.api.errors import ApiError
    from metaregistry.api.proofs import ONE_LOOKUP_PROOF_ENTRIES, NodeCache
    from metaregistry.api.reader import Reader
    from metaregistry.api.unit_query import read_query
    from metaregistry.index.db import create_engine

    settings = settings_of(ctx)
    try:
        query = read_query(serial, max_length=settings.api.max_serial_length)
        use = read_use(use_text)
    except ApiError as error:
        click.echo(f"{error.field}: {error.message}", err=True)
        ctx.exit(2)
    engine = create_engine(settings.database_url, readonly=True)
    try:
        features = dataclasses.replace(
            detect_features(engine), nodes=NodeCache(entries=ONE_LOOKUP_PROOF_ENTRIES)
        )
        reader = Reader(engine, threads=1, timeout=max(settings.api.query_timeout, 30.0))
        try:
            answer = reader.call(eligibility, query, use, features=features)
        finally:
            reader.close()
    except (IndexMissingError, ApiError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    if answer is None:
        click.echo(f"{serial}: no registry in the index holds these units")
        ctx.exit(1)
    if as_json:
        click.echo(json.dumps(answer, indent=2, ensure_ascii=False))
    else:
        verdict = "eligible" if answer["eligible"] else "NOT eligible"
        click.echo(f"{serial}: {verdict} for {answer['use']}")
        for reason in answer["reasons"]:
            click.echo(f"  [{'ok' if reason['ok'] else 'no'}] {reason['code']}: {reason['text']}")
        proved = sum(1 for b in answer["blocks"] if b.get("proof"))
        click.echo(f"  {len(answer['blocks'])} blocks, {proved} with an inclusion proof")
    ctx.exit(0 if answer["eligible"] else 1)


def register(group: click.Group) -> None:
    group.add_command(article6_group)
    group.add_command(eligible_command)
