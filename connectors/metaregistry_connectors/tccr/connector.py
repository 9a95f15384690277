"""The TCCR connector: a CSV export with ETag, or a JSON API with offset paging.

TCCR writes most dates in the Buddhist era (B.E. = C.E. + 543), as Thai government systems do;
Article 6 first-transfer dates are in the common era because they are reported to the UNFCCC
(README.md). A CSV row is turned back into the typed record the JSON API serves, so a record
has the same raw hash whichever way it came.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final, Literal

import httpx
from pydantic import Field

from metaregistry.authorization import Authorization
from metaregistry.connector import (
    Connector,
    ConnectorConfig,
    ConnectorOptions,
    FatalSourceError,
    HttpStream,
    Page,
    RawRecord,
    RecordError,
    RequestSpec,
    RetriableSourceError,
)
from metaregistry.model import UnitBlock
from metaregistry.reading import Unreadable, bad_text, csv_rows, unreadable
from metaregistry.serials.national import BUDDHIST_ERA_OFFSET
from metaregistry_connectors.srn_ppi.fields import (
    as_raw,
    integer,
    iso_date,
    json_body,
    lookup,
    optional_lookup,
    optional_text,
    parse,
    read_json_records,
    text,
)

__all__ = [
    "CSV_COLUMNS",
    "AuthorizationsApiStream",
    "CreditsApiStream",
    "CsvExportStream",
    "TccrConnector",
]

REGISTRY: Final = "tccr"
EXPORT_PATH: Final = "/export/tver-credits.csv"
API_PATH: Final = "/api/v2/credits"
LOA_PATH: Final = "/api/v2/authorizations"
DEFAULT_PAGE_SIZE: Final = 500

#: The record fields, in the order of the CSV export's header (README.md).
CSV_COLUMNS: Final = (
    "credit_id",
    "serial_no",
    "credit_type",
    "project_code",
    "project_name_en",
    "province",
    "vintage_be",
    "volume_tco2e",
    "credit_status",
    "issue_date_be",
    "status_date_be",
    "status_remark",
    "a6_authorization_no",
    "a6_authorized_use",
    "a6_itmo_id",
    "a6_first_transfer_date",
    "a6_acquiring_party",
    "a6_ca_status",
)
_INTEGER_COLUMNS: Final = frozenset({"vintage_be", "volume_tco2e"})

STATUS: Final = {
    "Active": "issued",
    "Retired": "retired",
    "Cancelled": "cancelled",
    "Transferred": "transferred",
    "Pending": "pending",
    "Expired": "expired",
}
PURPOSE: Final = {"NDC": "ndc", "OIMP": "oimp", "NDC+OIMP": "ndc-and-oimp"}
PURPOSES: Final = {"ndc": ["ndc"], "oimp": ["oimp"], "ndc-and-oimp": ["ndc", "oimp"]}
FIRST_TRANSFER: Final = {"Authorization": "authorization", "Issuance": "issuance", "Use": "use"}
LOA_STATUS: Final = {"Active": "active", "Amended": "amended", "Revoked": "revoked"}
LOA_KIND: Final = {"LoA": "loa", "LoAck": "loack", "RBP": "results-based-payment"}
CORRESPONDING_ADJUSTMENT: Final = {
    "Not required": "not-required",
    "Pending": "pending",
    "Applied": "applied",
    "Not applied": "not-applied",
}


def typed_row(row: Mapping[str, str | None]) -> dict[str, Any]:
    """A CSV row as the JSON API would serve it: empty cells null, integer columns ints
    (a cell that is not digits stays text, for the raw schema to reject with its value)."""
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key is None:
            out["_extra_cells"] = value
            continue
        if value is None or value == "":
            out[key] = None
        elif key in _INTEGER_COLUMNS and value.isascii() and value.isdigit() and len(value) < 19:
            out[key] = int(value)
        else:
            out[key] = value
    return out


def read_csv_text(body: str, ref_prefix: str, stream: str) -> list[RawRecord]:
    """Records of a CSV export body (BOM already stripped)."""
    reader = csv.DictReader(io.StringIO(body, newline=""))
    if not reader.fieldnames or "credit_id" not in reader.fieldnames:
        raise FatalSourceError(f"{ref_prefix}: not a TCCR export (header {reader.fieldnames})")
    records: list[RawRecord] = []
    for line, row in csv_rows(reader):
        ref = f"{ref_prefix}:{line}"
        reason = None if isinstance(row, Unreadable) else bad_text(row)
        if isinstance(row, Unreadable):
            records.append(row.record(ref, stream))
        elif reason is not None:
            records.append(unreadable(reason, ",".join(map(str, row.values())), ref, stream))
        else:
            records.append(RawRecord(typed_row(row), ref, stream))
    return records


class CsvExportStream(HttpStream):
    """``GET /export/tver-credits.csv``: the whole registry in one response, with an ETag."""

    name: ClassVar[str] = "export"

    def __init__(self, base_url: str, token: str | None) -> None:
        self.url = base_url.rstrip("/") + EXPORT_PATH
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        headers = dict(self.headers)
        etag = (cursor or {}).get("etag")
        if etag:
            headers["If-None-Match"] = str(etag)
        return RequestSpec(method="GET", url=self.url, headers=headers, token="export")

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        etag = response.headers.get("ETag")
        if response.status_code == 304:
            return Page(
                records=[],
                cursor={"etag": request.headers.get("If-None-Match")},
                next_request=None,
                not_modified=True,
            )
        try:
            body = response.content.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            raise RetriableSourceError(f"{response.url}: body is not UTF-8: {exc}") from exc
        if body and not body.endswith("\n"):
            # The export ends every row with CRLF: a body that does not was cut off inside
            # its last row, which would still parse (and count) as a short row.
            raise RetriableSourceError(f"{response.url}: export body cut off mid-row")
        records = read_csv_text(body, "export", self.name)
        expected = response.headers.get("X-Record-Count")
        if expected is not None and expected.isdigit() and int(expected) != len(records):
            # A body cut off at a line end still parses: only the count tells.
            raise RetriableSourceError(
                f"{response.url}: export has {len(records)} rows, X-Record-Count says {expected}"
            )
        return Page(
            records=records,
            cursor={"etag": etag} if etag else {},
            next_request=None,
            totals={"records": len(records)},
        )


class CreditsApiStream(HttpStream):
    """``GET /api/v2/credits?offset=K&limit=M``, following ``next``."""

    name: ClassVar[str] = "api"
    path: ClassVar[str] = API_PATH

    def __init__(self, base_url: str, token: str | None, page_size: int) -> None:
        self.base_url = base_url.rstrip("/")
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.page_size = page_size

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        offset = 0
        if cursor and not cursor.get("_complete"):
            offset = int(cursor.get("offset", 0))
        return self._request(offset)

    def _request(self, offset: int) -> RequestSpec:
        return RequestSpec(
            method="GET",
            url=self.base_url + self.path,
            params={"offset": offset, "limit": self.page_size},
            headers=self.headers,
            token=f"offset={offset}",
        )

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        body = json_body(response)
        results, count = body.get("results"), body.get("count")
        if not isinstance(results, list) or not isinstance(count, int):
            raise FatalSourceError(f"{response.url}: response lacks 'results' and 'count'")
        offset = int(request.params["offset"])
        records = [
            as_raw(item, f"offset {offset + i}", self.name) for i, item in enumerate(results)
        ]
        following = offset + len(results)
        more = body.get("next") is not None and bool(results)
        return Page(
            records=records,
            cursor={"offset": following},
            next_request=self._request(following) if more else None,
            totals={"records": count},
        )


class AuthorizationsApiStream(CreditsApiStream):
    """``GET /api/v2/authorizations?offset=K&limit=M``: letters of authorization (Article 6),
    paged like the credits."""

    name: ClassVar[str] = "authorizations"
    path: ClassVar[str] = LOA_PATH
    record_type: ClassVar[Literal["unit_block", "authorization"]] = "authorization"


class TccrOptions(ConnectorOptions):
    """``[connectors.tccr]`` options."""

    source: Literal["export", "api"] = Field(
        "export", description="`export`: the daily CSV; `api`: the paged JSON API"
    )
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, description="records per page (`api`)")
    authorizations: bool = Field(
        True, description="also sync the letters of authorization (`/api/v2/authorizations`)"
    )


class TccrConnector(Connector):
    name: ClassVar[str] = "tccr"
    registries: ClassVar[tuple[str, ...]] = (REGISTRY,)
    raw_schema: ClassVar[str | None] = "raw/tccr/credit.schema.json"
    description: ClassVar[str] = "Thailand TCCR: T-VER, Premium T-VER, Article 6 (mock API)"

    options_model: ClassVar[type[ConnectorOptions]] = TccrOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: TccrOptions = self.options(config)
        if not config.base_url:
            raise FatalSourceError("tccr needs base_url (TCCR has no public API host)")
        credits: HttpStream = (
            CsvExportStream(config.base_url, config.token)
            if options.source == "export"
            else CreditsApiStream(config.base_url, config.token, options.page_size)
        )
        if not options.authorizations:
            return (credits,)
        return (credits, AuthorizationsApiStream(config.base_url, config.token, options.page_size))

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        if path.suffix.lower() == ".csv":
            # bytes that are not UTF-8 cost their row only (quarantined naming the column)
            body = path.read_text(encoding="utf-8-sig", errors="surrogateescape")
            yield from read_csv_text(body, path.name, "export")
        else:
            yield from read_json_records(path, "api")

    def normalize_authorization(self, record: RawRecord) -> Authorization:
        """A letter of authorization (README, "Authorizations"): Buddhist-era years."""
        p = record.payload
        acquiring = optional_text(p, "acquiring_country")
        host = text(p, "host_country")
        vintages = [
            None if p.get(f) is None else integer(p, f) - BUDDHIST_ERA_OFFSET
            for f in ("vintage_from_be", "vintage_to_be")
        ]
        quantity = p.get("authorized_volume_tco2e")
        return Authorization(
            registry=REGISTRY,
            authorization_id=text(p, "loa_no"),
            kind=lookup(LOA_KIND, p, "document_type"),
            host_party=host,
            acquiring_parties=[acquiring] if acquiring else [],
            authorized_by=[host],
            date=be_date(p, "loa_date_be") or text(p, "loa_date_be"),
            activity_id=optional_text(p, "project_code"),
            vintage_from=vintages[0],
            vintage_to=vintages[1],
            quantity=None if quantity is None else integer(p, "authorized_volume_tco2e"),
            purposes=PURPOSES[lookup(PURPOSE, p, "authorized_use")],
            first_transfer=optional_lookup(FIRST_TRANSFER, p, "first_transfer_at"),
            status=lookup(LOA_STATUS, p, "loa_status"),
        )

    def normalize(self, record: RawRecord) -> UnitBlock:
        p = record.payload
        serial = text(p, "serial_no")
        units = parse(serial, "serial_no")
        vintage = integer(p, "vintage_be") - BUDDHIST_ERA_OFFSET
        return UnitBlock(
            registry=REGISTRY,
            record_id=text(p, "credit_id"),
            serial=serial,
            scheme=units.scheme,
            scope=units.scope,
            block_start=units.block_start,
            block_end=units.block_end,
            quantity=integer(p, "volume_tco2e"),
            status=lookup(STATUS, p, "credit_status"),
            project_id=optional_text(p, "project_code"),
            vintage_start=f"{vintage:04d}-01-01",
            vintage_end=f"{vintage:04d}-12-31",
            country="TH",
            status_reason=optional_text(p, "status_remark"),
            status_date=be_date(p, "status_date_be"),
            authorization_id=optional_text(p, "a6_authorization_no"),
            authorized_purpose=optional_lookup(PURPOSE, p, "a6_authorized_use"),
            corresponding_adjustment=optional_lookup(CORRESPONDING_ADJUSTMENT, p, "a6_ca_status"),
            first_transfer_date=iso_date(p, "a6_first_transfer_date"),
            itmo_id=optional_text(p, "a6_itmo_id"),
        )


def be_date(payload: Mapping[str, Any], field: str) -> str | None:
    """A Buddhist-era ``DD/MM/BBBB`` date as a common-era ISO date, or None when absent."""
    value = payload.get(field)
    if value is None:
        return None
    if isinstance(value, str):
        day, _, rest = value.partition("/")
        month, _, year = rest.partition("/")
        if day.isdigit() and month.isdigit() and year.isdigit() and len(year) == 4:
            try:
                return dt.date(int(year) - BUDDHIST_ERA_OFFSET, int(month), int(day)).isoformat()
            except ValueError:
                pass
    raise RecordError("must be a Buddhist-era date DD/MM/BBBB", field=field, value=value)
