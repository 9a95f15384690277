"""Bridges as links, not alarms, on the real samples, read through the connectors.

* All real files of all registries in one index: ``detect --full`` raises no alert and no
  link, because the samples share no units: the Verra export (2026 issuances and
  retirements) holds none of the units of projects 934, 612, 1218 (Regen C01) or 1360
  (Stellarcarbon), and Moss's MCO2 sub-account blocks overlap nothing. The test checks that
  fact itself, so a sample that starts sharing units makes it say so.
* The Verra side of the bridges, as Verra's own exports would show it, is built here from the
  bridge data (never copied into the project): Stellarcarbon's ``retirements`` are Verra
  retirement certificates (Verra's columns: serial, beneficiary "… via stellarcarbon.io",
  details "stellarcarbon.io <hash>"), its ``minted_blocks`` are Verra blocks held in
  sub-account 11273 "CARBON Pool | stellarcarbon.io". Written as a Verra transactions export
  and a holdings report and imported with the ``verra`` connector next to the ``stellar``
  files, they come out as **tokenization** links (each retirement: one claim seen from both
  ledgers) and **custody** links (the units still in the pool: live in Verra's custody
  sub-account and as tokens), and no alert. Two claims on the same units are still alerts.
* Moss keeps MCO2's VCUs in Verra sub-accounts the holdings report names: a token record
  naming a held block is a custody link, one naming nothing is double issuance.
* Regen C01 batches name the Verra retirement serial they were issued from; a Verra
  retirement that names the bridge makes them tokenization links.
"""

from __future__ import annotations

import csv
import sys
from collections.abc import Iterable
from pathlib import Path

import pytest
import sqlalchemy as sa

from metaregistry import plugins
from metaregistry.detect.alerts import list_alerts, list_links
from metaregistry.detect.engine import detect_full
from metaregistry.index import store
from metaregistry.ingest import chunked, store_page, utc_stamp
from metaregistry.model import OWN_NUMBERING, UnitBlock, references_of
from metaregistry.projects import PREFIXES, normalize_project_id

sys.path.insert(0, str(Path(__file__).parents[1] / "unit" / "detect"))
from detect_support import block

pytestmark = pytest.mark.realdata

OFFSETS = "carbonplan-offsetsdb"
STELLAR = "stellarcarbon-sc-data"
REGEN = "regen-c01-verra-bridge/c01_credit_batches.csv"

#: Every real file of every registry, by connector (connectors not installed are skipped).
_KINDS = ("issuances", "retirements", "cancellations")
ALL_FILES: dict[str, tuple[str, ...]] = {
    "verra": (
        f"{OFFSETS}/verra/transactions.csv",
        "moss-mco2-verra/mco2_verra_subaccount_holdings.csv",
    ),
    "gold-standard": tuple(f"{OFFSETS}/gold-standard/{n}.csv" for n in _KINDS[:2]),
    "cercarbono": tuple(f"{OFFSETS}/cercarbono/{n}.csv" for n in _KINDS[:2]),
    "regen": (REGEN,),
    "stellar": (f"{STELLAR}/minted_blocks.csv", f"{STELLAR}/retirements.csv"),
    "acr": tuple(f"{OFFSETS}/american-carbon-registry/{n}.csv" for n in _KINDS),
    "car": tuple(f"{OFFSETS}/climate-action-reserve/{n}.csv" for n in _KINDS),
    "art-trees": tuple(f"{OFFSETS}/art-trees/{n}.csv" for n in _KINDS),
    "carb": (
        f"{OFFSETS}/arb/nc-arboc_issuance_sheet3.csv",
        "carb-arboc-issuance/arboc_issuance_table_2024-11-27.csv",
    ),
}

VERRA_TRANSACTIONS = (
    "Issuance Date", "Sustainable Development Goals", "Vintage Start", "Vintage End", "ID",
    "Name", "Country/Area", "Project Type", "Methodology", "Total Vintage Quantity",
    "Quantity Issued", "Serial Number", "Additional Certifications",
    "Retirement/Cancellation Date", "Retirement Beneficiary", "Retirement Reason",
    "Retirement Details",
)  # fmt: skip
VERRA_HOLDINGS = (
    "Report Type", "Vintage", "Project ID", "Project Name", "Project Type",
    "Quantity of Credits", "Serial Number", "Sub-Account ID", "Sub-Account Name",
)  # fmt: skip


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def write(path: Path, header: Iterable[str], table: Iterable[dict[str, str]]) -> Path:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(header))
        writer.writeheader()
        writer.writerows(table)
    return path


