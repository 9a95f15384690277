"""``generic``: unit blocks pushed in the normalized format, as NDJSON or CSV.

Any registry without a connector of its own (a token bridge, California's compliance
registry, a registry that exports for us) can push its blocks this way. One object (NDJSON
line) or row (CSV with the same column names) per block:

* required: ``registry``, ``record_id``, ``serial``, ``status``;
* parsed from the serial when absent: ``scheme``, ``scope``, ``block_start``, ``block_end``,
  ``quantity`` (and project, vintage and country when the serial encodes them);
* optional: every other content field of ``schemas/normalized/unit_block.schema.json``;
* ignored: the computed fields ``observed_at``, ``raw_hash``, ``record_hash`` (never taken
  from input), so ``metaregistry export`` output imports back unchanged.

Article 6 authorizations (``metaregistry article6 import FILE.ndjson``) come in the same way,
one object per line in the form of ``schemas/normalized/authorization.schema.json``; list
fields (``acquiring_parties``, ``authorized_by``, ``purposes``, ``oimp_uses``) may also be
written as one string joined by ``;``. A key the format does not know is an error naming it.

A line or row that cannot be read (not UTF-8, not JSON or not an object, a number of over 100
digits, nesting over 64 levels, a NUL, a CSV cell over the field limit, a line over 1 MB) is
quarantined with the reason and its place, and the next is read (``metaregistry.reading``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from metaregistry.authorization import ALL_FIELDS as AUTHORIZATION_FIELDS
from metaregistry.authorization import COMPUTED_FIELDS as AUTHORIZATION_COMPUTED
from metaregistry.authorization import Authorization
from metaregistry.connector import (
    Connector,
    ConnectorOptions,
    FatalSourceError,
    RawRecord,
    RecordError,
)
from metaregistry.model import CONTENT_FIELDS, UnitBlock
from metaregistry.reading import MAX_DIGITS, Unreadable, bad_text, csv_rows, json_values, unreadable
from metaregistry.serials import SerialError, parse_serial

__all__ = ["GenericConnector", "connector"]

_INT_FIELDS = ("block_start", "block_end", "quantity")
_DATE_FIELDS = ("vintage_start", "vintage_end", "status_date", "first_transfer_date")
_FROM_SERIAL = ("scheme", "scope", "block_start", "block_end")


class GenericOptions(ConnectorOptions):
    """``generic`` has no options: it imports files, it syncs nothing."""


class GenericConnector(Connector):
    name: ClassVar[str] = "generic"
    options_model: ClassVar[type[ConnectorOptions]] = GenericOptions
    registries: ClassVar[tuple[str, ...]] = ()
    raw_schema: ClassVar[str | None] = "raw/generic/unit_block.schema.json"
    description: ClassVar[str] = "Unit blocks pushed in the normalized format (NDJSON or CSV)"

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        suffix = path.suffix.lower()
        if suffix in (".ndjson", ".jsonl", ".json"):
            yield from self._read_ndjson(path)
        elif suffix == ".csv":
            yield from self._read_csv(path)
        else:
            raise FatalSourceError(
                f"{path}: generic imports .ndjson/.jsonl or .csv, not {suffix!r}"
            )

    def _read_ndjson(self, path: Path) -> Iterator[RawRecord]:
        for ref, value in json_values(path):
            if isinstance(value, Unreadable):
                yield value.record(ref)
            elif not isinstance(value, dict):
                yield unreadable("the line is not a JSON object", json.dumps(value)[:2000], ref)
            else:
                yield RawRecord(value, ref)

    def _read_csv(self, path: Path) -> Iterator[RawRecord]:
        with path.open(newline="", encoding="utf-8-sig", errors="surrogateescape") as handle:
            reader = csv.DictReader(handle)
            missing = {"registry", "record_id", "serial", "status"} - set(reader.fieldnames or ())
            if missing:
                raise FatalSourceError(
                    f"{path}: not a generic CSV, missing columns {sorted(missing)} "
                    f"(found {reader.fieldnames})"
                )
            for line, row in csv_rows(reader):
                ref = f"{path.name}:{line}"
                if isinstance(row, Unreadable):
                    yield row.record(ref)
                    continue
                reason = bad_text(row)
                if reason is not None:
                    yield unreadable(reason, ",".join(map(str, row.values())), ref)
                    continue
                payload = {k: v for k, v in row.items() if k is not None and v not in (None, "")}
                yield RawRecord(payload, ref)

    def normalize(self, record: RawRecord) -> UnitBlock:
        data = record.payload
        if "_error" in data:
            raise RecordError(str(data["_error"]), field="(line)", value=data.get("_unparsed"))
        values: dict[str, Any] = {}
        for name in CONTENT_FIELDS:
            value = data.get(name)
            # an empty scope is a value (scheme-wide numbering, as for VCS), not an absence
            if value is not None and (value != "" or name == "scope"):
                values[name] = value
        for name in _INT_FIELDS:
            if name in values:
                values[name] = _as_int(name, values[name])
        for name in _DATE_FIELDS:
            if name in values:
                values[name] = _as_date(name, values[name])
        if any(name not in values for name in _FROM_SERIAL):
            try:
                parsed = parse_serial(str(values.get("serial", "")))
            except SerialError as exc:
                raise RecordError(str(exc), field="serial", value=values.get("serial")) from exc
            values.setdefault("scheme", parsed.scheme)
            values.setdefault("scope", parsed.scope)
            values.setdefault("block_start", parsed.block_start)
            values.setdefault("block_end", parsed.block_end)
            values.setdefault("project_id", parsed.project_id)
            values.setdefault("vintage_start", parsed.vintage_start)
            values.setdefault("vintage_end", parsed.vintage_end)
            values.setdefault("country", parsed.country)
        values.setdefault("scope", "")
        if "quantity" not in values and "block_start" in values and "block_end" in values:
            values["quantity"] = values["block_end"] - values["block_start"] + 1
        for name in ("registry", "record_id", "serial", "status", "scheme"):
            if name not in values:
                raise RecordError("is required", field=name, value=None)
        return UnitBlock(**{k: v for k, v in values.items() if v is not None})

    def normalize_authorization(self, record: RawRecord) -> Authorization:
        return _authorization(record.payload)


_AUTH_LISTS = ("acquiring_parties", "authorized_by", "purposes", "oimp_uses")
_AUTH_INTS = ("vintage_from", "vintage_to", "quantity")
_AUTH_DATES = ("date", "status_date")


def _authorization(data: dict[str, Any]) -> Authorization:
    if "_error" in data:
        raise RecordError(str(data["_error"]), field="(line)", value=data.get("_unparsed"))
    unknown = sorted(set(data) - set(AUTHORIZATION_FIELDS))
    if unknown:
        raise RecordError("is not a field of an authorization", field=unknown[0], value=None)
    values = {
        k: v
        for k, v in data.items()
        if k not in AUTHORIZATION_COMPUTED and v is not None and v != ""
    }
    for name in _AUTH_LISTS:
        value = values.get(name)
        if isinstance(value, str):
            values[name] = [part.strip() for part in value.split(";") if part.strip()]
        elif value is not None and not isinstance(value, list):
            raise RecordError("must be a list or a ';'-joined string", field=name, value=value)
    for name in _AUTH_INTS:
        if name in values:
            values[name] = _as_int(name, values[name])
    for name in _AUTH_DATES:
        if name in values:
            values[name] = _as_date(name, values[name])
    for name in ("registry", "authorization_id", "kind", "host_party", "date"):
        if name not in values:
            raise RecordError("is required", field=name, value=None)
    return Authorization(**values)


def _as_int(name: str, value: Any) -> int:
    if isinstance(value, bool):
        raise RecordError("must be an integer", field=name, value=value)
    if isinstance(value, int):
        return value
    digits = value.strip().lstrip("-") if isinstance(value, str) else ""
    if digits.isascii() and digits.isdigit() and len(digits) <= MAX_DIGITS:
        return int(value.strip())
    raise RecordError("must be an integer", field=name, value=value)


def _as_date(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise RecordError("must be a date YYYY-MM-DD", field=name, value=value)
    try:
        return dt.date.fromisoformat(value.strip()[:10]).isoformat()
    except ValueError as exc:
        raise RecordError("must be a date YYYY-MM-DD", field=name, value=value) from exc


connector = GenericConnector()
