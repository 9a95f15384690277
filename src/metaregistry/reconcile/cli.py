"""Commands: ``metaregistry reconcile``, ``metaregistry links`` and ``metaregistry projects``."""

from __future__ import annotations

import json
from collections import Counter

import click
import sqlalchemy as sa

from metaregistry.cli import open_index, settings_of
from metaregistry.detect.alerts import list_links
from metaregistry.detect.lifecycle import BASIS_PROJECT, BASIS_SERIAL
from metaregistry.reconcile import reader
from metaregistry.reconcile.crosswalk import (
    MapError,
    build,
    key_text,
    read_map,
    suggest,
)
from metaregistry.reconcile.model import Outcome
from metaregistry.reconcile.run import ReconcileReport, reconcile_index
from metaregistry.reconcile.view import project_view

__all__ = ["register"]


def _engine(ctx: click.Context) -> sa.Engine:
    return open_index(ctx)


def report_text(report: ReconcileReport) -> str:
    """Per registry pair: matched, mismatched, pending and unverifiable, with units."""
    if not report.findings:
        return "reconcile: no project is held in two registries"
    lines = []
    for pair in report.by_pair():
        parts = []
        for outcome in Outcome.ALL:
            row = pair["outcomes"].get(outcome)
            if row:
                parts.append(
                    f"{row['count']} {outcome} "
                    f"({row['units_source']:,} -> {row['units_target']:,} units)"
                )
        lines.append(f"{pair['source']} -> {pair['target']}: " + ", ".join(parts))
    counts = Counter(f.outcome for f in report.findings)
    lines.append(
        f"alerts: {report.alerts_opened} opened, {report.alerts_updated} updated, "
        f"{report.alerts_resolved} resolved; {report.links} project links; "
        f"{counts.get(Outcome.UNVERIFIABLE, 0)} unverifiable (see --json for why)"
    )
    return "\n".join(lines)


@click.command("reconcile")
@click.option("--json", "as_json", is_flag=True, help="Print every finding as JSON.")
@click.option("--dry-run", is_flag=True, help="Report only; store no alert or link.")
@click.pass_context
def reconcile_command(ctx: click.Context, as_json: bool, dry_run: bool) -> None:
    """Project-level reconciliation: conversions that re-number credits (ACR/CAR to CARB),
    projects registered twice, registry moves. Matched, mismatched, pending and unverifiable
    per registry pair; alerts and links (basis project) stored like detection's."""
    settings = settings_of(ctx)
    engine = _engine(ctx)
    try:
        with engine.begin() as conn:
            report = reconcile_index(conn, project_map=settings.project_map(), store=not dry_run)
    except (MapError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(report.to_json(), indent=2))
    else:
        click.echo(report_text(report))


@click.command("links")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per link.")
@click.option("--kind", multiple=True, help="Only links of this kind (repeatable).")
@click.option("--registry", multiple=True, help="Either side in this registry (repeatable).")
@click.option(
    "--basis",
    type=click.Choice([BASIS_SERIAL, BASIS_PROJECT]),
    default=None,
    help="serial: unit ranges in two registries; project: quantities per project and vintage.",
)
@click.pass_context
def links_command(
    ctx: click.Context,
    as_json: bool,
    kind: tuple[str, ...],
    registry: tuple[str, ...],
    basis: str | None,
) -> None:
    """Every legitimate move the index knows of (conversion, mirror, tokenization, custody,
    compliance move, registry move), with its basis and both sides."""
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            links = list_links(conn, registry=registry, kind=kind, basis=(basis,) if basis else ())
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(links, indent=2, sort_keys=True))
        return
    if not links:
        click.echo("no links")
        return
    for link in links:
        where = (
            f"project {link['scope']} vintage {link['overlap_start']}"
            if link["basis"] == BASIS_PROJECT
            else f"{link['scheme']}{'/' + link['scope'] if link['scope'] else ''} "
            f"{link['overlap_start']}-{link['overlap_end']}"
        )
        click.echo(
            f"{link['kind']:<16} {link['basis']:<8} {link['source_registry']}/"
            f"{link['source_record_id']} -> {link['target_registry']}/{link['target_record_id']}"
            f"  {where}"
        )
    click.echo("1 link" if len(links) == 1 else f"{len(links)} links", err=True)


@click.group("projects")
def projects_group() -> None:
    """Projects across registries: their ids, where each link came from, suggestions."""


@projects_group.command("show")
@click.argument("project")
@click.pass_context
def projects_show(ctx: click.Context, project: str) -> None:
    """PROJECT (ACR1051, verra:934, srn-ppi:PRJ-17) across registries, as JSON: its ids
    (as the last `reconcile` linked them), units per registry, vintage and status, and what
    reconciliation finds for it."""
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            view = project_view(conn, project)
    finally:
        engine.dispose()
    if view is None:
        raise click.ClickException(f"no record of project {project} in the index")
    click.echo(json.dumps(view, indent=2))


@projects_group.command("suggest")
@click.option("--json", "as_json", is_flag=True)
@click.option("--threshold", type=click.FloatRange(0.5, 1.0), default=0.85, show_default=True)
@click.pass_context
def projects_suggest(ctx: click.Context, as_json: bool, threshold: float) -> None:
    """Pairs of projects in two registries whose names look alike, for review. A suggestion
    is never used for an alert: confirm it in the [reconcile] project_map file."""
    settings = settings_of(ctx)
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            holdings = reader.holdings(conn)
            path = settings.project_map()
            walk = build(holdings, read_map(path) if path else [])
            names = reader.project_names(conn)
    finally:
        engine.dispose()
    found = suggest(names, walk, threshold=threshold)
    if as_json:
        click.echo(json.dumps([s.to_json() for s in found], indent=2))
        return
    for s in found:
        click.echo(f"{key_text(s.a):<24} {key_text(s.b):<24} {s.score:.2f}  {s.why}")
    click.echo(f"{len(found)} suggestions (never used until confirmed in project_map)", err=True)


def register(group: click.Group) -> None:
    group.add_command(reconcile_command)
    group.add_command(links_command)
    group.add_command(projects_group)
