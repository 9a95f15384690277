"""Commands: ``metaregistry detect [--full]``, ``metaregistry alerts [--json] [filters]``,
``metaregistry alerts ack ID`` and ``metaregistry alerts resolve ID``."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from typing import Any

import click
from sqlalchemy.engine import Engine

from metaregistry.article6.checks import ALERT_KINDS as ARTICLE6_KINDS
from metaregistry.cli import open_index, settings_of
from metaregistry.detect import lifecycle
from metaregistry.detect.alerts import AlertQuery, list_alerts
from metaregistry.detect.engine import (
    DetectSummary,
    detect_full,
    detect_incremental,
    keep_watermark_at,
    last_run,
)
from metaregistry.detect.rules import ALERT_KINDS as SERIAL_KINDS
from metaregistry.detect.rules import SEVERITIES
from metaregistry.index import store
from metaregistry.progress import Progress
from metaregistry.wording import counted

__all__ = ["register"]

_STATUSES = ("open", "acknowledged", "resolved")


def _engine(ctx: click.Context) -> Engine:
    return open_index(ctx)


@click.command("detect")
@click.option("--full", is_flag=True, help="Recheck every block, not only what changed.")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@click.pass_context
def detect_command(ctx: click.Context, full: bool, as_json: bool) -> None:
    """Find double counting: overlapping serial ranges across and within registries.

    Without --full, only the records written since the last detection run are checked (the
    first run is always full). Alert events are logged: the run ends with a signed
    checkpoint that covers them."""
    engine = _engine(ctx)
    try:
        signed = _signed_writes(ctx, engine)
        with engine.connect() as conn:  # see keep_watermark_at
            committed = store.committed_version_id(conn)
        with signed, engine.begin() as conn:
            since = None if full else last_run(conn)
            if since is None:
                with Progress("detect", unit="blocks") as progress:
                    summary = detect_full(
                        conn, lambda done, total: progress.update("", done, total)
                    )
            else:
                summary = detect_incremental(conn, since)
            keep_watermark_at(conn, (since or 0) if committed is None else committed)
    finally:
        engine.dispose()
    _print_summary(summary, as_json)


@contextlib.contextmanager
def _signed_writes(ctx: click.Context, engine: Engine) -> Iterator[None]:
    """Around a write that logs alert events: the log key is checked before it (a wrong key
    stops it before anything is written) and a signed checkpoint published after it."""
    from metaregistry.sync import LogKeyError, log_signer, publish_checkpoint

    settings = settings_of(ctx)
    try:
        log_signer(engine, settings)
    except LogKeyError as exc:
        raise click.ClickException(str(exc)) from exc
    yield
    try:
        publish_checkpoint(engine, settings)
    except LogKeyError as exc:
        raise click.ClickException(str(exc)) from exc


def _print_summary(summary: DetectSummary, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary.to_json(), sort_keys=True))
        return
    click.echo(
        f"{summary.mode} detection: {summary.blocks_checked:,} blocks checked, "
        f"{counted(summary.alerts_found, 'alert')} and "
        f"{counted(summary.links_found, 'link')} found; "
        f"{summary.alerts_opened} opened, {summary.alerts_updated} updated, "
        f"{summary.alerts_resolved} resolved, {summary.alerts_reopened} reopened"
    )


def _values(raw: Iterable[str]) -> frozenset[str]:
    return frozenset(v.strip() for item in raw for v in item.split(",") if v.strip())


def _check(name: str, values: frozenset[str], allowed: Iterable[str]) -> frozenset[str]:
    allowed = tuple(allowed)
    bad = sorted(values - set(allowed))
    if bad:
        raise click.BadParameter(
            f"{', '.join(map(repr, bad))} is not one of {', '.join(allowed)}",
            param_hint=f"--{name}",
        )
    return values


#: every kind an alert can have: detection's and the Article 6 checks' (issue 19)
ALERT_KINDS = (*SERIAL_KINDS, *ARTICLE6_KINDS)


@click.group("alerts", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per alert.")
@click.option("--registry", multiple=True, help="Either side in this registry (repeatable).")
@click.option("--kind", multiple=True, help=f"One of {', '.join(ALERT_KINDS)} (repeatable).")
@click.option("--severity", multiple=True, help=f"One of {', '.join(SEVERITIES)} (repeatable).")
@click.option("--status", multiple=True, help=f"One of {', '.join(_STATUSES)} (repeatable).")
@click.pass_context
def alerts_group(
    ctx: click.Context,
    as_json: bool,
    registry: tuple[str, ...],
    kind: tuple[str, ...],
    severity: tuple[str, ...],
    status: tuple[str, ...],
) -> None:
    """List alerts (a table, or --json), or change one: alerts ack ID, alerts resolve ID."""
    if ctx.invoked_subcommand is not None:
        return
    query = AlertQuery(
        registry=_values(registry),
        kind=_check("kind", _values(kind), ALERT_KINDS),
        severity=_check("severity", _values(severity), SEVERITIES),
        status=_check("status", _values(status), _STATUSES),
    )
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            alerts = list_alerts(conn, query)
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps(alerts, indent=2, sort_keys=True))
    else:
        click.echo(_table(alerts))


def _side_text(alert: dict[str, Any]) -> str:
    sides = alert["sides"]
    first = next(s for s in sides if s["role"] == "a")
    second = next((s for s in sides if s["role"] == "b"), first)
    more = len(sides) - 2
    text = f"{first['registry']} {first['status']} / {second['registry']} {second['status']}"
    return text + (f" (+{more} records)" if more > 0 else "")


def _table(alerts: list[dict[str, Any]]) -> str:
    if not alerts:
        return "no alerts"
    header = ("ID", "KIND", "SEVERITY", "STATUS", "SIDES", "OVERLAP", "UNITS")
    rows = [
        (
            a["id"],
            a["kind"],
            a["severity"],
            a["status"],
            _side_text(a),
            f"{a['scheme']}{'/' + a['scope'] if a['scope'] else ''} "
            f"{a['overlap_start']}-{a['overlap_end']}",
            f"{a['overlap_size']:,}",
        )
        for a in alerts
    ]
    widths = [max(len(str(r[i])) for r in (header, *rows)) for i in range(len(header))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in (header, *rows)
    ]
    return "\n".join(lines)


def _change(ctx: click.Context, alert_id: str, status: str) -> None:
    engine = _engine(ctx)
    try:
        with _signed_writes(ctx, engine), engine.begin() as conn:
            change = lifecycle.acknowledge if status == "acknowledged" else lifecycle.resolve
            result = change(conn, alert_id)
    except (lifecycle.AlertNotFoundError, lifecycle.AlertStateError) as exc:
        raise click.ClickException(str(exc.args[0])) from exc
    finally:
        engine.dispose()
    if result is None:
        click.echo(f"{alert_id} was already {status}")
    else:
        click.echo(f"{alert_id} {status}")


@alerts_group.command("ack")
@click.argument("alert_id")
@click.pass_context
def ack_command(ctx: click.Context, alert_id: str) -> None:
    """Acknowledge an open alert."""
    _change(ctx, alert_id, "acknowledged")


@alerts_group.command("resolve")
@click.argument("alert_id")
@click.pass_context
def resolve_command(ctx: click.Context, alert_id: str) -> None:
    """Resolve an alert by hand (it reopens only if a later detection finds it changed)."""
    _change(ctx, alert_id, "resolved")


def register(group: click.Group) -> None:
    group.add_command(detect_command)
    group.add_command(alerts_group)
