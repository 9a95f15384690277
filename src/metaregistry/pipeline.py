"""One page through the pipeline: validate raw, normalize, validate, hash.

Nothing is lost: a record that fails any step becomes a :class:`QuarantineEntry` with the
stage and the reason, and the rest of the page goes on. Storage is the caller's (sync engine
or file import), so this module stays free of the database and the clock (``observed_at`` is
handed in).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any

from metaregistry.canonical import CanonicalizationError, canonicalize, hash_json
from metaregistry.connector import Connector, RawRecord, RecordError, may_hold_personal_data
from metaregistry.index.store import QuarantineEntry
from metaregistry.model import UnitBlock
from metaregistry.schemas import validator
from metaregistry.serials import SerialError

__all__ = ["UNIT_BLOCK_SCHEMA", "PreparedPage", "prepare_page", "prepare_record", "raw_form"]

UNIT_BLOCK_SCHEMA = "normalized/unit_block.schema.json"
_TEXT_FIELDS = (
    "serial",
    "status_reason",
    "origin",
    "project_id",
    "authorization_id",
    "itmo_id",
    "record_id",
)


@dataclass(slots=True)
class PreparedPage:
    blocks: list[UnitBlock] = field(default_factory=list)
    raw_payloads: dict[str, str] = field(default_factory=dict)
    quarantined: list[QuarantineEntry] = field(default_factory=list)


def _nfc(block: UnitBlock) -> None:
    for name in _TEXT_FIELDS:
        value = getattr(block, name)
        if (
            value is not None
            and not value.isascii()
            and not unicodedata.is_normalized("NFC", value)
        ):
            setattr(block, name, unicodedata.normalize("NFC", value))


def prepare_record(
    connector: Connector, record: RawRecord, observed_at: str, page: PreparedPage
) -> None:
    """Run one record through the pipeline, adding it to ``page`` as a block or a quarantine
    entry."""

    def reject(stage: str, payload: object, raw_hash: str, error: str) -> None:
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

    try:
        payload, raw_bytes = raw_form(connector, record)
    except (CanonicalizationError, TypeError, ValueError) as exc:
        text = json.dumps(record.payload, default=repr, ensure_ascii=False, sort_keys=True)
        reject("raw", text, hash_json(text), f"payload is not JSON-representable: {exc}")
        return
    raw_hash = sha256(raw_bytes).hexdigest()
    schema = connector.raw_schema_for(record)
    if schema is not None:
        raw_validator = validator(schema)
        if not raw_validator.is_valid(payload):
            issues = raw_validator.errors(payload)
            reject("raw", payload, raw_hash, "; ".join(str(i) for i in issues))
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
    unit_validator = validator(UNIT_BLOCK_SCHEMA)
    if not unit_validator.is_valid(content):
        issues = unit_validator.errors(content)
        reject("normalized", payload, raw_hash, "; ".join(str(i) for i in issues))
        return
    block.record_hash = sha256(canonicalize(content)).hexdigest()
    block.raw_hash = raw_hash
    block.observed_at = observed_at
    page.blocks.append(block)
    page.raw_payloads[raw_hash] = raw_bytes.decode("utf-8")


def prepare_page(
    connector: Connector, records: Iterable[RawRecord], observed_at: str
) -> PreparedPage:
    page = PreparedPage()
    for record in records:
        prepare_record(connector, record, observed_at, page)
    return page


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
