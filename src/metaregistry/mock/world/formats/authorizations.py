"""How the three Article 6 registries print an authorization (issue 19), each in its own
vocabulary, as their connectors' READMEs document:

* SRN-PPI (Indonesian field names, ``DD/MM/YYYY`` dates): ``srn-ppi/otorisasi.ndjson``;
* TCCR (English, Buddhist-era years): ``tccr/authorizations.ndjson``;
* JCM (one file for all ledgers; the authorizations of both parties as two flags):
  ``jcm/a6/authorizations.ndjson`` (beside, not among, the ledger files).

A block carrying Article 6 state (``Block.a6``) publishes its LoA once, when the first block
of that LoA is written; the LoA authorizes that block's vintage and, unless
``Article6.quantity`` says otherwise, its units.
"""

from __future__ import annotations

from typing import Any

from metaregistry.mock.world.model import Block, dmy, iso

__all__ = ["path", "record"]

BE = 543
_PATHS = {
    "srn-ppi": "srn-ppi/otorisasi.ndjson",
    "tccr": "tccr/authorizations.ndjson",
}
_SRN_USE = {"ndc": "NDC", "oimp": "OIMP", "ndc-and-oimp": "NDC dan OIMP"}
_TCCR_USE = {"ndc": "NDC", "oimp": "OIMP", "ndc-and-oimp": "NDC+OIMP"}
_SRN_FIRST = {"authorization": "otorisasi", "issuance": "penerbitan", "use": "penggunaan"}
_SRN_KIND = {
    "loa": "Surat Otorisasi",
    "loack": "Surat Pengakuan",
    "results-based-payment": "Pembayaran Berbasis Hasil",
}
_SRN_STATUS = {"active": "Berlaku", "amended": "Diubah", "revoked": "Dicabut"}
_TCCR_KIND = {"loa": "LoA", "loack": "LoAck", "results-based-payment": "RBP"}


def path(registry: str) -> str | None:
    """The authorization file of a registry, None for registries that publish none."""
    if registry.startswith("jcm-"):
        return "jcm/a6/authorizations.ndjson"
    return _PATHS.get(registry)


def record(block: Block) -> dict[str, Any]:
    """The LoA of ``block`` (which has ``a6``) as its registry prints it."""
    a6 = block.a6
    assert a6 is not None
    quantity = a6.quantity if a6.quantity is not None else block.quantity
    host = block.project.country
    if block.registry == "srn-ppi":
        return {
            "nomor_loa": a6.loa,
            "negara_tuan_rumah": host,
            "jenis_dokumen": _SRN_KIND[a6.kind],
            "negara_pengakuisisi": a6.payer or a6.acquiring_party,
            "tanggal_loa": dmy(a6.loa_on),
            "id_aksi_mitigasi": block.project.code,
            "tahun_vintage_awal": block.vintage,
            "tahun_vintage_akhir": block.vintage,
            "volume_diotorisasi": quantity,
            "penggunaan": _SRN_USE[a6.purpose],
            "transfer_pertama": _SRN_FIRST[a6.first_transfer_at],
            "status_loa": _SRN_STATUS[a6.status],
        }
    if block.registry == "tccr":
        return {
            "loa_no": a6.loa,
            "host_country": host,
            "document_type": _TCCR_KIND[a6.kind],
            "acquiring_country": a6.payer or a6.acquiring_party,
            "loa_date_be": dmy(a6.loa_on, BE),
            "project_code": block.project.code,
            "vintage_from_be": block.vintage + BE,
            "vintage_to_be": block.vintage + BE,
            "authorized_volume_tco2e": quantity,
            "authorized_use": _TCCR_USE[a6.purpose],
            "first_transfer_at": a6.first_transfer_at.capitalize(),
            "loa_status": a6.status.capitalize(),
        }
    return {
        "authorization_id": a6.loa,
        "partner_country": host,
        "project_id": block.project.code,
        "authorized_by_japan": True,
        "authorized_by_partner": a6.authorized_by_partner,
        "authorization_date": iso(a6.loa_on),
        "vintages": [block.vintage],
        "itmo_quantity": quantity,
        "purpose": _TCCR_USE[a6.purpose],
        "acquiring_party": a6.acquiring_party,
        "first_transfer_at": a6.first_transfer_at,
        "status": "revoked" if a6.status == "revoked" else "authorized",
    }