#: What a real file may quarantine: CARB's note rows (a reversal, a reporting period with
#: no credits, a deferred reforestation quantity) state no credits to store.
NOTE_ROWS = ("a note row", "is not a whole number of units")


def load(engine: sa.Engine, connector_name: str, path: Path) -> int:
    connector = plugins.load(connector_name)
    count = 0
    for chunk in chunked(connector.read_file(path), 500):
        with engine.begin() as conn:
            result = store_page(conn, connector, chunk, observed_at=utc_stamp())
        if connector_name == "carb":
            bad = [q for q in result.quarantined if not any(n in q.error for n in NOTE_ROWS)]
            assert bad == [], (path.name, bad[:1])
        else:
            assert result.quarantined == [], (path.name, result.quarantined[:1])
        count += len(chunk) - len(result.quarantined)
    return count


def blocks(engine: sa.Engine) -> list[UnitBlock]:
    with engine.connect() as conn:
        return list(store.blocks(conn))


def test_all_real_files_together_raise_no_alert(engine: sa.Engine, real_data: Path) -> None:
    installed = set(plugins.available())
    loaded = 0
    for name, files in ALL_FILES.items():
        if name in installed:
            for relative in files:
                loaded += load(engine, name, real_data / relative)
    summary = detect_full(engine)
    assert loaded >= summary.blocks_checked == len(blocks(engine))  # CARB's tables overlap
    with engine.connect() as conn:
        assert list_alerts(conn) == []
        assert list_links(conn) == []
    # Why there is no link either: no Verra record holds a unit of the bridges' blocks.
    stored = blocks(engine)
    verra = [b for b in stored if b.registry == "verra"]
    bridged = [b for b in stored if b.registry in ("regen", "stellar")]
    assert len(bridged) == 13 + 9 + 17
    assert not [
        (v.serial, b.serial)
        for v in verra
        for b in bridged
        if (v.scheme, v.scope) == (b.scheme, b.scope)
        and v.block_start <= b.block_end
        and b.block_start <= v.block_end
    ]


def verra_side_of_stellar(real_data: Path, tmp_path: Path) -> tuple[Path, Path]:
    """Verra's exports of the Stellarcarbon units: the pool's holdings and the retirements."""
    folder = real_data / STELLAR
    holdings = write(
        tmp_path / "carbon_pool_holdings.csv",
        VERRA_HOLDINGS,
        (
            {
                "Report Type": "Report 1",
                "Vintage": "01/07/2013-30/06/2014",
                "Project ID": row["vcs_project_id"],
                "Project Name": "Forest Management to reduce deforestation (Ucayali)",
                "Project Type": "Agriculture Forestry and Other Land Use",
                "Quantity of Credits": str(int(row["block_end"]) - int(row["block_start"]) + 1),
                "Serial Number": row["serial_number"],
                "Sub-Account ID": row["sub_account_id"],
                "Sub-Account Name": row["sub_account_name"],
            }
            for row in rows(folder / "minted_blocks.csv")
        ),
    )
    retirements = write(
        tmp_path / "stellarcarbon_retirements.csv",
        VERRA_TRANSACTIONS,
        (verra_retirement(row) for row in rows(folder / "retirements.csv")),
    )
    return holdings, retirements


def verra_retirement(row: dict[str, str], beneficiary: str | None = None) -> dict[str, str]:
    return {
        "Issuance Date": row["issuance_date"][:10],
        "Vintage Start": row["vintage_start"][:10],
        "Vintage End": row["vintage_end"][:10],
        "ID": row["vcs_project_id"],
        "Name": "Forest Management to reduce deforestation (Ucayali)",
        "Country/Area": "Peru",
        "Total Vintage Quantity": row["total_vintage_quantity"],
        "Quantity Issued": row["vcu_amount"],
        "Serial Number": row["serial_number"],
        "Retirement/Cancellation Date": row["retirement_date"][:10],
        "Retirement Beneficiary": beneficiary or row["retirement_beneficiary"],
        "Retirement Details": "" if beneficiary else row["retirement_details"],
    }


