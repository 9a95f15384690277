"""The operator's audit of the Article 6 authorizations against the log (issue 19), run by
``metaregistry audit`` beside its block and alert checks: every version row's content hashes
to its ``record_hash``, its leaf (``leaf_idx``) is the authorization leaf of that record,
version and hash; every authorization leaf of the log has its row; each current row is its
newest version."""

from __future__ import annotations

import json
from collections.abc import Mapping
from hashlib import sha256
from typing import TYPE_CHECKING

import sqlalchemy as sa

from metaregistry.article6.tables import authorization_table, authorization_version_table
from metaregistry.authorization import Authorization
from metaregistry.canonical import canonicalize
from metaregistry.log.leaf import AuthorizationLeaf

if TYPE_CHECKING:
    from metaregistry.audit import AuditReport

__all__ = ["check_authorizations"]

_VERSIONS = "article6_authorization_version"


def _content_hash(text: str) -> str | None:
    try:
        return sha256(canonicalize(Authorization.from_json(json.loads(text)).content())).hexdigest()
    except (ValueError, TypeError):
        return None


def check_authorizations(
    conn: sa.Connection, report: AuditReport, leaves: Mapping[int, AuthorizationLeaf]
) -> None:
    v = authorization_version_table
    seen: set[int] = set()
    newest: dict[tuple[str, str], tuple[int, str]] = {}
    count = 0
    for row in conn.execute(sa.select(v).order_by(v.c.id)).mappings():
        count += 1
        key = (str(row["registry"]), str(row["authorization_id"]))
        name = f"{key[0]}/{key[1]} version {row['version']}"
        if _content_hash(row["content"]) != row["record_hash"]:
            report.add(_VERSIONS, name, f"its content does not hash to {row['record_hash']}")
        leaf = leaves.get(int(row["leaf_idx"]))
        expected = AuthorizationLeaf(key[0], key[1], int(row["version"]), row["record_hash"])
        if leaf is None:
            report.add(_VERSIONS, name, f"the log has no authorization leaf {row['leaf_idx']}")
        elif leaf != expected:
            report.add(_VERSIONS, name, f"leaf {row['leaf_idx']} holds {leaf}, not this version")
        seen.add(int(row["leaf_idx"]))
        if key not in newest or newest[key][0] < int(row["version"]):
            newest[key] = (int(row["version"]), str(row["record_hash"]))
    for index in sorted(leaves.keys() - seen):
        leaf = leaves[index]
        report.add(
            _VERSIONS,
            f"{leaf.registry}/{leaf.authorization_id} version {leaf.version}",
            f"the log holds this version (leaf {index}), the row is missing (deleted)",
        )
    c = authorization_table
    for row in conn.execute(sa.select(c)).mappings():
        key = (str(row["registry"]), str(row["authorization_id"]))
        top = newest.get(key)
        if top is None or (int(row["version"]), str(row["record_hash"])) != top:
            report.add(
                "article6_authorization",
                f"{key[0]}/{key[1]}",
                f"the current row (version {row['version']}) is not its newest logged version",
            )
        elif _content_hash(row["content"]) != row["record_hash"]:
            report.add(
                "article6_authorization",
                f"{key[0]}/{key[1]}",
                f"its content does not hash to {row['record_hash']}",
            )
    report.checked["authorization versions"] = count
