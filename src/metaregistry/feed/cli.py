"""Commands: ``metaregistry alerts webhooks`` (webhook deliveries and their state) and
``metaregistry alerts redeliver ID... | --all-failed`` (failed deliveries made due again).

Both read and write ``webhook_outbox`` (:mod:`metaregistry.feed.outbox`) and keep to its
rules. Redelivery turns a ``failed`` row back into a ``pending`` one that is due now and has no
lease, which is exactly what a retry looks like, so whichever daemon passes next claims it;
the deliverer is not involved and nothing is sent from the command line.

``attempts`` is kept. It counts every claim ever made (the receiver sees the next number in
``X-Metaregistry-Attempt``), and the deliverer gives up on a delivery once ``attempts`` has
reached ``[feed] max_attempts``, so a redelivered row gets one more attempt: delivered, or
``failed`` again at once with the new error. That is what an operator who fixed the receiver
wants to see, it starts no new day-long series of retries against a receiver that is still
broken, and a delivery that crashes its daemon gets one more crash, not ``max_attempts`` more.
Run ``redeliver`` again for another attempt, or raise ``max_attempts`` for a longer series.
``last_status`` and ``last_error`` stay until that attempt replaces them.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import click
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from metaregistry.cli import open_index, settings_of
from metaregistry.detect.cli import alerts_group
from metaregistry.feed import alert_tables, outbox
from metaregistry.feed.events import iso
from metaregistry.feed.tables import OutboxState, WebhookOutboxRow, WebhookSubscriberRow
from metaregistry.settings import mask_secrets

__all__ = ["Delivery", "list_deliveries", "redeliver", "register"]

_outbox = WebhookOutboxRow.__table__  # type: ignore[attr-defined]
_subscriber = WebhookSubscriberRow.__table__  # type: ignore[attr-defined]
_STATES = (
    OutboxState.FAILED,
    OutboxState.PENDING,
    OutboxState.DELIVERED,
    OutboxState.SKIPPED,
    "all",
)
_CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits
_ERROR_WIDTH = 80


def _utc(value: datetime) -> datetime:
    """Naive values (SQLite) are UTC by convention."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _utc_or_none(value: datetime | None) -> datetime | None:
    return None if value is None else _utc(value)


@dataclass(frozen=True, slots=True)
class Delivery:
    """One row of the outbox with its subscriber's URL and its event's alert."""

    id: int
    state: str
    subscriber_id: str
    url: str | None
    event_id: int
    event_type: str | None
    alert_id: str | None
    attempts: int
    last_status: int | None
    last_error: str | None
    next_attempt_at: datetime
    lease_owner: str | None
    lease_until: datetime | None
    created_at: datetime
    delivered_at: datetime | None

    @classmethod
    def from_row(cls, row: sa.RowMapping) -> Delivery:
        return cls(
            id=int(row["id"]),
            state=str(row["state"]),
            subscriber_id=str(row["subscriber_id"]),
            url=row["url"],
            event_id=int(row["event_id"]),
            event_type=row["event_type"],
            alert_id=row["alert_id"],
            attempts=int(row["attempts"]),
            last_status=row["last_status"],
            last_error=row["last_error"],
            next_attempt_at=_utc(row["next_attempt_at"]),
            lease_owner=row["lease_owner"],
            lease_until=_utc_or_none(row["lease_until"]),
            created_at=_utc(row["created_at"]),
            delivered_at=_utc_or_none(row["delivered_at"]),
        )

    @property
    def endpoint(self) -> str:
        """The subscriber's URL, a password in it masked as ``metaregistry config`` does."""
        return str(mask_secrets(self.url)) if self.url else f"subscriber {self.subscriber_id}"

    def in_flight(self, now: datetime) -> bool:
        """A daemon has claimed it and its lease has not run out."""
        return self.state == OutboxState.PENDING and (
            self.lease_until is not None and self.lease_until >= now
        )

    def to_json(self) -> dict[str, Any]:
        """``next_attempt_at`` is null unless the delivery is pending (only then is one due)."""
        pending = self.state == OutboxState.PENDING

        def when(value: datetime | None) -> str | None:
            return iso(value) if value is not None else None

        return {
            "id": self.id,
            "state": self.state,
            "subscriber_id": self.subscriber_id,
            "url": self.endpoint if self.url else None,
            "event_id": self.event_id,
            "event_type": self.event_type,
            "alert_id": self.alert_id,
            "attempts": self.attempts,
            "last_status": self.last_status,
            "last_error": self.last_error,
            "next_attempt_at": when(self.next_attempt_at) if pending else None,
            "lease_owner": self.lease_owner,
            "lease_until": when(self.lease_until),
            "created_at": when(self.created_at),
            "delivered_at": when(self.delivered_at),
        }