def load_stellar(engine: sa.Engine, real_data: Path) -> None:
    for name in ("minted_blocks", "retirements"):
        load(engine, "stellar", real_data / STELLAR / f"{name}.csv")


def test_stellarcarbon_next_to_verra_is_custody_and_tokenization(
    engine: sa.Engine, real_data: Path, tmp_path: Path
) -> None:
    holdings, retirements = verra_side_of_stellar(real_data, tmp_path)
    load(engine, "verra", holdings)
    load(engine, "verra", retirements)
    load_stellar(engine, real_data)
    detect_full(engine)
    with engine.connect() as conn:
        assert list_alerts(conn) == []
        links = list_links(conn)
    retired = rows(real_data / STELLAR / "retirements.csv")
    tokenized = [link for link in links if link["kind"] == "tokenization"]
    custody = [link for link in links if link["kind"] == "custody"]
    assert len(tokenized) + len(custody) == len(links)
    # Each retirement certificate: Verra's record and Stellarcarbon's, one claim.
    assert sorted(link["source_record_id"] for link in tokenized) == sorted(
        r["serial_number"] for r in retired
    )
    assert {(link["source_registry"], link["target_registry"]) for link in links} == {
        ("verra", "stellar")
    }
    assert sum(link["overlap_end"] - link["overlap_start"] + 1 for link in tokenized) == 31
    # The units still in the pool: live in sub-account 11273 and as tokens (202 minted).
    assert sum(link["overlap_end"] - link["overlap_start"] + 1 for link in custody) == 202 - 31


def test_two_claims_on_stellarcarbon_units_are_still_alerts(
    engine: sa.Engine, real_data: Path, tmp_path: Path
) -> None:
    holdings, _ = verra_side_of_stellar(real_data, tmp_path)
    retired = rows(real_data / STELLAR / "retirements.csv")
    minted = rows(real_data / STELLAR / "minted_blocks.csv")
    # Verra shows certificate 188439 (9 VCUs) retired for someone else while Stellarcarbon
    # sank tokens for it: two claims. And a unit still in the pool (449402305, its token
    # live) retired in Verra for a buyer: live tokens on units Verra shows used.
    live_unit = {
        **retired[0],
        "vcu_amount": "1",
        "serial_number": "8040-449402305-449402305-VCU-042-MER-PE-14-1360-01072013-30062014-1",
    }
    assert any(int(m["block_start"]) <= 449402305 <= int(m["block_end"]) for m in minted)
    verra = write(
        tmp_path / "verra.csv",
        VERRA_TRANSACTIONS,
        [
            *(
                verra_retirement(r, beneficiary="Acme Corporation")
                if r["certificate_id"] == "188439"
                else verra_retirement(r)
                for r in retired
            ),
            verra_retirement(live_unit, beneficiary="Acme Corporation"),
        ],
    )
    load(engine, "verra", holdings)
    load(engine, "verra", verra)
    load_stellar(engine, real_data)
    detect_full(engine)
    with engine.connect() as conn:
        alerts = list_alerts(conn)
        links = list_links(conn)
    # The transactions export cannot tell a retirement from a cancellation, so Verra's side is
    # "retired or cancelled" and the rule says use after transfer (check the source registry)
    # rather than double use; either way an alert, never a link.
    found = {(alert["kind"], alert["overlap_start"], alert["overlap_end"]) for alert in alerts}
    assert found == {
        ("use_after_transfer", 449402283, 449402291),
        ("use_after_transfer", 449402305, 449402305),
    }
    assert not [
        link
        for link in links
        if link["overlap_start"] <= 449402291 and link["overlap_end"] >= 449402283
    ]
    # The other 16 certificates stay tokenization links.
    assert sum(1 for link in links if link["kind"] == "tokenization") == len(retired) - 1


