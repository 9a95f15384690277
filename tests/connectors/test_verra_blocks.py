"""Verra normalization: the cell readers, statuses, Article 6 fields, personal data."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from metaregistry.connector import RawRecord, RecordError
from metaregistry.serials import SerialError
from metaregistry_connectors.verra import UNDISTINGUISHED, connector
from metaregistry_connectors.verra.values import day, join_reason, quantity

SERIAL = "19381-941412555-941441125-VCS-VCU-1310-VER-CN-13-3005-01012022-31102022-0"


def api(**fields: Any) -> RawRecord:
    """A search-API record (the shape DOMAIN.md lists), retired unless told otherwise."""
    payload: dict[str, Any] = {
        "issuanceDate": "02/04/2026",
        "instrumentType": "VCU",
        "vintageStart": "01/01/2022",
        "vintageEnd": "31/10/2022",
        "resourceIdentifier": 3005,
        "resourceName": "Tongxu Biogas Recovery and Utilization Project",
        "country": "China",
        "quantity": "28,571",
        "serialNumbers": SERIAL,
        "additionalCertifications": None,
        "retiredCancelled": True,
        "retireOrCancelDate": "06/04/2026",
        "retirementBeneficiary": "Lindblad Expeditions Family of Companies",
        "retirementReason": "Environmental Benefit",
        "retirementDetails": None,
    }
    payload.update(fields)
    return RawRecord(payload=payload, ref="t#0", stream="search")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21/03/2023", "2023-03-21"),
        ("21-03-2023", "2023-03-21"),
        ("21.03.2023 00:00:00", "2023-03-21"),
        ("2023-03-21", "2023-03-21"),
        ("2026-04-13T12:35:58.842275", "2026-04-13"),
        ("2020-03-20T00:00:00Z", "2020-03-20"),
        ("", None),
        (None, None),
    ],
)
def test_dates_are_read_day_first_or_iso(text: str | None, expected: str | None) -> None:
    assert day(text, "retireOrCancelDate") == expected


@pytest.mark.parametrize("text", ["03/21/2023", "31/02/2023", "March 2023", "2023/03/21"])
def test_a_bad_date_names_the_field_and_the_value(text: str) -> None:
    with pytest.raises(RecordError, match=r"retireOrCancelDate: .*value: '" + text):
        day(text, "retireOrCancelDate")


@pytest.mark.parametrize(
    ("value", "expected"), [("1,234", 1234), ("28 571", 28571), (425, 425), ("12.0", 12)]
)
def test_quantities_with_thousands_separators(value: object, expected: int) -> None:
    assert quantity(value, "quantity") == expected


@pytest.mark.parametrize("value", ["12.5", "-3", "0", "", "abc", True, None])
def test_a_bad_quantity_is_a_record_error(value: object) -> None:
    with pytest.raises(RecordError, match="quantity"):
        quantity(value, "quantity")


def test_retired_or_cancelled_flag_without_state_says_it_cannot_tell() -> None:
    block = connector.normalize(api())
    assert block.status == "retired"
    assert block.status_reason is not None
    assert block.status_reason.startswith(UNDISTINGUISHED)
    assert "beneficiary: Lindblad Expeditions" in block.status_reason
    assert block.status_date == "2026-04-06"
    assert (block.vintage_start, block.vintage_end) == ("2022-01-01", "2022-10-31")
    assert (block.country, block.project_id, block.quantity) == ("CN", "VCS3005", 28571)


def test_state_code_tells_retired_from_cancelled() -> None:
    retired = connector.normalize(api(stateCode="RETIRED"))
    assert retired.status == "retired"
    assert retired.status_reason is not None
    assert not retired.status_reason.startswith(UNDISTINGUISHED)
    cancelled = connector.normalize(
        api(
            stateCode="CANCELLED",
            cancellation_purpose="Conversion to SPE-GRK",
            retirementBeneficiary=None,
            retirementReason=None,
        )
    )
    assert cancelled.status == "cancelled"
    assert cancelled.status_reason == "cancellation purpose: Conversion to SPE-GRK"
    assert cancelled.status_date == "2026-04-06"


def test_an_issued_block_is_dated_by_its_issuance() -> None:
    block = connector.normalize(
        api(retiredCancelled=False, retireOrCancelDate=None, retirementBeneficiary=None)
    )
    assert (block.status, block.status_date, block.status_reason) == (
        "issued",
        "2026-04-02",
        None,
    )


def test_an_unknown_state_is_quarantined_with_its_name() -> None:
    with pytest.raises(RecordError, match=r"stateCode: is not a known state.*'LOCKED'"):
        connector.normalize(api(stateCode="LOCKED"))


@pytest.mark.parametrize(
    ("certifications", "purpose"),
    [
        (
            "Article 6 Authorized \u2013 Intl mitigation purposes; Article 6 Authorized \u2013 "
            "NDC Use; Article 6 Authorized \u2013 Other purposes; CORSIA - First Phase, "
            "2024-2026 Scope",
            "ndc-and-oimp",
        ),
        (
            "Article 6 Authorized \u2013 Intl mitigation purposes; Article 6 Authorized \u2013 "
            "Other purposes; CORSIA - First Phase, 2024-2026 Scope",
            "oimp",
        ),
        ("Article 6 Authorised - NDC Use", "ndc"),
        ("CCB-Biodiversity Gold", None),
        (None, None),
    ],
)
def test_article_6_authorization_from_additional_certifications(
    certifications: str | None, purpose: str | None
) -> None:
    block = connector.normalize(api(additionalCertifications=certifications))
    assert block.authorized_purpose == purpose


def test_2026_article_6_fields() -> None:
    block = connector.normalize(
        api(
            stateCode="ISSUED",
            corresponding_adjustment_status="Applied",
            letter_of_auth_hcloa="LoA-GH-2025-014",
        )
    )
    assert block.corresponding_adjustment == "applied"
    assert block.authorization_id == "LoA-GH-2025-014"
    with pytest.raises(RecordError, match="corresponding_adjustment_status"):
        connector.normalize(api(corresponding_adjustment_status="maybe later"))


def test_a_malformed_serial_names_the_field_the_token_and_the_value() -> None:
    with pytest.raises(RecordError) as caught:
        connector.normalize(api(serialNumbers="19381-941412555-X-VCS-VCU-1310-VER-CN-13"))
    assert str(caught.value) == (
        "serialNumbers: cannot parse serial: token 'X' (block end) is not a number "
        "(value: '19381-941412555-X-VCS-VCU-1310-VER-CN-13')"
    )
    assert isinstance(caught.value.__cause__, SerialError)


def test_a_gold_standard_serial_is_refused_by_verra() -> None:
    with pytest.raises(RecordError, match="serialNumbers: is a gs serial"):
        connector.normalize(api(serialNumbers="GS1-1-UG-GS11236-16-2024-30307-1-19149"))


def test_normalize_is_pure() -> None:
    record = api(retirementDetails="Retired for jane.doe@example.org, call +44 20 7946 0958")
    before = copy.deepcopy(record.payload)
    first, second = connector.normalize(record), connector.normalize(record)
    assert first == second
    assert record.payload == before


def test_personal_data_never_reaches_the_reason() -> None:
    block = connector.normalize(
        api(retirementDetails="Retired for jane.doe@example.org, call +44 20 7946 0958")
    )
    assert block.status_reason is not None
    assert "jane.doe" not in block.status_reason
    assert "7946" not in block.status_reason
    assert "[email removed]" in block.status_reason


def test_reason_is_nfc_and_capped() -> None:
    reason = join_reason((("details", "Cafe\u0301 " + "x" * 3000),))
    assert reason is not None
    assert reason.startswith("details: Caf\u00e9 ")
    assert len(reason) == 2000
