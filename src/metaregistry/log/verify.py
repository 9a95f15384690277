"""The independent verifier: with only the log's public key, check what a source says.

Checks, each failing with a :class:`VerificationError` that says which and why:

1. the latest checkpoint is signed by the key (a swapped key or an edited note fails);
2. it is consistent with a checkpoint saved earlier: the log only grew (a fork, a rewrite
   or a rollback fails);
3. each named record's logged versions are included in the signed tree, at the index the
   log lists them (a changed, deleted or moved leaf fails); from a server (``--url``), the
   record as it is served, and every block served for each named serial, is recomputed:
   content to ``record_hash``, that to the proved leaf, history to the logged versions
   (:mod:`metaregistry.log.served`; a rewritten index row fails, naming record and field);
4. (export, or ``all_leaves``) every leaf hashes up to the signed root: indexes run
   0, 1, 2 ... without gaps, each leaf's bytes hash to the hash the log recorded, and the
   root of the first ``size`` leaves is the signed one at every checkpoint the source has,
   which narrows a change down to the leaves between two checkpoints.

Errors: :class:`VerificationError` when a check fails (the log is not what its key signed),
:class:`~metaregistry.log.sources.LogSourceError` when the API or export cannot be read.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from metaregistry.log import merkle
from metaregistry.log.checkpoint import SignedCheckpoint, verify_checkpoint
from metaregistry.log.compact import extend
from metaregistry.log.leaf import BlockLeaf, LeafFormatError, parse_leaf
from metaregistry.log.merkle import ProofError
from metaregistry.log.note import NoteError, Verifier
from metaregistry.log.served import (
    LoggedAlerts,
    ServedError,
    check_served_alerts,
    check_served_block,
    signed_heads,
)
from metaregistry.log.sources import HttpSource, LogSource, LogSourceError

__all__ = ["LogSourceError", "Outcome", "VerificationError", "verify_log"]


class VerificationError(Exception):
    """A check failed; the message names the check and what was found."""


@dataclass
class Outcome:
    """What was checked: the latest checkpoint and one line per check that passed."""

    checkpoint: SignedCheckpoint
    checks: list[str] = field(default_factory=list)


def _checkpoint(note: str, verifier: Verifier, what: str) -> SignedCheckpoint:
    try:
        return verify_checkpoint(note, verifier)
    except NoteError as exc:
        raise VerificationError(f"{what}: {exc}") from exc


def verify_log(
    source: LogSource,
    verifier: Verifier,
    *,
    saved: str | None = None,
    records: Sequence[tuple[str, str]] = (),
    all_leaves: bool = False,
    serials: Sequence[str] = (),
) -> Outcome:
    """Run the checks of this module's docstring; raises at the first that fails."""
    try:
        return _verify(source, verifier, saved, records, all_leaves, serials)
    except ServedError as exc:
        raise VerificationError(str(exc)) from exc


def _verify(
    source: LogSource,
    verifier: Verifier,
    saved: str | None,
    records: Sequence[tuple[str, str]],
    all_leaves: bool,
    serials: Sequence[str],
) -> Outcome:
    latest = _checkpoint(source.checkpoint(), verifier, "latest checkpoint")
    outcome = Outcome(latest)
    outcome.checks.append(
        f"checkpoint {latest.origin} size {latest.size} root {latest.root.hex()} is signed by "
        f"the key"
    )
    if saved is not None:
        outcome.checks.append(_check_consistency(source, verifier, saved, latest))
    alerts = _LazyAlerts(source, latest) if isinstance(source, HttpSource) else None
    for registry, record_id in records:
        outcome.checks.extend(_check_record(source, latest, registry, record_id))
        if isinstance(source, HttpSource) and alerts is not None:
            outcome.checks.extend(
                _check_served_record(source, verifier, latest, registry, record_id, alerts)
            )
    if serials and not isinstance(source, HttpSource):
        raise VerificationError("--serial needs a server (--url): an export serves no lookups")
    for serial in serials:
        assert isinstance(source, HttpSource)
        assert alerts is not None
        outcome.checks.extend(_check_served_serial(source, verifier, latest, serial, alerts))
    if all_leaves:
        outcome.checks.append(_check_leaves(source, verifier, latest))
    return outcome


