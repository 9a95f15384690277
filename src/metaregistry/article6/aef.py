"""A party's year in the Agreed Electronic Format (issue 19, item 4).

The layout is the updated AEF of decision 4/CMA.6, annex II ("AEF V2"): five tables,
Submission, Authorizations, Actions, Holdings and Authorized entities. Column names are the
field keys CAD Trust's ``/v2/aef-*`` endpoints use for those tables (``aefT3ActionsItmoFirstId``
...), the one public machine-readable naming of them; the official template is a
spreadsheet per table. Only the columns the index can fill are written, in the template's
order; ``AdditionalInformation`` of every row names the index records behind it.

Parties are written as ISO 3166-1 alpha-3 codes, as the AEF wants (the index keeps alpha-2).
Authorized entities: the index holds none (no registry publishes them); the table is written
with its header only, which the AEF reads as "no entity" rather than a missing table.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any, Final

from metaregistry.article6.ledger import Ledger
from metaregistry.authorization import Authorization

__all__ = ["AEF_VERSION", "COLUMNS", "SHEETS", "alpha3", "tables", "write_csv", "write_xlsx"]

AEF_VERSION: Final = "AEF V2 (decision 4/CMA.6, annex II), CAD Trust v2 field keys"
#: Table name (sheet) -> columns, in the template's order.
COLUMNS: Final[dict[str, tuple[str, ...]]] = {
    "Submission": (
        "aefT1SubmissionParty",
        "aefT1SubmissionReportedYear",
        "aefT1SubmissionVersion",
    ),
    "Authorizations": (
        "aefT2AuthorizationsId",
        "aefT2AuthorizationsDate",
        "aefT2AuthorizationsVersion",
        "aefT2AuthorizationsAuthorizedPartyId",
        "aefT2AuthorizationsPurposesForAuthorization",
        "aefT2AuthorizationsOimpAuthorizedParty",
        "aefT2AuthorizationsAuthorizedTimeframe",
        "aefT2AuthorizationsAuthorizationTerms",
        "aefT2AuthorizationsFirstTransferDefinitionOimp",
        "aefT2AuthorizationsAdditionalInformation",
    ),
    "Actions": (
        "aefT3ActionsDate",
        "aefT3ActionsAuthorizationId",
        "aefT3ActionsFirstTransferringPartyId",
        "aefT3ActionsPartyItmoRegistryId",
        "aefT3ActionsItmoFirstId",
        "aefT3ActionsItmoLastId",
        "aefT3ActionsQuantityTCo2",
        "aefT3ActionsVintageYear",
        "aefT3ActionsTransferringPartyId",
        "aefT3ActionsAcquiringPartyId",
        "aefT3ActionsType",
        "aefT3ActionsMetric",
        "aefT3ActionsPurposeOfUseOimp",
        "aefT3ActionsAdditionalInformation",
    ),
    "Holdings": (
        "aefT4HoldingsAuthorizationId",
        "aefT4HoldingsFirstTransferringPartyId",
        "aefT4HoldingsPartyItmoRegistryId",
        "aefT4HoldingsItmoFirstId",
        "aefT4HoldingsItmoLastId",
        "aefT4HoldingsQuantityTCo2",
        "aefT4HoldingsVintageYear",
        "aefT4HoldingsMetric",
        "aefT4HoldingsAdditionalInformation",
    ),
    "Authorized entities": (
        "aefT5AuthorizedEntitiesId",
        "aefT5AuthorizedEntitiesName",
        "aefT5AuthorizedEntitiesIncorporationCountry",
    ),
}
SHEETS: Final = tuple(COLUMNS)

#: Alpha-2 to alpha-3 for the parties of Article 6 practice the index meets; others are
#: written as given (and said so in AdditionalInformation).
_ALPHA3: Final = {
    "CH": "CHE", "GH": "GHA", "ID": "IDN", "JP": "JPN", "KE": "KEN", "KR": "KOR",
    "NO": "NOR", "PE": "PER", "SE": "SWE", "SG": "SGP", "TH": "THA", "VN": "VNM",
    "VU": "VUT", "MN": "MNG", "PH": "PHL", "KH": "KHM", "LA": "LAO", "BD": "BGD",
}  # fmt: skip
_FIRST_TRANSFER: Final = {
    "authorization": "Authorization",
    "issuance": "Issuance",
    "use": "Use or cancellation",
}


def alpha3(party: str) -> str:
    return _ALPHA3.get(party, party)


def _parties(codes: list[str]) -> str:
    return ", ".join(alpha3(p) for p in codes)


def _authorization_row(a: Authorization) -> dict[str, Any]:
    timeframe = f"{a.vintage_from}-{a.vintage_to}" if a.vintage_from or a.vintage_to else "NA"
    terms = f"{a.quantity:,} tCO2e" if a.quantity is not None else "NA"
    oimp = "oimp" in a.purposes
    return {
        "aefT2AuthorizationsId": a.authorization_id,
        "aefT2AuthorizationsDate": a.date,
        "aefT2AuthorizationsVersion": 1,
        "aefT2AuthorizationsAuthorizedPartyId": _parties(a.acquiring_parties) or "NA",
        "aefT2AuthorizationsPurposesForAuthorization": " and ".join(
            {"ndc": "Use towards NDC", "oimp": "OIMP"}[p] for p in a.purposes
        )
        or "NA",
        "aefT2AuthorizationsOimpAuthorizedParty": ", ".join(a.oimp_uses) if oimp else "NA",
        "aefT2AuthorizationsAuthorizedTimeframe": timeframe,
        "aefT2AuthorizationsAuthorizationTerms": terms,
        "aefT2AuthorizationsFirstTransferDefinitionOimp": (
            _FIRST_TRANSFER.get(a.first_transfer or "", "NA") if oimp else "NA"
        ),
        "aefT2AuthorizationsAdditionalInformation": (
            f"{a.kind}, {a.status}; activity {a.activity_id or 'NA'}; "
            f"records: {a.registry}/{a.authorization_id}"
        ),
    }


def tables(ledger: Ledger, year: int, *, version: int = 1) -> dict[str, list[dict[str, Any]]]:
    """The five tables of ``ledger``'s party for ``year``."""
    party = alpha3(ledger.party)
    of_year = ledger.of_year(year)
    actions = []
    for x in of_year.actions:
        b, a = x.block, x.authorization
        oimp = ", ".join(a.oimp_uses) if a is not None and "oimp" in a.purposes else "NA"
        acquiring = _parties(a.acquiring_parties) if a is not None else ""
        actions.append(
            {
                "aefT3ActionsDate": x.date,
                "aefT3ActionsAuthorizationId": b.authorization_id or "NA",
                "aefT3ActionsFirstTransferringPartyId": party,
                "aefT3ActionsPartyItmoRegistryId": b.registry,
                "aefT3ActionsItmoFirstId": b.block_start,
                "aefT3ActionsItmoLastId": b.block_end,
                "aefT3ActionsQuantityTCo2": b.quantity,
                "aefT3ActionsVintageYear": int(b.vintage_start[:4]) if b.vintage_start else "NA",
                "aefT3ActionsTransferringPartyId": party if x.type == "First transfer" else "NA",
                "aefT3ActionsAcquiringPartyId": (acquiring or "NA")
                if x.type == "First transfer"
                else "NA",
                "aefT3ActionsType": x.type,
                "aefT3ActionsMetric": "GHG",
                "aefT3ActionsPurposeOfUseOimp": oimp if x.type == "Use" else "NA",
                "aefT3ActionsAdditionalInformation": (
                    f"corresponding adjustment {b.corresponding_adjustment or 'not stated'}; "
                    f"ITMO {b.itmo_id or 'NA'}; units {b.scheme}:{b.scope}:"
                    f"{b.block_start}-{b.block_end}; records: {b.registry}/{b.record_id}"
                ),
            }
        )
    holdings = [
        {
            "aefT4HoldingsAuthorizationId": b.authorization_id or "NA",
            "aefT4HoldingsFirstTransferringPartyId": party,
            "aefT4HoldingsPartyItmoRegistryId": b.registry,
            "aefT4HoldingsItmoFirstId": b.block_start,
            "aefT4HoldingsItmoLastId": b.block_end,
            "aefT4HoldingsQuantityTCo2": b.quantity,
            "aefT4HoldingsVintageYear": int(b.vintage_start[:4]) if b.vintage_start else "NA",
            "aefT4HoldingsMetric": "GHG",
            "aefT4HoldingsAdditionalInformation": (
                f"held now (not a 31 December snapshot); records: {b.registry}/{b.record_id}"
            ),
        }
        for b in of_year.held
    ]
    return {
        "Submission": [
            {
                "aefT1SubmissionParty": party,
                "aefT1SubmissionReportedYear": year,
                "aefT1SubmissionVersion": version,
            }
        ],
        "Authorizations": [_authorization_row(a) for a in of_year.authorizations],
        "Actions": actions,
        "Holdings": holdings,
        "Authorized entities": [],
    }


def write_csv(report: dict[str, list[dict[str, Any]]], directory: Path) -> list[Path]:
    """One CSV per table (``Actions.csv`` ...), header always written."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for sheet, columns in COLUMNS.items():
        path = directory / f"{sheet.replace(' ', '_')}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(columns))
            writer.writeheader()
            writer.writerows(report[sheet])
        written.append(path)
    return written


def write_xlsx(report: dict[str, list[dict[str, Any]]], path: Path) -> None:
    """One sheet per table, named as the table, its first row the column names."""
    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for sheet, columns in COLUMNS.items():
        ws = book.create_sheet(sheet)
        ws.append(list(columns))
        for row in report[sheet]:
            ws.append([row.get(c) for c in columns])
    path.parent.mkdir(parents=True, exist_ok=True)
    book.save(path)
