"""SRN-PPI's unit record (connectors/metaregistry_connectors/srn_ppi/README.md)."""

from __future__ import annotations

from typing import Any

from metaregistry.mock.world.model import Block, dmy, iso

__all__ = ["path", "record", "record_id"]

STATUS = {
    "issued": "Diterbitkan",
    "retired": "Dipensiunkan",
    "cancelled": "Dibatalkan",
    "transferred": "Ditransfer",
    "pending": "Menunggu Verifikasi",
    "buffer": "Penyangga",
    "expired": "Kedaluwarsa",
}
PURPOSE = {"ndc": "NDC", "oimp": "OIMP", "ndc-and-oimp": "NDC dan OIMP"}
CA = {
    "not-required": "Tidak Diperlukan",
    "pending": "Dalam Proses",
    "applied": "Sudah Diterapkan",
    "not-applied": "Tidak Diterapkan",
}
_KIND = {
    None: "SPE-GRK",
    "verra": "SPE-GRK Konversi VCU",
    "gold-standard": "SPE-GRK Konversi GS-VER",
}
_SOURCE = {None: None, "verra": "Verra", "gold-standard": "Gold Standard"}


def path(registry: str) -> str:
    return "srn-ppi/unit-karbon.ndjson"


def record_id(block: Block, n: int) -> str:
    return f"SRN-U-{n:010d}"


def record(block: Block) -> dict[str, Any]:
    project = block.project
    a6 = block.a6
    return {
        "id_unit": block.record_id,
        "nomor_seri": block.serial,
        "jenis_unit": _KIND[block.origin_registry],
        "nomor_seri_asal": block.origin,
        "registri_asal": _SOURCE[block.origin_registry],
        "jumlah_unit": block.quantity,
        "status_unit": STATUS[block.status],
        "alasan_status": block.reason,
        "tanggal_status": dmy(block.status_on) if block.status_on else None,
        "tanggal_penerbitan": dmy(block.issued_on),
        "kode_proyek": project.code,
        "kode_proyek_standar": block.standard_project,
        "nama_proyek": project.name,
        "provinsi": project.region,
        "sektor": project.sector,
        "tahun_vintage": block.vintage,
        "otorisasi_loa": (
            {
                "nomor_loa": a6.loa,
                "tanggal_loa": dmy(a6.loa_on),
                "tujuan_penggunaan": PURPOSE[a6.purpose],
            }
            if a6
            else None
        ),
        "status_penyesuaian_korespondensi": CA[a6.ca] if a6 else "Tidak Diperlukan",
        "id_itmo": a6.itmo if a6 else None,
        "tanggal_transfer_pertama": (
            dmy(a6.first_transfer_on) if a6 and a6.first_transfer_on else None
        ),
        "diperbarui_pada": f"{iso(block.status_on or block.issued_on)}T09:00:00+07:00",
    }
