"""The ``gold-standard`` connector: the public API and the registry's export files."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

from pydantic import Field

from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    HttpStream,
    RawRecord,
    RecordError,
)
from metaregistry.model import UnitBlock
from metaregistry.reading import JSON_SUFFIXES, json_records
from metaregistry_connectors.gold_standard.blocks import (
    ISSUANCE,
    RETIREMENT,
    credit_block,
    facts_from_api,
    facts_from_export,
)
from metaregistry_connectors.gold_standard.credits import (
    MAX_SIZE,
    GoldStandardIssuedCredits,
    GoldStandardRetiredCredits,
)
from metaregistry_connectors.verra.paging import BROWSER_USER_AGENT
from metaregistry_connectors.verra.tabular import FileKind, read_table

__all__ = ["FILE_KINDS", "RAW_SCHEMAS", "GoldStandardConnector"]

_EXPORT_COLUMNS: Final = frozenset({"Serial Number", "Quantity", "Credit Status", "GSID"})
RETIREMENTS_KIND: Final = FileKind("retirements", _EXPORT_COLUMNS | {"Retirement Date"})
ISSUANCES_KIND: Final = FileKind(
    "issuances", _EXPORT_COLUMNS, excluded=frozenset({"Retirement Date"})
)
FILE_KINDS: Final = (RETIREMENTS_KIND, ISSUANCES_KIND)

#: Raw schema of each stream and file kind.
RAW_SCHEMAS: Final = {
    "issued": "raw/gold-standard/credits.schema.json",
    "retired": "raw/gold-standard/credits.schema.json",
    "issuances": "raw/gold-standard/issuances.schema.json",
    "retirements": "raw/gold-standard/retirements.schema.json",
}
#: Which list (record-id prefix) each stream and file kind is.
_LISTING: Final = {
    "issued": ISSUANCE,
    "retired": RETIREMENT,
    "issuances": ISSUANCE,
    "retirements": RETIREMENT,
}


class GoldStandardOptions(ConnectorOptions):
    """``[connectors.gold-standard]`` options."""

    size: int = Field(
        MAX_SIZE, ge=1, description=f"credits per page (the API caps it at {MAX_SIZE})"
    )
    streams: tuple[Literal["issued", "retired"], ...] = Field(
        ("issued", "retired"), min_length=1, description="which lists to sync"
    )
    user_agent: str = Field(BROWSER_USER_AGENT, min_length=1, description="User-Agent sent")
    headers: dict[str, str] = Field(default_factory=dict, description="extra request headers")


class GoldStandardConnector(Connector):
    """Gold Standard's registry (GS VERs, and CDM CERs transitioned to it).

    Streams: ``issued`` and ``retired`` (``GET /credits``, 25 a page). Files (``metaregistry
    import gold-standard FILE``, CSV or XLSX, told apart by their header): the issuances and
    retirements exports. Gold Standard's terms forbid automated download, so file import is
    the first-class path. See ``README.md`` in this package for the mapping.

    Options (``[connectors.gold-standard]``): ``size`` (at most 25), ``user_agent``,
    ``headers``, ``streams`` (default ``["issued", "retired"]``).
    """

    name: ClassVar[str] = "gold-standard"
    registries: ClassVar[tuple[str, ...]] = ("gold-standard",)
    description: ClassVar[str] = "Gold Standard registry: public credits API and export files"
    default_base_url: ClassVar[str | None] = "https://public-api.goldstandard.org"

    options_model: ClassVar[type[ConnectorOptions]] = GoldStandardOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: GoldStandardOptions = self.options(config)
        base_url = self.base_url(config)
        kinds = {"issued": GoldStandardIssuedCredits, "retired": GoldStandardRetiredCredits}
        return [
            kinds[s](
                base_url,
                size=options.size,
                user_agent=options.user_agent,
                headers=options.headers,
            )
            for s in options.streams
        ]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        if path.suffix.lower() in JSON_SUFFIXES:  # saved API answers, as the sync gets them
            return json_records(path, _api_stream)
        return read_table(path, FILE_KINDS, "Gold Standard")

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return RAW_SCHEMAS.get(_kind(record))

    def normalize(self, record: RawRecord) -> UnitBlock:
        kind = _kind(record)
        listing = _LISTING.get(kind)
        if listing is None:
            known = ", ".join(_LISTING)
            raise RecordError(
                f"gold-standard has no stream or file kind {record.stream!r} (known: {known})"
            )
        if kind in ("issued", "retired"):
            return credit_block(facts_from_api(record.payload, listing))
        return credit_block(facts_from_export(record.payload, listing))


def _kind(record: RawRecord) -> str:
    """The record's stream, or for a record built elsewhere (stream "default"), the kind its
    payload shows."""
    if record.stream in _LISTING:
        return record.stream
    payload = record.payload
    if "serial_number" in payload:
        status = str(payload.get("status", "")).upper()
        return "issued" if status == "ISSUED" else "retired"
    if "Serial Number" in payload:
        return "retirements" if "Retirement Date" in payload else "issuances"
    return record.stream


def _api_stream(payload: dict[str, Any]) -> str:
    """The stream a saved ``GET /credits`` record came on: ``issued`` for an ISSUED block,
    ``retired`` for the others (the sync's two streams, by the status each asks for)."""
    return "issued" if str(payload.get("status", "")).upper() == "ISSUED" else "retired"
