"""Checks of what a server *serves*, not only of what its log holds: ``metaregistry verify
--url URL --record R`` and ``--serial S``.

A served block is checked end to end, with nothing but the log's public key:

1. its content fields (``registry`` ... ``itmo_id``, nulls omitted) hash, in RFC 8785 bytes,
   to ``provenance.record_hash``;
2. ``(registry, record_id, version, record_hash)`` is the leaf its proof proves
   (``proof.leaf_hash``), and the proof leads to the root of the answer's checkpoint, which
   is signed by the key; a block without a proof, or with a ``pending`` one, is not verified;
3. every history entry's content (its ``content``, or the block's own for the current
   version) hashes to the entry's ``record_hash``, the newest entry is the block's version,
   and (record mode) the history's versions and hashes are exactly the leaves the log lists
   for the record.

4. the alerts served with it are the alerts the logged events leave open on the record:
   every event of the server's feed hashes (RFC 8785 event document) to its ``event_hash``,
   which is its ``alert_event`` leaf in the signed tree (events after the checkpoint are
   pending, not checked), and each served alert is as its newest logged event recorded it
   (an edited, deleted or invented alert fails).

A server that finds its own index disagreeing with its log answers 500 ``integrity_error``
naming the record and the fields; that is reported as a failure too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from metaregistry.canonical import hash_json
from metaregistry.log import merkle
from metaregistry.log.binding import block_leaf_hash, content_of, record_hash_of
from metaregistry.log.checkpoint import SignedCheckpoint, verify_checkpoint
from metaregistry.log.leaf import BlockLeaf, EventLeaf, LeafFormatError, parse_leaf
from metaregistry.log.merkle import ProofError
from metaregistry.log.note import NoteError, Verifier
from metaregistry.log.sources import SourceLeaf

__all__ = ["LoggedAlerts", "ServedError", "check_served_alerts", "check_served_block"]

#: History fields that repeat content fields: a served entry must agree with its content.
_ENTRY_FIELDS = ("status", "status_date")


class ServedError(Exception):
    """What a server served does not match its log (the message names record and field)."""


def _fields_disagreeing(block: Mapping[str, Any], entry: Mapping[str, Any]) -> list[str]:
    return [name for name in _ENTRY_FIELDS if name in entry and entry[name] != block.get(name)]


def _check_content(name: str, block: Mapping[str, Any], record_hash: Any) -> None:
    computed = record_hash_of(block)
    if computed == record_hash:
        return
    raise ServedError(
        f"{name}: the served content does not hash to provenance.record_hash {record_hash} "
        f"(it hashes to {computed}): one of the fields {', '.join(sorted(content_of(block)))} "
        "was changed after the record was logged"
    )


def _check_proof(
    name: str,
    block: Mapping[str, Any],
    record_hash: str,
    checkpoints: Mapping[int, SignedCheckpoint],
) -> str:
    proof = block.get("proof")
    version = block.get("version")
    if not isinstance(proof, dict):
        raise ServedError(
            f"{name}: served without an inclusion proof: version {version} is not in the log"
        )
    if proof.get("pending"):
        raise ServedError(
            f"{name}: version {version} was logged after the latest checkpoint (proof pending): "
            "it cannot be verified until a checkpoint is published"
        )
    leaf = block_leaf_hash(
        str(block.get("registry")),
        str(block.get("record_id")),
        version if isinstance(version, int) else -1,
        record_hash,
    )
    if leaf is None or leaf.hex() != proof.get("leaf_hash"):
        raise ServedError(
            f"{name}: proof.leaf_hash {proof.get('leaf_hash')} is not the leaf of version "
            f"{version} with record_hash {record_hash} ({leaf.hex() if leaf else 'none'})"
        )
    size = proof.get("tree_size")
    head = checkpoints.get(size) if isinstance(size, int) else None
    if head is None or not isinstance(size, int):
        raise ServedError(
            f"{name}: the proof is for a tree of size {size}, which no checkpoint "
            "signed by the key covers"
        )
    try:
        merkle.verify_inclusion(
            int(proof["leaf_index"]),
            size,
            leaf,
            [bytes.fromhex(h) for h in proof["hashes"]],
            head.root,
        )
    except (ProofError, KeyError, TypeError, ValueError) as exc:
        raise ServedError(
            f"{name}: version {version} is not in the signed tree of size {size}: {exc}"
        ) from exc
    return f"leaf {proof['leaf_index']} of the signed tree of size {size}"


def _check_history(
    name: str,
    block: Mapping[str, Any],
    record_hash: str,
    logged: Sequence[SourceLeaf] | None,
) -> int:
    history = block.get("history")
    if not isinstance(history, list) or not history:
        raise ServedError(f"{name}: served without a history")
    for entry in history:
        number = entry.get("version")
        current = number == block.get("version")
        content = block if current and "content" not in entry else entry.get("content")
        if not isinstance(content, dict):
            raise ServedError(f"{name}: history version {number} has no content to check")
        computed = record_hash_of(content)
        if computed != entry.get("record_hash"):
            raise ServedError(
                f"{name}: history version {number}: its content does not hash to its record_hash "
                f"{entry.get('record_hash')} (it hashes to {computed})"
            )
        wrong = _fields_disagreeing(content, entry)
        if wrong:
            field = wrong[0]
            raise ServedError(
                f"{name}: history version {number} shows {field} {entry.get(field)!r}, but its "
                f"content says {content.get(field)!r}"
            )
    last = history[-1]
    if (last.get("version"), last.get("record_hash")) != (block.get("version"), record_hash):
        raise ServedError(
            f"{name}: the newest history entry is version {last.get('version')} with "
            f"record_hash {last.get('record_hash')}, the block is version {block.get('version')} "
            f"with {record_hash}"
        )
    if logged is not None:
        _check_against_leaves(name, history, logged)
    return len(history)


def _check_against_leaves(
    name: str, history: Sequence[Mapping[str, Any]], logged: Sequence[SourceLeaf]
) -> None:
    leaves: dict[int, str] = {}
    for leaf in logged:
        try:
            entry = parse_leaf(leaf.data)
        except LeafFormatError:
            continue  # the log checks report a malformed leaf
        if isinstance(entry, BlockLeaf):
            leaves.setdefault(entry.version, entry.record_hash)
    served = {int(e["version"]): str(e["record_hash"]) for e in history}
    for version in sorted(served.keys() | leaves.keys()):
        if version not in leaves:
            raise ServedError(f"{name}: history version {version} is not in the log")
        if version not in served:
            raise ServedError(f"{name}: the log holds version {version}, the history omits it")
        if served[version] != leaves[version]:
            raise ServedError(
                f"{name}: history version {version} has record_hash {served[version]}, the "
                f"log's leaf for it holds {leaves[version]}"
            )


def signed_heads(
    answer_checkpoint: Any, latest: SignedCheckpoint, verifier: Verifier
) -> dict[int, SignedCheckpoint]:
    """Checkpoints a served proof may refer to: the latest one (already verified) and the
    answer's own, when it is signed by the key."""
    heads = {latest.size: latest}
    note = answer_checkpoint.get("note") if isinstance(answer_checkpoint, dict) else None
    if isinstance(note, str):
        try:
            head = verify_checkpoint(note, verifier)
        except NoteError as exc:
            raise ServedError(f"the answer's checkpoint is not signed by the key: {exc}") from exc
        if head.origin == latest.origin:
            heads.setdefault(head.size, head)
    return heads


