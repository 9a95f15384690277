"""Authorization records through the same steps as blocks: raw form (personal data stripped,
RFC 8785 bytes, ``raw_hash``), raw schema, the connector's ``normalize_authorization``, the
normalized schema, ``record_hash``. A record that fails a step is quarantined with its stage
and reason, like a block (:class:`~metaregistry.index.store.QuarantineEntry`); nothing is lost.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from hashlib import sha256

import sqlalchemy as sa

from metaregistry.authorization import Authorization
from metaregistry.canonical import CanonicalizationError, canonicalize, hash_json
from metaregistry.connector import Connector, RawRecord, RecordError
from metaregistry.index.store import QuarantineEntry
from metaregistry.pipeline import raw_form
from metaregistry.schemas import validator

__all__ = [
    "AUTHORIZATION_SCHEMA",
    "PreparedAuthorizations",
    "StoredPage",
    "prepare_authorizations",
    "store_page",
]

AUTHORIZATION_SCHEMA = "normalized/authorization.schema.json"
_TEXT_FIELDS = ("authorization_id", "activity_id", "jurisdiction", "reference")


@dataclass(slots=True)
class PreparedAuthorizations:
    authorizations: list[Authorization] = field(default_factory=list)
    raw_payloads: dict[str, str] = field(default_factory=dict)
    quarantined: list[QuarantineEntry] = field(default_factory=list)


def prepare_authorizations(
    connector: Connector,
    records: Iterable[RawRecord],
    observed_at: str,
    *,
    raw_schema: str | None = None,
) -> PreparedAuthorizations:
    """Each record to an :class:`Authorization` or a quarantine entry."""
    out = PreparedAuthorizations()
    for record in records:
        _prepare(connector, record, observed_at, raw_schema, out)
    return out


def _prepare(
    connector: Connector,
    record: RawRecord,
    observed_at: str,
    raw_schema: str | None,
    out: PreparedAuthorizations,
) -> None:
    def reject(stage: str, payload: object, raw_hash: str, error: str) -> None:
        out.quarantined.append(
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
    if raw_schema is not None:
        raw_validator = validator(raw_schema)
        if not raw_validator.is_valid(payload):
            issues = raw_validator.errors(payload)
            reject("raw", payload, raw_hash, "; ".join(map(str, issues)))
            return
    try:
        auth = connector.normalize_authorization(record)
    except RecordError as exc:
        reject("normalize", payload, raw_hash, str(exc))
        return
    except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
        reject("normalize", payload, raw_hash, f"{type(exc).__name__}: {exc}")
        return
    for name in _TEXT_FIELDS:
        value = getattr(auth, name)
        if value is not None and not unicodedata.is_normalized("NFC", value):
            setattr(auth, name, unicodedata.normalize("NFC", value))
    content = auth.content()
    checker = validator(AUTHORIZATION_SCHEMA)
    if not checker.is_valid(content):
        reject("normalized", payload, raw_hash, "; ".join(map(str, checker.errors(content))))
        return
    if (
        auth.vintage_from is not None
        and auth.vintage_to is not None
        and auth.vintage_to < auth.vintage_from
    ):
        reject(
            "normalized",
            payload,
            raw_hash,
            f"vintage_to: {auth.vintage_to} is before vintage_from {auth.vintage_from}",
        )
        return
    auth.record_hash = sha256(canonicalize(content)).hexdigest()
    auth.raw_hash = raw_hash
    auth.observed_at = observed_at
    out.authorizations.append(auth)
    out.raw_payloads[raw_hash] = raw_bytes.decode("utf-8")


@dataclass(slots=True)
class StoredPage:
    """What :func:`store_page` did with one page of authorization records."""

    written: int
    quarantined: list[QuarantineEntry]
    keys: list[tuple[str, str]]


def store_page(
    conn: sa.Connection, connector: Connector, records: Sequence[RawRecord], observed_at: str
) -> StoredPage:
    """Prepare and store one page of authorization records on ``conn`` (the caller's
    transaction): versions, raw payloads and log leaves, and quarantine for the rest."""
    from metaregistry.article6.store import upsert_authorizations
    from metaregistry.index import store as index_store

    prepared = prepare_authorizations(connector, records, observed_at)
    stored = upsert_authorizations(
        conn, prepared.authorizations, connector=connector.name, raw_payloads=prepared.raw_payloads
    )
    index_store.quarantine(conn, prepared.quarantined)
    return StoredPage(
        written=len(stored),
        quarantined=prepared.quarantined,
        keys=[a.key for a in prepared.authorizations],
    )
