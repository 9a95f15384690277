"""The SRN-PPI connector: page-numbered, bearer-token API of Indonesian-named unit records.

The field names, status words and the ``DD/MM/YYYY`` dates are the registry's own (README.md);
everything Indonesian is translated here, in tables, so a reader can check each mapping.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar, Final

import httpx
from pydantic import Field

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
)
from metaregistry.model import UnitBlock
from metaregistry_connectors.srn_ppi.fields import (
    as_raw,
    dmy,
    integer,
    json_body,
    lookup,
    optional_lookup,
    optional_text,
    parse,
    read_json_records,
    text,
)

__all__ = ["SrnPpiConnector", "UnitKarbonStream"]

REGISTRY: Final = "srn-ppi"
PATH: Final = "/api/v1/unit-karbon"
DEFAULT_PAGE_SIZE: Final = 500

STATUS: Final = {
    "Diterbitkan": "issued",
    "Dipensiunkan": "retired",
    "Dibatalkan": "cancelled",
    "Ditransfer": "transferred",
    "Menunggu Verifikasi": "pending",
    "Penyangga": "buffer",
    "Kedaluwarsa": "expired",
}
PURPOSE: Final = {"NDC": "ndc", "OIMP": "oimp", "NDC dan OIMP": "ndc-and-oimp"}
CORRESPONDING_ADJUSTMENT: Final = {
    "Tidak Diperlukan": "not-required",
    "Dalam Proses": "pending",
    "Sudah Diterapkan": "applied",
    "Tidak Diterapkan": "not-applied",
}


class UnitKarbonStream(HttpStream):
    """``GET /api/v1/unit-karbon?halaman=N&per_halaman=M``: every unit record, a snapshot."""

    name: ClassVar[str] = "unit-karbon"

    def __init__(self, base_url: str, token: str | None, page_size: int) -> None:
        self.url = base_url.rstrip("/") + PATH
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.page_size = page_size

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        page = 1
        if cursor and not cursor.get("_complete"):
            page = int(cursor.get("halaman", 1))
        return self._request(page)

    def _request(self, page: int) -> RequestSpec:
        return RequestSpec(
            method="GET",
            url=self.url,
            params={"halaman": page, "per_halaman": self.page_size},
            headers=self.headers,
            token=f"halaman={page}",
        )

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        body = json_body(response)
        data, meta = body.get("data"), body.get("meta")
        if not isinstance(data, list) or not isinstance(meta, dict):
            raise FatalSourceError(f"{response.url}: response has no 'data' list and 'meta'")
        total_pages, total = meta.get("total_halaman"), meta.get("total_data")
        if not isinstance(total_pages, int) or not isinstance(total, int):
            raise FatalSourceError(f"{response.url}: meta lacks total_halaman/total_data: {meta}")
        page = int(request.params["halaman"])
        records = [
            as_raw(item, f"halaman {page}:{index}", self.name) for index, item in enumerate(data)
        ]
        more = page < total_pages and bool(data)
        return Page(
            records=records,
            cursor={"halaman": page + 1},
            next_request=self._request(page + 1) if more else None,
            totals={"records": total},
        )


class SrnPpiOptions(ConnectorOptions):
    """``[connectors.srn-ppi]`` options."""

    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, description="records per page")


class SrnPpiConnector(Connector):
    name: ClassVar[str] = "srn-ppi"
    registries: ClassVar[tuple[str, ...]] = (REGISTRY,)
    raw_schema: ClassVar[str | None] = "raw/srn-ppi/unit_karbon.schema.json"
    description: ClassVar[str] = "Indonesia SRN-PPI: SPE-GRK and converted credits (mock API)"

    options_model: ClassVar[type[ConnectorOptions]] = SrnPpiOptions

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        options: SrnPpiOptions = self.options(config)
        if not config.base_url:
            raise FatalSourceError("srn-ppi needs base_url (the SRN-PPI API has no public host)")
        return (UnitKarbonStream(config.base_url, config.token, options.page_size),)

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        yield from read_json_records(path, "unit-karbon")

    def normalize(self, record: RawRecord) -> UnitBlock:
        p = record.payload
        serial = text(p, "nomor_seri")
        native = parse(serial, "nomor_seri")
        source = p.get("nomor_seri_asal")
        units = parse(text(p, "nomor_seri_asal"), "nomor_seri_asal") if source else native
        status = lookup(STATUS, p, "status_unit")
        loa = p.get("otorisasi_loa")
        if loa is not None and not isinstance(loa, dict):
            raise RecordError("must be an object or null", field="otorisasi_loa", value=loa)
        vintage = p.get("tahun_vintage")
        return UnitBlock(
            registry=REGISTRY,
            record_id=text(p, "id_unit"),
            serial=serial,
            scheme=units.scheme,
            scope=units.scope,
            block_start=units.block_start,
            block_end=units.block_end,
            quantity=integer(p, "jumlah_unit"),
            status=status,
            project_id=optional_text(p, "kode_proyek"),
            vintage_start=f"{vintage:04d}-01-01" if isinstance(vintage, int) else None,
            vintage_end=f"{vintage:04d}-12-31" if isinstance(vintage, int) else None,
            country="ID",
            status_reason=optional_text(p, "alasan_status"),
            status_date=dmy(p, "tanggal_status"),
            origin=source if source else None,
            authorization_id=optional_text(loa, "nomor_loa") if loa else None,
            authorized_purpose=optional_lookup(PURPOSE, loa, "tujuan_penggunaan") if loa else None,
            corresponding_adjustment=optional_lookup(
                CORRESPONDING_ADJUSTMENT, p, "status_penyesuaian_korespondensi"
            ),
            first_transfer_date=dmy(p, "tanggal_transfer_pertama"),
            itmo_id=optional_text(p, "id_itmo"),
        )
