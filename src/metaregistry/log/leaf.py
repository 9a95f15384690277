"""What the log records: one leaf per new version of a unit block and per alert event.

A leaf's bytes are the RFC 8785 (JCS) bytes of a small JSON object, so anyone can rebuild
them from the record and check them against the log without this code::

    {"record_hash": "...", "record_id": "...", "registry": "...", "type": "block", "version": 3}
    {"event_hash": "...", "event_id": "...", "type": "alert_event"}
    {"authorization_id": "...", "record_hash": "...", "registry": "...", "type": "authorization",
     "version": 2}

The last is a new version of an Article 6 authorization (issue 19); its leaf index is kept on
the version row (``authorization_version.leaf_idx``), not in the leaf table's record columns.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.encoder import encode_basestring as _string
from typing import Any

from metaregistry.canonical import canonicalize

__all__ = [
    "AuthorizationLeaf",
    "BlockLeaf",
    "EventLeaf",
    "LeafEntry",
    "LeafFormatError",
    "parse_leaf",
]


class LeafFormatError(ValueError):
    """Raised when bytes are not the canonical form of a block or alert-event leaf."""


@dataclass(frozen=True, slots=True)
class BlockLeaf:
    """A new version of a unit block: ``record_hash`` is its canonical hash (hex)."""

    registry: str
    record_id: str
    version: int
    record_hash: str

    def data(self) -> bytes:
        # The RFC 8785 bytes written out directly: keys in their sorted order, strings escaped
        # as canonicalize escapes them. Five times faster than building and sorting a dict,
        # which matters at a million leaves; a property test holds it equal to canonicalize.
        if type(self.version) is not int:
            raise LeafFormatError(f"leaf version must be an integer, got {self.version!r}")
        try:
            return (
                f'{{"record_hash":{_string(self.record_hash)},"record_id":{_string(self.record_id)},'
                f'"registry":{_string(self.registry)},"type":"block","version":{self.version}}}'
            ).encode()
        except (TypeError, UnicodeEncodeError) as exc:  # a non-string, a lone surrogate
            raise LeafFormatError(f"block leaf {self!r} has no canonical form: {exc}") from exc


@dataclass(frozen=True, slots=True)
class EventLeaf:
    """An alert event (opened, changed, resolved ...): ``event_hash`` is its canonical hash."""

    event_id: str
    event_hash: str

    def data(self) -> bytes:
        return canonicalize(
            {"type": "alert_event", "event_id": self.event_id, "event_hash": self.event_hash}
        )


@dataclass(frozen=True, slots=True)
class AuthorizationLeaf:
    """A new version of an Article 6 authorization: ``record_hash`` is its canonical hash."""

    registry: str
    authorization_id: str
    version: int
    record_hash: str

    def data(self) -> bytes:
        if type(self.version) is not int:
            raise LeafFormatError(f"leaf version must be an integer, got {self.version!r}")
        return canonicalize(
            {
                "type": "authorization",
                "registry": self.registry,
                "authorization_id": self.authorization_id,
                "version": self.version,
                "record_hash": self.record_hash,
            }
        )


LeafEntry = BlockLeaf | EventLeaf | AuthorizationLeaf

_FIELDS: dict[
    str, tuple[type[BlockLeaf] | type[EventLeaf] | type[AuthorizationLeaf], dict[str, type]]
] = {
    "block": (BlockLeaf, {"registry": str, "record_id": str, "version": int, "record_hash": str}),
    "alert_event": (EventLeaf, {"event_id": str, "event_hash": str}),
    "authorization": (
        AuthorizationLeaf,
        {"registry": str, "authorization_id": str, "version": int, "record_hash": str},
    ),
}


def parse_leaf(data: bytes) -> LeafEntry:
    """The entry whose canonical bytes are ``data``. Raises :class:`LeafFormatError`."""
    try:
        obj: Any = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise LeafFormatError(f"leaf is not JSON: {exc}") from exc
    if not isinstance(obj, dict) or obj.get("type") not in _FIELDS:
        raise LeafFormatError(
            f"leaf type must be 'block', 'alert_event' or 'authorization', got {data[:80]!r}"
        )
    cls, fields = _FIELDS[obj["type"]]
    if set(obj) != {"type", *fields}:
        raise LeafFormatError(f"{obj['type']} leaf has fields {sorted(obj)}")
    for name, kind in fields.items():
        value = obj[name]
        if type(value) is not kind:
            raise LeafFormatError(f"leaf field {name} must be {kind.__name__}, got {value!r}")
    entry: LeafEntry = cls(**{name: obj[name] for name in fields})
    if entry.data() != data:
        raise LeafFormatError(f"leaf is not in canonical form: {data[:80]!r}")
    return entry
