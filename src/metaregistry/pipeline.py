"""One page through the pipeline: validate raw, normalize, validate, hash.

Nothing is lost: a record that fails any step becomes a :class:`QuarantineEntry` with the
stage and the reason, and the rest of the page goes on. Storage is the caller's (sync engine
or file import), so this module stays free of the database and the clock (``observed_at`` is
handed in).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from metaregistry.canonical import CanonicalizationError, canonicalize, hash_json
from metaregistry.connector import Connector, RawRecord, RecordError, may_hold_personal_data
from metaregistry.index.store import QuarantineEntry
from metaregistry.model import UnitBlock
from metaregistry.schemas import validator
from metaregistry.serials import SerialError

if TYPE_CHECKING:
    import sqlalchemy as sa

__all__ = [
    "UNIT_BLOCK_SCHEMA",
    "KnownHashes",
    "PreparedPage",
    "known_hashes",
    "prepare_page",
    "prepare_record",
    "raw_form",
]

UNIT_BLOCK_SCHEMA = "normalized/unit_block.schema.json"
_TEXT_FIELDS = (
    "serial",
    "status_reason",
    "origin",
    "project_id",
    "authorization_id",
    "itmo_id",
    "record_id",
    "cross_refs",
)


@dataclass(slots=True)
class PreparedPage:
    """A page ready to store. ``version_texts`` runs beside ``blocks``: the canonical JSON of
    each block as its version row keeps it, made here (off the storing thread) for blocks
    known to differ from the stored version (see :func:`prepare_page`), None where the store
    makes it if it writes one. ``unchanged`` maps the position of each block found to hash
    the same as its stored current version to the position, in the records given, of the
    record it came from (preparing processes send such blocks back as their hashes only)."""

    blocks: list[UnitBlock] = field(default_factory=list)
    raw_payloads: dict[str, str] = field(default_factory=dict)
    quarantined: list[QuarantineEntry] = field(default_factory=list)
    version_texts: list[str | None] = field(default_factory=list)
    unchanged: dict[int, int] = field(default_factory=dict)


def _nfc(block: UnitBlock) -> None:
    for name in _TEXT_FIELDS:
        value = getattr(block, name)
        if (
            value is not None
            and not value.isascii()
            and not unicodedata.is_normalized("NFC", value)
        ):
            setattr(block, name, unicodedata.normalize("NFC", value))


def _reject(
    page: PreparedPage,
    connector: Connector,
    record: RawRecord,
    stage: str,
    payload: object,
    raw_hash: str,
    error: str,
) -> None:
    page.quarantined.append(
        QuarantineEntry(
            connector=connector.name,
            stream=record.stream,
            ref=record.ref,
            raw_hash=raw_hash,
            payload=payload,
            stage=stage,
            error=error,
        )
    )


def prepare_record(
    connector: Connector, record: RawRecord, observed_at: str, page: PreparedPage
) -> None:
    """Run one record through the pipeline, adding it to ``page`` as a block or a quarantine
    entry. Nothing a record holds stops the page: a failure no stage foresaw (nesting too
    deep to walk, a number too long to print, a connector bug) quarantines the record with
    what went wrong, and the next record goes on."""
    try:
        _prepare_record(connector, record, observed_at, page)
    except (RecursionError, MemoryError, ValueError, TypeError, KeyError, IndexError) as exc:
        text = _safe_text(record.payload)
        _reject(
            page,
            connector,
            record,
            "raw",
            text,
            hash_json(text),
            f"the record cannot be processed: {type(exc).__name__}: {str(exc)[:200]}",
        )


def _safe_text(payload: object, limit: int = 20_000) -> str:
    """A bounded text of any payload (deep, huge or odd), for the quarantine."""
    import reprlib

    shown = reprlib.Repr()
    shown.maxlevel, shown.maxstring, shown.maxother, shown.maxlong = 6, 2_000, 2_000, 200
    shown.maxdict = shown.maxlist = 200
    return json.dumps({"_unparsed": shown.repr(payload)[:limit]}, ensure_ascii=False)


def _prepare_record(
    connector: Connector, record: RawRecord, observed_at: str, page: PreparedPage
) -> None:
    def reject(stage: str, payload: object, raw_hash: str, error: str) -> None:
        _reject(page, connector, record, stage, payload, raw_hash, error)

    if isinstance(record.payload, dict) and "_error" in record.payload:
        # a reader could not make a record of it (not UTF-8, not JSON, too long): say so
        text = _safe_text(record.payload)
        reject("raw", text, hash_json(text), f"(line): {record.payload['_error']}")
        return

    try:
        payload, raw_bytes = raw_form(connector, record)
    except (CanonicalizationError, TypeError, ValueError) as exc:
        text = json.dumps(record.payload, default=repr, ensure_ascii=False, sort_keys=True)
        reject("raw", text, hash_json(text), f"payload is not JSON-representable: {exc}")
        return
    raw_hash = sha256(raw_bytes).hexdigest()
    if not _raw_is_valid(connector, record, payload, raw_hash, page):
        return
    try:
        block = connector.normalize(record)
    except (RecordError, SerialError) as exc:
        reject("normalize", payload, raw_hash, str(exc))
        return
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        # A connector bug or an unforeseen shape: still never lose the record.
        reject("normalize", payload, raw_hash, f"{type(exc).__name__}: {exc}")
        return
    _nfc(block)
    if block.block_end < block.block_start:
        reject(
            "normalized",
            payload,
            raw_hash,
            f"block_end: {block.block_end} is before block_start {block.block_start}",
        )
        return
    if block.quantity != block.block_end - block.block_start + 1:
        reject(
            "normalized",
            payload,
            raw_hash,
            f"quantity: {block.quantity} does not match the range "
            f"{block.block_start}-{block.block_end} ({block.block_end - block.block_start + 1})",
        )
        return
    content = block.content()
    if not _content_is_valid(connector, record, content, payload, raw_hash, page):
        return
    block.record_hash = sha256(canonicalize(content)).hexdigest()
    # Whether it will be written is the store's to find out: it makes the version text then.
    _accept(block, raw_hash, raw_bytes, observed_at, page, None)


def _raw_is_valid(
    connector: Connector, record: RawRecord, payload: Any, raw_hash: str, page: PreparedPage
) -> bool:
    schema = connector.raw_schema_for(record)
    if schema is None:
        return True
    raw_validator = validator(schema)
    if raw_validator.is_valid(payload):
        return True
    issues = raw_validator.errors(payload)
    _reject(page, connector, record, "raw", payload, raw_hash, "; ".join(map(str, issues)))
    return False


def _content_is_valid(
    connector: Connector,
    record: RawRecord,
    content: dict[str, Any],
    payload: Any,
    raw_hash: str,
    page: PreparedPage,
) -> bool:
    unit_validator = validator(UNIT_BLOCK_SCHEMA)
    if unit_validator.is_valid(content):
        return True
    issues = unit_validator.errors(content)
    _reject(page, connector, record, "normalized", payload, raw_hash, "; ".join(map(str, issues)))
    return False


def _accept(
    block: UnitBlock,
    raw_hash: str,
    raw_bytes: bytes,
    observed_at: str,
    page: PreparedPage,
    content: dict[str, Any] | None,
) -> None:
    """Add ``block`` to the page; with its ``content`` (a block likely to be written), also
    its version text: ``canonicalize(block.to_json())``, built from the content dict."""
    block.raw_hash = raw_hash
    block.observed_at = observed_at
    page.blocks.append(block)
    page.raw_payloads[raw_hash] = raw_bytes.decode("utf-8")
    if content is None:
        page.version_texts.append(None)
        return
    version = dict(content, observed_at=observed_at, raw_hash=raw_hash)
    version["record_hash"] = block.record_hash
    page.version_texts.append(canonicalize(version).decode("utf-8"))


#: The stored current ``(record_hash, raw_hash)`` of each of the keys asked that is stored.
KnownHashes = Callable[[Collection[tuple[str, str]]], Mapping[tuple[str, str], tuple[str, str]]]


@dataclass(slots=True)
class _Draft:
    """A record normalized and hashed, its checks not yet run."""

    record: RawRecord
    payload: Any
    raw_bytes: bytes
    raw_hash: str
    block: UnitBlock
    content: dict[str, Any]


def prepare_page(
    connector: Connector,
    records: Iterable[RawRecord],
    observed_at: str,
    known: KnownHashes | None = None,
) -> PreparedPage:
    """Every record of a page through :func:`prepare_record`, in order.

    With ``known`` (the index's current hashes), a record whose raw payload *and* normalized
    content hash the same as the stored current version of its key skips both schema checks:
    those exact bytes passed them when they were stored, and the upsert will write nothing
    for it. Everything else takes the whole way, so blocks, quarantine entries and their
    order are those of :func:`prepare_record` (a test holds the two equal)."""
    page = PreparedPage()
    if known is None:
        for record in records:
            prepare_record(connector, record, observed_at, page)
        return page
    drafts = [_draft(connector, record) for record in records]
    stored = known({d.block.key for d in drafts if isinstance(d, _Draft)})
    for index, draft in enumerate(drafts):
        if not isinstance(draft, _Draft):
            prepare_record(connector, draft, observed_at, page)
            continue
        block = draft.block
        unchanged = stored.get(block.key) == (block.record_hash, draft.raw_hash)
        if not unchanged and not (
            _raw_is_valid(connector, draft.record, draft.payload, draft.raw_hash, page)
            and _content_is_valid(
                connector, draft.record, draft.content, draft.payload, draft.raw_hash, page
            )
        ):
            continue
        if unchanged:
            page.unchanged[len(page.blocks)] = index
        # An unchanged block will not be written: leave its version text to the store.
        _accept(
            block,
            draft.raw_hash,
            draft.raw_bytes,
            observed_at,
            page,
            None if unchanged else draft.content,
        )
    return page


def _draft(connector: Connector, record: RawRecord) -> _Draft | RawRecord:
    """The record normalized and hashed, or the record itself when any step fails (it then
    takes the whole way, which names the failure)."""
    try:
        payload, raw_bytes = raw_form(connector, record)
        block = connector.normalize(record)
        _nfc(block)
        if not block.block_start <= block.block_end:
            return record
        if block.quantity != block.block_end - block.block_start + 1:
            return record
        content = block.content()
        block.record_hash = sha256(canonicalize(content)).hexdigest()
    except Exception:  # the whole way decides what the failure means
        return record
    return _Draft(record, payload, raw_bytes, sha256(raw_bytes).hexdigest(), block, content)


def raw_form(connector: Connector, record: RawRecord) -> tuple[Any, bytes]:
    """The payload as it is validated and stored (``connector.prepare_raw``: personal data
    stripped) and its RFC 8785 bytes, which ``raw_hash`` covers.

    Fast path: with the default ``prepare_raw``, a payload whose canonical bytes show nothing
    personal (:func:`~metaregistry.connector.may_hold_personal_data`) would come out of the
    stripping unchanged, so it is canonicalized once and used as it is; anything else goes
    the whole way. A test proves both paths give the same payload and bytes."""
    payload = record.payload
    if type(connector).prepare_raw is Connector.prepare_raw and type(payload) is dict:
        try:
            raw_bytes = canonicalize(payload)
        except (CanonicalizationError, TypeError, ValueError):
            pass  # stripping may remove what fails; the whole way decides
        else:
            if not may_hold_personal_data(raw_bytes):
                return payload, raw_bytes
    prepared = connector.prepare_raw(record)
    return prepared, canonicalize(prepared)


def known_hashes(reader: sa.Engine) -> KnownHashes:
    """The ``known`` lookup of :func:`~metaregistry.pipeline.prepare_page` on ``reader``, a
    read-only engine on the database being written (not the writer's: on SQLite it begins
    every transaction IMMEDIATE, taking the write lock)."""
    from metaregistry.index import store

    def known(keys: Any) -> dict[tuple[str, str], tuple[str, str]]:
        # A short read transaction per page: it sees what the writer committed so far (a
        # stale answer only costs a skipped shortcut: the store compares again) and never
        # holds back SQLite's checkpoint.
        with reader.connect() as conn:
            return store.current_hashes(conn, keys)

    return known
