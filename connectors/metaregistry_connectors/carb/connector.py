"""The ``carb`` connector: California Air Resources Board ARB offset credits, from CARB's
Offset Credit Issuance Table (CSV, or the XLSX CARB publishes with the same columns) or
downloaded from CARB's site. See README.md."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

import pydantic

from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    HttpStream,
    RawRecord,
    RecordError,
)
from metaregistry.model import OWN_NUMBERING, Status, UnitBlock, references_text
from metaregistry.projects import normalize_project_id
from metaregistry_connectors.apx.report import ReportStream
from metaregistry_connectors.apx.tables import us_day
from metaregistry_connectors.verra.tabular import FileKind, read_table
from metaregistry_connectors.verra.values import cell, join_reason, quantity

__all__ = ["ISSUANCES", "CarbConnector", "CarbOptions", "issuance_block"]

REGISTRY: Final = "carb"
SCHEME: Final = "carb"
ISSUANCES: Final = FileKind(
    "issuances", frozenset({"CARB Issuance ID", "OPR Project ID", "ARB Offset Credits Issued"})
)
RAW_SCHEMA: Final = "raw/carb/issuances.schema.json"
#: The retirement and other columns of a row, as labels of the record's reason.
SUB_TOTALS: Final = (
    ("invalidated or canceled", "Invalidated or Canceled"),
    ("buffer pool retired", "Buffer Pool Retired"),
    ("retired for intentional reversal", "Retired for Intentional Reversal"),
    ("retired voluntarily", "Retired Voluntarily"),
    ("retired 1st compliance period (CA)", "Retired 1st Compliance Period (CA)"),
    ("retired 2nd compliance period (CA)", "Retired 2nd Compliance Period (CA)"),
    ("retired 3rd compliance period (CA)", "Retired 3rd Compliance Period (CA)"),
    ("retired 4th compliance period (CA)", "Retired 4th Compliance Period (CA)"),
    ("retired 5th compliance period (CA)", "Retired 5th Compliance Period (CA)"),
    ("retired for compliance in Quebec", "Retired for Compliance in Quebec"),
)
_OPR: Final = {"ACR": "acr", "CAR": "car", "VCS": "verra"}
#: An OPR project id named in free text ("the OPR ID# is ACR258").
_OPR_MENTION: Final = re.compile(r"\b(ACR|CAR|VCS)\s*#?\s*(\d{1,6})\b")
_BLANK: Final = frozenset({"", "n/a", "na", "-", "–"})
_ISSUANCE_ID: Final = re.compile(r"^(CA[A-Z]{2}\d{4})-([A-Z](?:-[A-Z])*)$")


#: The registry of an OPR id written in no known form (``559``, ``VCSOPR2``): kept as the
#: table prints it, so nothing is lost, and never joined to a project by guesswork.
UNKNOWN_OPR: Final = "opr"


def _opr(text: str) -> tuple[str, str]:
    match = _OPR_MENTION.fullmatch(text.strip())
    if match is None:
        return UNKNOWN_OPR, re.sub(r"\s+", "", text)
    registry = _OPR[match.group(1)]
    project = normalize_project_id(registry, text)
    assert project is not None
    return registry, project


def issuance_block(payload: Mapping[str, Any]) -> UnitBlock:
    """One row of the issuance table: an issuance of ARB offset credits under CARB's own id
    (``CAMM1051-B``), a quantity per project and vintage (numbering ``own``), naming its OPR
    project (and a second OPR id when its Comment names one)."""
    ident = cell(payload, "CARB Issuance ID")
    if not ident:
        raise RecordError(
            "is empty: a note row (a reversal or a comment), not an issuance",
            field="CARB Issuance ID",
            value=payload.get("CARB Issuance ID"),
        )
    issued_text = cell(payload, "ARB Offset Credits Issued")
    if issued_text.lower() in _BLANK:
        raise RecordError(
            "states no credits: a note row (a reversal or a comment), not an issuance",
            field="ARB Offset Credits Issued",
            value=payload.get("ARB Offset Credits Issued"),
        )
    units = quantity(payload.get("ARB Offset Credits Issued"), "ARB Offset Credits Issued")
    match = _ISSUANCE_ID.match(ident)
    project = match.group(1) if match else ident.rsplit("-", 1)[0]
    opr_text = cell(payload, "OPR Project ID")
    refs: list[tuple[str, str, str]] = []
    primary: tuple[str, str] | None = None
    if opr_text and opr_text.lower() not in _BLANK:
        primary = _opr(opr_text)
        refs.append(("opr_project", *primary))
    for found in _OPR_MENTION.finditer(cell(payload, "Comment")):
        registry = _OPR[found.group(1)]
        other = normalize_project_id(registry, found.group(0))
        if other is not None and (registry, other) != primary:
            refs.append(("opr_project_comment", registry, other))
    vintage = cell(payload, "Vintage")
    whole, _, fraction = vintage.partition(".")
    year = int(whole) if whole.isdigit() and len(whole) == 4 and not fraction.strip("0") else None
    if vintage and vintage.lower() not in _BLANK and year is None:
        raise RecordError("is not a year", field="Vintage", value=payload.get("Vintage"))
    sub_totals = []
    for label, column in SUB_TOTALS:
        text = cell(payload, column)
        if text and text.lower() not in _BLANK:
            amount = quantity(payload.get(column), column) if text.strip("0.") else 0
            if amount:
                sub_totals.append((label, f"{amount:,}"))
    return UnitBlock(
        registry=REGISTRY,
        record_id=ident,
        serial=ident,
        scheme=SCHEME,
        scope=ident,
        block_start=1,
        block_end=units,
        quantity=units,
        project_id=project,
        vintage_start=f"{year}-01-01" if year else None,
        vintage_end=f"{year}-12-31" if year else None,
        country="US",
        status=Status.ISSUED.value,
        status_reason=join_reason(sub_totals, prefix="of these credits"),
        status_date=us_day(payload.get("Issuance Date"), "Issuance Date"),
        numbering=OWN_NUMBERING,
        cross_refs=references_text(refs),
    )


class CarbOptions(ConnectorOptions):
    """``[connectors.carb]`` options: where CARB serves its issuance table."""

    issuance_path: str = pydantic.Field(
        "/sites/default/files/classic/cc/capandtrade/offsets/issuance/arboc_issuance.xlsx",
        description="the issuance table (XLSX or CSV; assumed address, see README)",
    )
    headers: dict[str, str] = pydantic.Field(
        default_factory=dict, description="extra request headers"
    )


class CarbConnector(Connector):
    """CARB's ARB offset credit issuance table: one record per issuance (CARB's own id), a
    quantity per OPR project and vintage, never range compared; reconciliation pairs it with
    the OPR's cancellations (``metaregistry reconcile``)."""

    name: ClassVar[str] = "carb"
    registries: ClassVar[tuple[str, ...]] = (REGISTRY,)
    description: ClassVar[str] = "California ARB offset credits: CARB's issuance table"
    default_base_url: ClassVar[str | None] = "https://ww2.arb.ca.gov"
    options_model: ClassVar[type[ConnectorOptions]] = CarbOptions
    raw_schema: ClassVar[str | None] = RAW_SCHEMA

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: CarbOptions = self.options(config)
        base = self.base_url(config).rstrip("/")
        return [ReportStream(ISSUANCES, base + options.issuance_path, "CARB", options.headers)]

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        return read_table(path, [ISSUANCES], "CARB issuance table")

    def raw_schema_for(self, record: RawRecord) -> str | None:
        return RAW_SCHEMA

    def normalize(self, record: RawRecord) -> UnitBlock:
        return issuance_block(record.payload)
