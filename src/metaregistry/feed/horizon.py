"""Which alert events are settled: safe to hand out under the event-id cursor.

The event id is the feed's public cursor, so an event may be served only when no event with
a lower id can still appear: a client that has seen id 11 never asks for 10 again.

On SQLite that cannot happen: writers are serialized by the ``BEGIN IMMEDIATE`` lock, take
their ids inside it and commit in id order. On PostgreSQL two transactions can take ids 10
and 11 from the sequence and commit as 11, then 10. Ids are handed out without gaps except
for those two cases: a transaction still running, or one rolled back. So a run of events is
settled up to its first gap, and a gap is passed only once it is known to be permanent: no
transaction holds a write lock on ``alert_event`` (every insert takes one, before drawing its
id, and keeps it until commit or rollback), *and* a fresh read still finds the gap empty (it
was not filled by a commit between our first read and the lock check). While a writer is in
flight, events after a gap wait for it, however long its transaction runs; events before
the gap flow as usual. Transactions in other databases of the server are not looked at.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from metaregistry.feed import alert_tables

__all__ = ["settled_head", "settled_prefix"]

_HEAD_WINDOW = 1000  # newest ids looked at by settled_head

_WRITERS = """
SELECT EXISTS (
    SELECT 1 FROM pg_locks
    WHERE locktype = 'relation'
      AND granted
      AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND relation = CAST(:table AS regclass)
      AND mode IN ('RowExclusiveLock', 'ShareRowExclusiveLock', 'ExclusiveLock',
                   'AccessExclusiveLock')
      AND pid IS DISTINCT FROM pg_backend_pid()
)
"""


def _writers_in_flight(conn: sa.Connection) -> bool:
    table = alert_tables.event_table().name
    return bool(conn.execute(sa.text(_WRITERS), {"table": table}).scalar())


def _gap_is_empty(conn: sa.Connection, low: int, high: int) -> bool:
    events = alert_tables.event_table()
    query = sa.select(sa.func.count()).where(events.c.id.between(low, high))
    return not conn.execute(query).scalar()


def settled_prefix(conn: sa.Connection, ids: Sequence[int], after: int) -> int:
    """How many of ``ids`` (ascending, all above ``after``, as just read) are settled.
    Requires a connection in READ COMMITTED (each statement sees the latest commits)."""
    if conn.dialect.name != "postgresql":
        return len(ids)
    expected = after + 1
    for index, event_id in enumerate(ids):
        if event_id != expected:
            gap = (expected, event_id - 1)
            if _writers_in_flight(conn) or not _gap_is_empty(conn, *gap):
                return index
        expected = event_id + 1
    return len(ids)


def settled_head(conn: sa.Connection) -> int:
    """The newest settled event id (0 when none): starting after it misses nothing.
    Looks at the newest ``_HEAD_WINDOW`` ids only; older gaps are long settled."""
    events = alert_tables.event_table()
    newest = sa.select(events.c.id).order_by(events.c.id.desc()).limit(_HEAD_WINDOW)
    ids = sorted(int(i) for i in conn.execute(newest).scalars())
    if not ids:
        return 0
    base = ids[0] - 1 if len(ids) == _HEAD_WINDOW else 0
    settled = settled_prefix(conn, ids, base)
    return ids[settled - 1] if settled else base