def _check_consistency(
    source: LogSource, verifier: Verifier, saved_note: str, latest: SignedCheckpoint
) -> str:
    saved = _checkpoint(saved_note, verifier, "saved checkpoint")
    if saved.origin != latest.origin:
        raise VerificationError(
            f"the saved checkpoint is of log {saved.origin!r}, the server's of {latest.origin!r}"
        )
    if saved.size > latest.size:
        raise VerificationError(
            f"the log shrank from {saved.size} leaves (saved checkpoint) to {latest.size}: "
            "it was rolled back or rewritten"
        )
    proof = source.consistency_proof(saved.size, latest.size)
    try:
        merkle.verify_consistency(saved.size, latest.size, saved.root, latest.root, proof)
    except ProofError as exc:
        raise VerificationError(
            f"the checkpoint of size {latest.size} is not consistent with the saved checkpoint "
            f"of size {saved.size}: the log was forked or rewritten ({exc})"
        ) from exc
    return f"consistent with the saved checkpoint of size {saved.size}"


def _check_record(
    source: LogSource, latest: SignedCheckpoint, registry: str, record_id: str
) -> list[str]:
    name = f"record {registry}/{record_id}"
    found = [leaf for leaf in source.record_leaves(registry, record_id) if leaf.index < latest.size]
    if not found:
        raise VerificationError(f"{name} has no leaf in the log at size {latest.size}")
    checks = []
    for leaf in found:
        try:
            entry = parse_leaf(leaf.data)
        except LeafFormatError as exc:
            raise VerificationError(f"{name}: leaf {leaf.index} is malformed: {exc}") from exc
        if not isinstance(entry, BlockLeaf) or (entry.registry, entry.record_id) != (
            registry,
            record_id,
        ):
            raise VerificationError(f"{name}: leaf {leaf.index} is of another record: {entry}")
        what = f"{name} version {entry.version} (record_hash {entry.record_hash})"
        leaf_hash = merkle.leaf_hash(leaf.data)
        proved = source.inclusion_proof(leaf_hash, latest.size)
        if proved is None:
            raise VerificationError(
                f"{what} is listed at leaf {leaf.index}, but no leaf with its hash "
                f"{leaf_hash.hex()} is in the signed tree: the stored leaf was changed"
            )
        index, proof = proved
        try:
            merkle.verify_inclusion(index, latest.size, leaf_hash, proof, latest.root)
        except ProofError as exc:
            raise VerificationError(
                f"{what} is not in the signed tree of size {latest.size}: {exc}"
            ) from exc
        if index != leaf.index:
            raise VerificationError(
                f"{what} is listed at leaf {leaf.index}, but the signed tree has it at leaf "
                f"{index}: leaves were reordered"
            )
        checks.append(f"{what} is leaf {index} of the signed tree")
    return checks


def _served_body(status: int, body: Any, what: str) -> dict[str, Any]:
    if status == 200 and isinstance(body, dict):
        return body
    if isinstance(body, dict) and body.get("error") == "integrity_error":
        raise VerificationError(f"the server refuses {what}: {body.get('message')}")
    message = body.get("message") if isinstance(body, dict) else None
    raise VerificationError(f"the server does not serve {what}: HTTP {status} {message or ''}")


class _LazyAlerts:
    """The server's alert events, read and checked against the log once, when first needed."""

    def __init__(self, source: HttpSource, latest: SignedCheckpoint) -> None:
        self._source, self._latest = source, latest
        self._read: LoggedAlerts | None = None

    def get(self) -> LoggedAlerts:
        if self._read is None:
            self._read = LoggedAlerts.read(self._source.alert_events(), self._proved)
        return self._read

    def _proved(self, leaf_hash: bytes) -> bool | None:
        found = self._source.inclusion_proof(leaf_hash, self._latest.size)
        if found is None:
            return None if self._source.leaf_is_pending(leaf_hash, self._latest.size) else False
        index, proof = found
        try:
            merkle.verify_inclusion(index, self._latest.size, leaf_hash, proof, self._latest.root)
        except ProofError:
            return False
        return True


