"""A record that one file holds twice with different content (issue 20 item 4).

An export that lists the same record (registry and record id) on two rows that disagree is a
fact worth an operator's eye: the import stores both as successive versions (the later row
is current) and warns, naming both rows. Finding them costs nothing on a clean file: only
when the file's import wrote a key more than once is the file read again to name the rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import sqlalchemy as sa

from metaregistry.connector import Connector, ConnectorError, RawRecord
from metaregistry.index import store
from metaregistry.pipeline import prepare_page

__all__ = ["repeated_records"]

_STAMP = "1970-01-01T00:00:00Z"  # not stored: only the keys and hashes are read


def _written_twice(conn: sa.Connection, since: int) -> set[tuple[str, str]]:
    table = store.unit_block_version
    rows = conn.execute(
        sa.select(table.c.registry, table.c.record_id)
        .where(table.c.id > since)
        .group_by(table.c.registry, table.c.record_id)
        .having(sa.func.count() > 1)
    )
    return {(str(r[0]), str(r[1])) for r in rows}


def repeated_records(engine: sa.Engine, connector: Connector, path: Path, since: int) -> list[str]:
    """Warnings, one per row that repeats an earlier row's record of ``path`` with other
    content, naming both rows (``since``: the newest version id before the file's import)."""
    with engine.connect() as conn:
        suspects = _written_twice(conn, since)
    if not suspects:
        return []
    try:
        records = connector.read_file(path)
        return _name_rows(connector, path, records, suspects)
    except ConnectorError as exc:  # the file was read once; say why it cannot be again
        return [f"{path.name}: records written twice, rows not named ({exc})"]


def _name_rows(
    connector: Connector,
    path: Path,
    records: Iterable[RawRecord],
    suspects: set[tuple[str, str]],
) -> list[str]:
    seen: dict[tuple[str, str], tuple[str, str]] = {}
    warnings: list[str] = []
    for record in records:
        page = prepare_page(connector, [record], _STAMP)
        if not page.blocks:
            continue
        block = page.blocks[0]
        if block.key not in suspects:
            continue
        ref = record.ref
        earlier = seen.get(block.key)
        if earlier is not None and earlier[1] != block.record_hash:
            registry, record_id = block.key
            warnings.append(
                f"{path.name}: {registry} record {record_id!r} is on two rows with different "
                f"content: {earlier[0]} and {ref} (the later is the current version)"
            )
        seen[block.key] = (ref, block.record_hash or "")
    return warnings
