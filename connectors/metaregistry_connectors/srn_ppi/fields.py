"""Readers of raw record fields and response bodies, shared by the national connectors
(SRN-PPI, TCCR, JCM). Each raises ``RecordError`` naming the field and the value, so a bad
record is quarantined with a reason an operator can act on.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx

from metaregistry.connector import FatalSourceError, RawRecord, RecordError, RetriableSourceError
from metaregistry.reading import Unreadable, json_values
from metaregistry.serials import ParsedSerial, SerialError, parse_serial
from metaregistry.serials import national as _national

__all__ = [
    "as_raw",
    "dmy",
    "integer",
    "iso_date",
    "json_body",
    "lookup",
    "optional_integer",
    "optional_lookup",
    "optional_text",
    "parse",
    "read_json_records",
    "text",
]

_ = _national  # importing it registers the SPE-GRK, T-VER and JCM grammars with parse_serial


def json_body(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a response; a body cut off mid-JSON is worth another try."""
    try:
        body = json.loads(response.content)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RetriableSourceError(f"{response.url}: body is not complete JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise FatalSourceError(f"{response.url}: body is not a JSON object")
    return body


def as_raw(item: Any, ref: str, stream: str) -> RawRecord:
    """A raw record; an item that is not an object is kept (and quarantined by the schema)."""
    if isinstance(item, dict):
        return RawRecord(item, ref, stream)
    return RawRecord({"_unparsed": item}, ref, stream)


def read_json_records(path: Path, stream: str) -> Iterator[RawRecord]:
    """Records of an NDJSON file (one object a line) or of a JSON array. A file that is
    neither is refused whole (FatalSourceError); a bad line is kept as a record that will be
    quarantined with its text."""
    if path.suffix.lower() not in (".ndjson", ".jsonl", ".json"):
        raise FatalSourceError(f"{path}: expected .ndjson, .jsonl or .json, not {path.suffix!r}")
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip()
    if head and head[:1] not in (b"{", b"["):
        raise FatalSourceError(f"{path}: not NDJSON nor a JSON array")
    for ref, item in json_values(path):
        yield (
            item.record(ref, stream) if isinstance(item, Unreadable) else as_raw(item, ref, stream)
        )


def text(payload: Mapping[str, Any], field: str) -> str:
    value = payload.get(field)
    if not isinstance(value, str) or not value.strip():
        raise RecordError("must be a non-empty string", field=field, value=value)
    return value


def optional_text(payload: Mapping[str, Any], field: str) -> str | None:
    value = payload.get(field)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise RecordError("must be a string", field=field, value=value)
    return value


def integer(payload: Mapping[str, Any], field: str) -> int:
    value = payload.get(field)
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError("must be an integer", field=field, value=value)
    return value


def optional_integer(payload: Mapping[str, Any], field: str) -> int | None:
    return None if payload.get(field) is None else integer(payload, field)


def lookup(table: Mapping[str, str], payload: Mapping[str, Any], field: str) -> str:
    """The translation of a coded field (a status word, a purpose)."""
    value = payload.get(field)
    if not isinstance(value, str) or value not in table:
        known = ", ".join(repr(k) for k in table)
        raise RecordError(f"is not one of {known}", field=field, value=value)
    return table[value]


def optional_lookup(table: Mapping[str, str], payload: Mapping[str, Any], field: str) -> str | None:
    if payload.get(field) is None:
        return None
    return lookup(table, payload, field)


def parse(serial: str, field: str) -> ParsedSerial:
    try:
        return parse_serial(serial)
    except SerialError as exc:
        raise RecordError(exc.reason, field=field, value=serial) from exc


def dmy(payload: Mapping[str, Any], field: str) -> str | None:
    """A ``DD/MM/YYYY`` date as ISO, or None when absent."""
    value = payload.get(field)
    if value is None:
        return None
    if isinstance(value, str):
        day, _, rest = value.partition("/")
        month, _, year = rest.partition("/")
        if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
            try:
                return dt.date(int(year), int(month), int(day)).isoformat()
            except ValueError:
                pass
    raise RecordError("must be a date DD/MM/YYYY", field=field, value=value)


def iso_date(payload: Mapping[str, Any], field: str) -> str | None:
    """A common-era ``YYYY-MM-DD`` date, or None when absent."""
    value = payload.get(field)
    if value is None:
        return None
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    raise RecordError("must be a date YYYY-MM-DD", field=field, value=value)