def _select() -> sa.Select[Any]:
    o, s = _outbox.c, _subscriber.c
    events = alert_tables.event_table()
    return (
        sa.select(
            _outbox,
            s.url,
            events.c[alert_tables.EVENT_TYPE].label("event_type"),
            events.c[alert_tables.EVENT_ALERT_ID].label("alert_id"),
        )
        .select_from(_outbox)
        .outerjoin(_subscriber, s.id == o.subscriber_id)
        .outerjoin(events, events.c.id == o.event_id)
    )


def list_deliveries(
    conn: sa.Connection, *, state: str | None, limit: int
) -> tuple[list[Delivery], int]:
    """Up to ``limit`` deliveries in ``state`` (every state when None), newest first, and how
    many there are in all."""
    where = [] if state is None else [_outbox.c.state == state]
    query = _select().where(*where).order_by(_outbox.c.id.desc()).limit(limit)
    rows = [Delivery.from_row(r) for r in conn.execute(query).mappings()]
    total = conn.execute(sa.select(sa.func.count()).select_from(_outbox).where(*where)).scalar()
    return rows, int(total or 0)


@dataclass(frozen=True, slots=True)
class Redelivery:
    """What :func:`redeliver` did: rows made due again, rows left alone (not failed) and ids
    that name no delivery."""

    due: list[Delivery]
    left: list[Delivery]
    unknown: list[str]


