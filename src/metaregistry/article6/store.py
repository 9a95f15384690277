"""Writing and reading authorizations: upsert with history and a log leaf per new version.

Keyed by (registry, authorization_id), like blocks: an unchanged ``record_hash`` writes
nothing; a new or changed one writes the current row, appends a version row, keeps its raw
payload (``raw_record``, shared with blocks) and appends an
:class:`~metaregistry.log.leaf.AuthorizationLeaf` whose index the version row keeps. All on
the caller's connection, inside the caller's transaction: records and leaves commit together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from metaregistry.article6.tables import authorization_table as _current
from metaregistry.article6.tables import authorization_version_table as _versions
from metaregistry.authorization import Authorization
from metaregistry.canonical import canonicalize
from metaregistry.index.bulk import insert_raw
from metaregistry.log import store as log_store
from metaregistry.log.leaf import AuthorizationLeaf

__all__ = [
    "StoredAuthorization",
    "VersionEntry",
    "authorizations",
    "get_authorization",
    "history",
    "upsert_authorizations",
]


@dataclass(frozen=True, slots=True)
class StoredAuthorization:
    """A version the upsert wrote (a new authorization or a changed one)."""

    authorization: Authorization
    version: int
    leaf_idx: int


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One stored version, as history shows it."""

    version: int
    authorization: Authorization
    leaf_idx: int


def _version_text(auth: Authorization) -> str:
    return canonicalize(auth.to_json()).decode("utf-8")


def upsert_authorizations(
    conn: sa.Connection,
    items: Sequence[Authorization],
    *,
    connector: str,
    raw_payloads: Mapping[str, str] | None = None,
) -> list[StoredAuthorization]:
    """Store authorizations (``observed_at``, ``raw_hash``, ``record_hash`` set); returns the
    versions written, in order. A key repeated in ``items`` is written as successive
    versions, the last winning."""
    current: dict[tuple[str, str], tuple[int, str]] = {}
    for registry in {a.registry for a in items}:
        ids = [a.authorization_id for a in items if a.registry == registry]
        query = sa.select(
            _current.c.authorization_id, _current.c.version, _current.c.record_hash
        ).where(_current.c.registry == registry, _current.c.authorization_id.in_(ids))
        for ident, version, record_hash in conn.execute(query):
            current[(registry, ident)] = (int(version), str(record_hash))
    written: list[tuple[Authorization, int, bool]] = []
    for auth in items:
        found = current.get(auth.key)
        if found is not None and found[1] == auth.record_hash:
            continue
        version = 1 if found is None else found[0] + 1
        written.append((auth, version, found is None))
        current[auth.key] = (version, auth.record_hash or "")
    if not written:
        return []
    leaves = log_store.append_leaves(
        conn,
        [
            AuthorizationLeaf(a.registry, a.authorization_id, v, a.record_hash or "")
            for a, v, _ in written
        ],
    )
    out: list[StoredAuthorization] = []
    raws: dict[str, None] = {}
    for (auth, version, new), leaf_idx in zip(written, leaves, strict=True):
        text = _version_text(auth)
        row = {
            "registry": auth.registry,
            "authorization_id": auth.authorization_id,
            "version": version,
            "content": text,
            "record_hash": auth.record_hash,
            "raw_hash": auth.raw_hash,
            "observed_at": auth.observed_at,
            "connector": connector,
        }
        conn.execute(sa.insert(_versions), [dict(row, leaf_idx=leaf_idx)])
        current_row = dict(
            row,
            kind=auth.kind,
            host_party=auth.host_party,
            activity_id=auth.activity_id,
            status=auth.status,
        )
        if new:
            conn.execute(sa.insert(_current), [current_row])
        else:
            conn.execute(
                sa.update(_current)
                .where(
                    _current.c.registry == auth.registry,
                    _current.c.authorization_id == auth.authorization_id,
                )
                .values(**current_row)
            )
        raws[auth.raw_hash or ""] = None
        out.append(StoredAuthorization(auth, version, leaf_idx))
    fresh = [(h, connector, raw_payloads[h]) for h in raws if raw_payloads and h in raw_payloads]
    if fresh:
        insert_raw(conn, fresh)
    return out


def _from_text(text: str) -> Authorization:
    return Authorization.from_json(json.loads(text))


def get_authorization(
    conn: sa.Connection, registry: str, authorization_id: str
) -> Authorization | None:
    query = sa.select(_current.c.content).where(
        _current.c.registry == registry, _current.c.authorization_id == authorization_id
    )
    text = conn.execute(query).scalar_one_or_none()
    return None if text is None else _from_text(text)


def authorizations(
    conn: sa.Connection,
    *,
    host_party: str | None = None,
    activity_id: str | None = None,
    kind: str | None = None,
) -> list[Authorization]:
    """Current authorizations, optionally of one host party, activity or kind, in key order."""
    query = sa.select(_current.c.content).order_by(_current.c.registry, _current.c.authorization_id)
    if host_party is not None:
        query = query.where(_current.c.host_party == host_party)
    if activity_id is not None:
        query = query.where(_current.c.activity_id == activity_id)
    if kind is not None:
        query = query.where(_current.c.kind == kind)
    return [_from_text(text) for text in conn.execute(query).scalars()]


def history(conn: sa.Connection, registry: str, authorization_id: str) -> list[VersionEntry]:
    """Every version of an authorization, oldest first, with its leaf index."""
    query = (
        sa.select(_versions.c.version, _versions.c.content, _versions.c.leaf_idx)
        .where(
            _versions.c.registry == registry,
            _versions.c.authorization_id == authorization_id,
        )
        .order_by(_versions.c.version)
    )
    return [
        VersionEntry(int(version), _from_text(text), int(leaf))
        for version, text, leaf in conn.execute(query)
    ]