def check_served_block(
    block: Mapping[str, Any],
    checkpoints: Mapping[int, SignedCheckpoint],
    logged: Sequence[SourceLeaf] | None = None,
) -> str:
    """Run the checks of this module's docstring on one served block; returns what passed,
    raises :class:`ServedError` naming the record and the field at the first that fails.
    ``logged``: the record's leaves, to hold the history against (record mode)."""
    name = f"record {block.get('registry')}/{block.get('record_id')}"
    provenance = block.get("provenance")
    record_hash = provenance.get("record_hash") if isinstance(provenance, dict) else None
    if not isinstance(record_hash, str):
        raise ServedError(f"{name}: served without provenance.record_hash")
    _check_content(name, block, record_hash)
    where = _check_proof(name, block, record_hash, checkpoints)
    versions = _check_history(name, block, record_hash, logged)
    return (
        f"{name} as served: content hashes to record_hash {record_hash}, version "
        f"{block.get('version')} is {where}, {versions} history entries check"
    )


#: Fields of a served alert summary and, for each, how the logged alert document says it.
_ALERT_FIELDS: dict[str, Callable[[Mapping[str, Any]], Any]] = {
    "kind": lambda a: a.get("kind"),
    "severity": lambda a: a.get("severity"),
    "status": lambda a: a.get("status"),
    "explanation": lambda a: a.get("explanation"),
    "registries": lambda a: [a.get("registry_a"), a.get("registry_b")],
    "overlap": lambda a: {
        "block_start": a.get("overlap_start"),
        "block_end": a.get("overlap_end"),
        "quantity": a.get("overlap_size"),
    },
}


