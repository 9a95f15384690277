"""The SRN-PPI connector: page-numbered, bearer-token API of Indonesian-named unit records.

The field names, status words and the ``DD/MM/YYYY`` dates are the registry's own (README.md);
everything Indonesian is translated here, in tables, so a reader can check each mapping.
"""

from __future__ import annotations

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
)
from metaregistry.model import UnitBlock, references_text
from metaregistry.projects import normalize_project_id
from metaregistry_connectors.srn_ppi.fields import (
    as_raw,
    dmy,
    integer,
    json_body,
    lookup,
    optional_integer,
    optional_lookup,
    optional_text,
    parse,
    read_json_records,
    text,
)

__all__ = ["OtorisasiStream", "SrnPpiConnector", "UnitKarbonStream"]

REGISTRY: Final = "srn-ppi"
PATH: Final = "/api/v1/unit-karbon"
LOA_PATH: Final = "/api/v1/otorisasi"
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
#: A purpose as the authorization's list of purposes.
PURPOSES: Final = {"ndc": ["ndc"], "oimp": ["oimp"], "ndc-and-oimp": ["ndc", "oimp"]}
FIRST_TRANSFER: Final = {
    "otorisasi": "authorization",
    "penerbitan": "issuance",
    "penggunaan": "use",
}
LOA_STATUS: Final = {"Berlaku": "active", "Diubah": "amended", "Dicabut": "revoked"}
LOA_KIND: Final = {
    "Surat Otorisasi": "loa",
    "Surat Pengakuan": "loack",
    "Pembayaran Berbasis Hasil": "results-based-payment",
}
CORRESPONDING_ADJUSTMENT: Final = {
    "Tidak Diperlukan": "not-required",
    "Dalam Proses": "pending",
    "Sudah Diterapkan": "applied",
    "Tidak Diterapkan": "not-applied",
}


class UnitKarbonStream(HttpStream):
    """``GET /api/v1/unit-karbon?halaman=N&per_halaman=M``: every unit record, a snapshot."""

    name: ClassVar[str] = "unit-karbon"

    path: ClassVar[str] = PATH

    def __init__(self, base_url: str, token: str | None, page_size: int) -> None:
        self.url = base_url.rstrip("/") + self.path
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


class OtorisasiStream(UnitKarbonStream):
    """``GET /api/v1/otorisasi?halaman=N&per_halaman=M``: every letter of authorization
    (Article 6), paged like the units; a snapshot."""

    name: ClassVar[str] = "otorisasi"
    path: ClassVar[str] = LOA_PATH
    record_type: ClassVar[Literal["unit_block", "authorization"]] = "authorization"


class SrnPpiOptions(ConnectorOptions):
    """``[connectors.srn-ppi]`` options."""

    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, description="records per page")
    authorizations: bool = Field(
        True, description="also sync the letters of authorization (`/api/v1/otorisasi`)"
    )


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
        units = UnitKarbonStream(config.base_url, config.token, options.page_size)
        if not options.authorizations:
            return (units,)
        return (units, OtorisasiStream(config.base_url, config.token, options.page_size))

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        yield from read_json_records(path, "unit-karbon")

    def normalize_authorization(self, record: RawRecord) -> Authorization:
        """A letter of authorization (README, "Otorisasi"): Indonesian words translated."""
        p = record.payload
        acquiring = optional_text(p, "negara_pengakuisisi")
        purpose = lookup(PURPOSE, p, "penggunaan")
        return Authorization(
            registry=REGISTRY,
            authorization_id=text(p, "nomor_loa"),
            kind=lookup(LOA_KIND, p, "jenis_dokumen"),
            host_party=text(p, "negara_tuan_rumah"),
            acquiring_parties=[acquiring] if acquiring else [],
            authorized_by=[text(p, "negara_tuan_rumah")],
            date=dmy(p, "tanggal_loa") or text(p, "tanggal_loa"),
            activity_id=optional_text(p, "id_aksi_mitigasi"),
            vintage_from=optional_integer(p, "tahun_vintage_awal"),
            vintage_to=optional_integer(p, "tahun_vintage_akhir"),
            quantity=optional_integer(p, "volume_diotorisasi"),
            purposes=PURPOSES[purpose] if p.get("jenis_dokumen") == "Surat Otorisasi" else [],
            first_transfer=optional_lookup(FIRST_TRANSFER, p, "transfer_pertama"),
            status=lookup(LOA_STATUS, p, "status_loa"),
        )

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
            cross_refs=_standard_project(p),
        )


#: The standard a mutual-recognition project id names, by its prefix.
_STANDARDS: Final = {"VCS": ("verra", "vcs_project"), "GS": ("gold-standard", "gs_project")}


def _standard_project(payload: Mapping[str, Any]) -> str | None:
    """``kode_proyek_standar``: the project's id at Verra or Gold Standard (Indonesia's
    mutual recognition registers a project in SRN-PPI first; the standard certifies it
    after), kept as a reference for project-level reconciliation."""
    text = optional_text(payload, "kode_proyek_standar")
    if not text:
        return None
    prefix = "".join(ch for ch in text if ch.isalpha()).upper()
    known = _STANDARDS.get(prefix)
    if known is None:
        raise RecordError(
            "is not a Verra (VCS...) or Gold Standard (GS...) project id",
            field="kode_proyek_standar",
            value=text,
        )
    registry, kind = known
    try:
        project = normalize_project_id(registry, text)
    except ValueError as exc:
        raise RecordError(str(exc), field="kode_proyek_standar", value=text) from None
    return references_text([(kind, registry, project or text)])