def test_regen_batches_next_to_the_verra_retirements_they_name(
    engine: sa.Engine, real_data: Path, tmp_path: Path
) -> None:
    table = rows(real_data / REGEN)
    verra = write(
        tmp_path / "verra.csv",
        VERRA_TRANSACTIONS,
        (
            {
                "Serial Number": row["vcs_retirement_serial_number"],
                "ID": row["vcs_project_id"],
                "Quantity Issued": row["quantity_derived"],
                "Additional Certifications": row["additional_certifications"],
                "Retirement/Cancellation Date": "2022-05-01",
                "Retirement Beneficiary": "Regen Network Development",
                "Retirement Details": "Retired for bridging to Regen Ledger (C01 credit class)",
            }
            for row in table
        ),
    )
    load(engine, "verra", verra)
    load(engine, "regen", real_data / REGEN)
    detect_full(engine)
    with engine.connect() as conn:
        assert list_alerts(conn) == []
        links = list_links(conn)
    assert {(link["kind"], link["source_registry"], link["target_registry"]) for link in links} == {
        ("tokenization", "verra", "regen")
    }
    assert sorted(link["target_record_id"] for link in links) == sorted(
        row["regen_batch_metadata_file"] for row in table
    )


def test_moss_mco2_holdings_are_custody_for_tokens_that_name_them(
    engine: sa.Engine, real_data: Path
) -> None:
    """Moss keeps the VCUs behind MCO2 live in its Verra sub-accounts ("MCO2 Supply", "MCO2
    Supply B2B Retirement"). MCO2 is a fungible ERC-20 with no per-serial public record, so no
    connector reads its side; a token record that names a held block (its origin) is a custody
    link, one that names no block next to the same units is double issuance."""
    path = real_data / "moss-mco2-verra" / "mco2_verra_subaccount_holdings.csv"
    load(engine, "verra", path)
    held = [b for b in blocks(engine) if b.registry == "verra"]
    tokens = [
        block(
            "mco2",
            f"mco2-{index}",
            unit.block_start,
            unit.block_end,
            scheme=unit.scheme,
            scope=unit.scope,
            serial=unit.serial,
            origin=unit.serial if index else None,  # the first names nothing
        )
        for index, unit in enumerate(held)
    ]
    with engine.begin() as conn:
        store.upsert_blocks(conn, tokens, connector="test")
    detect_full(engine)
    with engine.connect() as conn:
        alerts = list_alerts(conn)
        links = list_links(conn)
    assert {link["kind"] for link in links} == {"custody"}
    assert sorted(link["source_record_id"] for link in links) == sorted(
        b.record_id for b in held[1:]
    )
    (alert,) = alerts
    assert alert["kind"] == "double_issuance"
    assert held[0].serial in alert["explanation"] and "mco2" in alert["explanation"]


#: Every ACR or CAR cancellation that a CARB row accounts for with the same OPR project,
#: vintage and quantity (issue 17), as (source registry, source record, CARB issuance).
EXPECTED_MOVES = {
    ("acr", "ACR-US-1007-2024-2351-1 to 79565", "CAOD1007-A"),
    ("acr", "ACR-US-1042-2024-2531-1 to 92278", "CAOD1042-A"),
    ("acr", "ACR-US-1051-2025-3152-1 to 14653", "CAMM1051-B"),
    ("acr", "ACR-US-1094-2025-2868-1 to 65523", "CAMM1094-A"),
    ("acr", "ACR-US-1100-2025-2958-1 to 153201", "CAMM1100-A"),
    ("acr", "ACR-US-1118-2025-3081-1 to 14773", "CAMM1118-A"),
    ("acr", "ACR-US-1123-2024-2930-1 to 75540", "CAMM1123-A"),
    ("acr", "ACR-US-1138-2025-3084-1 to 29038", "CAMM1138-A"),
    ("acr", "ACR-US-1163-2025-2963-1 to 61040", "CAOD1163-A"),
    ("acr", "ACR-US-407-2024-2368-1 to 237504", "CAMM5407-F"),
    ("acr", "ACR-US-746-2024-2436-1 to 67365", "CAMM5746-C"),
    ("acr", "ACR-US-841-2024-2435-1 to 179435", "CAMM5841-B"),
    ("car", "CAR-ROC-US-2111-129-2284-IL-2025-9489-1 to 159383", "CAMM1009-B"),
}