@dataclass
class LoggedAlerts:
    """Every alert as its newest logged event recorded it, from the feed's events, each
    checked against the log (``newest``: alert id -> (event id, alert document))."""

    newest: dict[str, tuple[int, dict[str, Any]]] = field(default_factory=dict)
    events: int = 0
    pending: int = 0

    @classmethod
    def read(
        cls, events: Iterable[Mapping[str, Any]], proved: Callable[[bytes], bool | None]
    ) -> LoggedAlerts:
        """``proved(leaf_hash)``: True when the leaf is in the signed tree, None when it was
        logged after the checkpoint, False when it is not in the log."""
        out = cls()
        for event in events:
            out.events += 1
            ident = event.get("id")
            document = {k: event.get(k) for k in ("alert_id", "type", "at", "alert")}
            name = f"alert {event.get('alert_id')} event {ident}"
            if hash_json(document) != event.get("event_hash"):
                raise ServedError(
                    f"{name}: the served event does not hash to its event_hash "
                    f"{event.get('event_hash')}: it was changed"
                )
            leaf = merkle.leaf_hash(EventLeaf(str(ident), str(event["event_hash"])).data())
            found = proved(leaf)
            if found is False:
                raise ServedError(f"{name}: its leaf is not in the log")
            out.pending += found is None
            alert = event.get("alert")
            if isinstance(alert, dict) and isinstance(ident, int):
                out.newest[str(event.get("alert_id"))] = (ident, alert)
        return out

    def open_on(self, registry: str, record_id: str) -> dict[str, tuple[int, dict[str, Any]]]:
        """The alerts the log leaves open (not resolved) that name this record."""
        return {
            alert_id: (ident, alert)
            for alert_id, (ident, alert) in self.newest.items()
            if alert.get("status") != "resolved"
            and any(
                (side.get("registry"), side.get("record_id")) == (registry, record_id)
                for side in alert.get("sides") or []
                if isinstance(side, dict)
            )
        }


def check_served_alerts(block: Mapping[str, Any], logged: LoggedAlerts) -> str:
    """The alerts served with ``block`` are those its logged events leave open on it, each as
    its newest event recorded it; raises :class:`ServedError` naming record, alert, field."""
    name = f"record {block.get('registry')}/{block.get('record_id')}"
    expected = logged.open_on(str(block.get("registry")), str(block.get("record_id")))
    served = {str(a.get("id")): a for a in block.get("alerts") or [] if isinstance(a, dict)}
    for alert_id in sorted(served.keys() - expected.keys()):
        if alert_id in logged.newest:
            raise ServedError(
                f"{name}: alert {alert_id} is served as open, its newest logged "
                f"event ({logged.newest[alert_id][0]}) resolved it"
            )
        raise ServedError(f"{name}: alert {alert_id} is served, but no logged event records it")
    for alert_id in sorted(expected.keys() - served.keys()):
        raise ServedError(
            f"{name}: the log leaves alert {alert_id} open on this record "
            f"(event {expected[alert_id][0]}), the server does not show it"
        )
    for alert_id, alert in served.items():
        ident, recorded = expected[alert_id]
        for field_name, read in _ALERT_FIELDS.items():
            if field_name in alert and alert[field_name] != read(recorded):
                raise ServedError(
                    f"{name}: alert {alert_id} is served with {field_name} "
                    f"{alert[field_name]!r}, its newest logged event ({ident}) says "
                    f"{read(recorded)!r}"
                )
    alerts = "1 open alert" if len(served) == 1 else f"{len(served)} open alerts"
    return f"{name}: {alerts} as the log's events record them"