def _check_block_alerts(block: dict[str, Any], alerts: _LazyAlerts) -> list[str]:
    if "alerts" not in block:
        return []
    return [check_served_alerts(block, alerts.get())]


def _check_served_record(
    source: HttpSource,
    verifier: Verifier,
    latest: SignedCheckpoint,
    registry: str,
    record_id: str,
    alerts: _LazyAlerts,
) -> list[str]:
    answer = _served_body(
        *source.served_record(registry, record_id), f"record {registry}/{record_id}"
    )
    heads = signed_heads(answer.get("checkpoint"), latest, verifier)
    block = answer.get("block")
    if not isinstance(block, dict):
        raise VerificationError(f"record {registry}/{record_id}: the answer has no block")
    if (block.get("registry"), block.get("record_id")) != (registry, record_id):
        raise VerificationError(
            f"record {registry}/{record_id}: the server answered with record "
            f"{block.get('registry')}/{block.get('record_id')}"
        )
    checked = check_served_block(block, heads, source.record_leaves(registry, record_id))
    return [checked, *_check_block_alerts(block, alerts)]


def _check_served_serial(
    source: HttpSource,
    verifier: Verifier,
    latest: SignedCheckpoint,
    serial: str,
    alerts: _LazyAlerts,
) -> list[str]:
    answer = _served_body(*source.served_serial(serial), f"serial {serial}")
    heads = signed_heads(answer.get("checkpoint"), latest, verifier)
    blocks = answer.get("blocks")
    if not isinstance(blocks, list) or not blocks:
        raise VerificationError(f"serial {serial}: the answer has no blocks")
    checks = []
    for block in blocks:
        checks.append(check_served_block(block, heads))
        checks.extend(_check_block_alerts(block, alerts))
    return checks


def _check_leaves(source: LogSource, verifier: Verifier, latest: SignedCheckpoint) -> str:
    heads: dict[int, SignedCheckpoint] = {latest.size: latest}
    for note in source.checkpoints():
        try:
            head = verify_checkpoint(note, verifier)
        except NoteError:
            continue  # another origin's key, say: only signed heads count
        if head.origin == latest.origin and head.size <= latest.size:
            heads.setdefault(head.size, head)
    sizes = sorted(heads)
    frontier: dict[int, bytes] = {}
    count, matched = 0, 0
    if sizes[0] == 0:
        matched = _check_root(frontier, heads[sizes.pop(0)], matched)
    for leaf in source.leaves():
        if leaf.index != count:
            raise VerificationError(_order_problem(count, leaf.index))
        computed = merkle.leaf_hash(leaf.data)
        if leaf.recorded_hash is not None and leaf.recorded_hash != computed:
            raise VerificationError(
                f"leaf {count}: its bytes hash to {computed.hex()}, but the log recorded "
                f"{leaf.recorded_hash.hex()}: the leaf was changed"
            )
        _, count = extend(frontier, count, [computed])
        while sizes and sizes[0] == count:
            matched = _check_root(frontier, heads[sizes.pop(0)], matched)
    if count < latest.size:
        raise VerificationError(
            f"the log holds {count} leaves, but its checkpoint covers {latest.size}: "
            f"leaves {count} to {latest.size - 1} are missing"
        )
    return f"all {latest.size} leaves hash to the signed root ({len(heads)} checkpoints checked)"


def _order_problem(expected: int, found: int) -> str:
    if found > expected:
        return f"leaf {expected} is missing: leaf indexes jump from {expected - 1} to {found}"
    return f"leaf {found} appears again after leaf {expected - 1}: leaves were reordered"


def _check_root(frontier: dict[int, bytes], head: SignedCheckpoint, matched: int) -> int:
    # The frontier's perfect subtrees, biggest first, fold into the root (merkle.range_hash).
    hashes = [frontier[level] for level in sorted(frontier, reverse=True)]
    computed = merkle.range_hash(hashes) if hashes else merkle.EMPTY_ROOT
    if computed != head.root:
        raise VerificationError(
            f"the first {head.size} leaves hash to {computed.hex()}, but the checkpoint of size "
            f"{head.size} signed {head.root.hex()}: a leaf from {matched} to {head.size - 1} "
            "was changed, removed or reordered"
        )
    return head.size