def test_the_real_exports_reconcile_by_project(engine: sa.Engine, real_data: Path) -> None:
    """ACR and CAR cancellations, both CARB tables, Gold Standard issuances, Verra
    transactions, Regen and Stellar (issue 17's done criterion): each cancellation a CARB row
    accounts for is a project basis compliance-move link, the CARB row naming two OPR ids is a
    registry move, and no double counting alert is raised (the samples are not complete
    record sets: the rest is unverifiable or pending, never an alert)."""
    from metaregistry.reconcile.run import reconcile_index

    wanted = {
        "acr": (f"{OFFSETS}/american-carbon-registry/cancellations.csv",),
        "car": (f"{OFFSETS}/climate-action-reserve/cancellations.csv",),
        "carb": ALL_FILES["carb"],
        "gold-standard": (f"{OFFSETS}/gold-standard/issuances.csv",),
        "verra": (f"{OFFSETS}/verra/transactions.csv",),
        "regen": (REGEN,),
        "stellar": ALL_FILES["stellar"],
    }
    for name, files in wanted.items():
        for relative in files:
            load(engine, name, real_data / relative)
    detect_full(engine)
    with engine.begin() as conn:
        report = reconcile_index(conn)
    with engine.connect() as conn:
        assert list_alerts(conn) == []
        links = list_links(conn, basis=["project"])
    moves = {
        (link["source_registry"], link["source_record_id"], link["target_record_id"])
        for link in links
        if link["kind"] == "compliance_move"
    }
    assert moves == EXPECTED_MOVES
    (moved,) = [link for link in links if link["kind"] == "registry_move"]
    assert moved["target_record_id"] == "CAOD5001-A"
    assert "car:CAR992" in moved["explanation"] and "acr:ACR258" in moved["explanation"]
    assert not [f for f in report.findings if f.is_alert]
    outcomes = {f.outcome for f in report.findings}
    assert outcomes <= {"matched", "pending", "unverifiable", "registry_move"}


def test_real_blocks_carry_one_project_id_form_their_numbering_and_references(
    engine: sa.Engine, real_data: Path
) -> None:
    """Issue 16's model on every real file: each block's project id in its registry's one
    form (``projects.normalize_project_id``: ACR1051, CAR992, ART130, VCS934, GS8261), the
    project references a record holds in that form too, and the records without unit numbers
    (ACR/CAR/ART issuance tables, every CARB row, Cercarbono issuances) marked ``own``."""
    installed = set(plugins.available())
    for name, files in ALL_FILES.items():
        if name in installed:
            for relative in files:
                load(engine, name, real_data / relative)
    stored = blocks(engine)
    not_normal = []
    for b in stored:
        if b.registry not in PREFIXES or b.project_id is None:
            continue
        if b.registry == "gold-standard" and b.project_id.startswith("CDM"):
            continue  # a CDM CER held at Gold Standard names its CDM project
        if normalize_project_id(b.registry, b.project_id) != b.project_id:
            not_normal.append((b.registry, b.record_id, b.project_id))
    assert not_normal == []
    named = [
        (kind, registry, ident)
        for b in stored
        for kind, registry, ident in references_of(b.cross_refs)
        if "project" in kind and registry in PREFIXES
    ]
    assert named and all(normalize_project_id(r, i) == i for _, r, i in named)
    own = {}
    for b in stored:
        own.setdefault((b.registry, b.numbering), 0)
        own[(b.registry, b.numbering)] += 1
    for registry in ("acr", "car", "art-trees"):
        if registry in installed:  # issuances own-numbered, retirements/cancellations not
            assert (
                own[(registry, OWN_NUMBERING)]
                == {"acr": 100, "car": 100, "art-trees": 11}[registry]
            )
            assert own[(registry, None)] == {"acr": 150, "car": 150, "art-trees": 11}[registry]
    if "carb" in installed:
        assert (own.get(("carb", None)), own[("carb", OWN_NUMBERING)] > 0) == (None, True)
    # the references Regen and Stellar records hold: the VCS project, the Verra serial
    refs = {(b.registry, k) for b in stored for k, _, _ in references_of(b.cross_refs)}
    assert {("regen", "vcs_project"), ("regen", "source_serial")} <= refs
    assert {("stellar", "vcs_project"), ("carb", "opr_project")} <= refs