def _chunks(ids: Sequence[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def redeliver(conn: sa.Connection, ids: Sequence[str] | None, *, now: datetime) -> Redelivery:
    """Make failed deliveries due at ``now``: those named by ``ids``, or every failed one when
    ``ids`` is None. Rows are locked first (``FOR UPDATE`` on PostgreSQL; SQLite's write
    transaction holds the database), so a row is reported as it was changed."""
    o = _outbox.c
    query = _select().with_for_update(of=_outbox).order_by(o.id)
    unknown: list[str] = []
    if ids is None:
        failed = conn.execute(query.where(o.state == OutboxState.FAILED)).mappings()
        rows = [Delivery.from_row(r) for r in failed]
    else:
        wanted = {text: _parse_id(text) for text in ids}
        numbers = sorted({n for n in wanted.values() if n is not None})
        rows = [
            Delivery.from_row(r)
            for chunk in _chunks(numbers)
            for r in conn.execute(query.where(o.id.in_(chunk))).mappings()
        ]
        found = {r.id for r in rows}
        unknown = [text for text, n in wanted.items() if n not in found]
    due = [r for r in rows if r.state == OutboxState.FAILED]
    for chunk in _chunks([r.id for r in due]):
        conn.execute(
            _outbox.update()
            .where(o.id.in_(chunk))
            .where(o.state == OutboxState.FAILED)
            .values(
                state=OutboxState.PENDING,
                next_attempt_at=now,
                lease_owner=None,
                lease_until=None,
            )
        )
    left = [r for r in rows if r.state != OutboxState.FAILED]
    return Redelivery(due=due, left=left, unknown=unknown)


def _parse_id(text: str) -> int | None:
    """The id ``text`` names, or None when no row can have it (ids are BIGINT)."""
    stripped = text.strip()
    if not stripped.isdecimal():
        return None
    number = int(stripped)
    return number if number < 2**63 else None


def _engine(ctx: click.Context) -> Engine:
    return open_index(ctx)


def _one_line(text: str, width: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 3] + "..."


def _next_text(delivery: Delivery, now: datetime) -> str:
    if delivery.state != OutboxState.PENDING:
        return "-"
    if delivery.in_flight(now) and delivery.lease_until is not None:
        return f"in flight until {iso(delivery.lease_until)}"
    return iso(delivery.next_attempt_at)


def _table(deliveries: list[Delivery], now: datetime) -> str:
    header = ("ID", "STATE", "ATTEMPTS", "EVENT", "ALERT", "ENDPOINT", "NEXT ATTEMPT", "LAST ERROR")
    rows = [
        (
            str(d.id),
            d.state,
            str(d.attempts),
            f"{d.event_id} {d.event_type or '(missing)'}",
            d.alert_id or "-",
            d.endpoint,
            _next_text(d, now),
            _one_line(d.last_error, _ERROR_WIDTH) if d.last_error else "-",
        )
        for d in deliveries
    ]
    widths = [max(len(r[i]) for r in (header, *rows)) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
        for r in (header, *rows)
    )


@click.command("webhooks")
@click.option(
    "--state",
    type=click.Choice(_STATES),
    default="all",
    show_default=True,
    help="Only deliveries in this state (failed = gave up after max_attempts).",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one object per row.")
@click.option(
    "--limit",
    type=click.IntRange(min=1),
    default=100,
    show_default=True,
    help="At most this many deliveries, newest first.",
)
@click.pass_context
def webhooks_command(ctx: click.Context, state: str, as_json: bool, limit: int) -> None:
    """List webhook deliveries: one line each with its state, attempts, next attempt and last
    error. Failed ones can be sent again with `alerts redeliver`."""
    engine = _engine(ctx)
    try:
        with engine.connect() as conn:
            deliveries, total = list_deliveries(
                conn, state=None if state == "all" else state, limit=limit
            )
    finally:
        engine.dispose()
    if as_json:
        click.echo(json.dumps([d.to_json() for d in deliveries], indent=2, sort_keys=True))
    elif not deliveries:
        click.echo("no webhook deliveries" + ("" if state == "all" else f" in state {state}"))
    else:
        click.echo(_table(deliveries, outbox.utcnow()))
    if total > len(deliveries):
        click.echo(
            f"showing the newest {len(deliveries):,} of {total:,}; --limit shows more", err=True
        )


def _configured(ctx: click.Context) -> frozenset[str]:
    return frozenset(h.id for h in settings_of(ctx).webhooks)


def _report(result: Redelivery, configured: frozenset[str], all_failed: bool) -> None:
    for d in result.due:
        error = f", last error: {_one_line(d.last_error, _ERROR_WIDTH)}" if d.last_error else ""
        click.echo(
            f"delivery {d.id} (event {d.event_id}, alert {d.alert_id or '?'}) to {d.endpoint}: "
            f"due again now; {d.attempts} attempt{'' if d.attempts == 1 else 's'} so far{error}"
        )
        if d.subscriber_id not in configured:
            click.echo(
                f"warning: delivery {d.id}: {d.endpoint} is not among the [[webhooks]] of this "
                "configuration; only a daemon whose configuration has it delivers it",
                err=True,
            )
    for d in result.left:
        click.echo(f"delivery {d.id} is {d.state}, not failed: left alone")
    for text in result.unknown:
        click.echo(f"error: no webhook delivery with id {text!r}", err=True)
    if all_failed:
        count = len(result.due)
        click.echo(f"{count:,} failed deliveries due again" if count else "no failed deliveries")


@click.command("redeliver")
@click.argument("delivery_ids", metavar="[ID]...", nargs=-1)
@click.option("--all-failed", is_flag=True, help="Every failed delivery.")
@click.pass_context
def redeliver_command(ctx: click.Context, delivery_ids: tuple[str, ...], all_failed: bool) -> None:
    """Send failed webhook deliveries again: each becomes due at once and the next daemon pass
    makes one more attempt (attempts are kept, so another failure fails it again at once).

    IDs are those of `alerts webhooks`. An unknown ID is reported and the others are still
    processed (exit status 1)."""
    if all_failed == bool(delivery_ids):
        raise click.UsageError("give delivery IDs or --all-failed (one of the two)")
    configured = _configured(ctx)
    engine = _engine(ctx)
    try:
        with engine.begin() as conn:
            result = redeliver(conn, None if all_failed else delivery_ids, now=outbox.utcnow())
    finally:
        engine.dispose()
    _report(result, configured, all_failed)
    if result.unknown:
        ctx.exit(1)


def register(group: click.Group) -> None:
    """Attach the commands to ``metaregistry alerts``, the group detection's module defines
    (adding that group again is a no-op, and makes the order of the areas not matter)."""
    group.add_command(alerts_group)
    alerts_group.add_command(webhooks_command)
    alerts_group.add_command(redeliver_command)
