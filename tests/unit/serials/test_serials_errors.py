"""Bad serials are rejected with a message that names the serial and the failing token; the
forms real exports use (single units, hand-typed O, surrounding spaces) are accepted."""

from __future__ import annotations

import pytest

from metaregistry.serials import MAX_BLOCK_NUMBER, SerialError, parse_serial

VERRA = "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1"
LEGACY = "8040-449402275-449402275-VCU-042-MER-PE-14-1360-01072013-30062014-1"
GS = "GS1-1-UG-GS11236-16-2024-30307-1-19149"
CDM = "RW-5-1463953-2-2-0-7014 - RW-5-1467609-2-2-0-7014"
ACR = "ACR-US-1185-2025-3078-1 to 85847"
CAR = "CAR-1-US-1335-31-983-KS-2025-9205-1 to 5000"
ART = "ART-GY-102-2021-11-2759599 to 2760598"


def error_of(serial: str, family: str | None = None) -> SerialError:
    with pytest.raises(SerialError) as caught:
        parse_serial(serial, family=family)
    return caught.value


def test_the_message_names_the_serial_and_the_token() -> None:
    serial = "8040-X-449402275-VCU-042-MER-PE-14-1360-01072013-30062014-1"
    error = error_of(serial)
    assert str(error) == f"cannot parse serial '{serial}': token 'X' (block start) is not a number"
    assert (error.serial, error.token, error.field) == (serial, "X", "block_start")
    assert error.reason == "token 'X' (block start) is not a number"
    assert isinstance(error, ValueError)


@pytest.mark.parametrize(
    ("serial", "token", "words"),
    [
        (VERRA.replace("941467431", "941467006"), "941467006", "before block start 941467007"),
        (GS.replace("-1-19149", "-500-499"), "499", "before block start 500"),
        (CDM.replace("1467609", "1463952"), "1463952", "before block start 1463953"),
        (ACR.replace("1 to 85847", "100 to 99"), "99", "before block start 100"),
        (CAR.replace("1 to 5000", "5000 to 1"), "1", "before block start 5000"),
        (ART.replace("2760598", "2759598"), "2759598", "before block start 2759599"),
    ],
    ids=["verra", "gs", "cdm", "acr", "car", "art"],
)
def test_a_range_that_ends_before_it_starts_names_both_numbers(
    serial: str, token: str, words: str
) -> None:
    error = error_of(serial)
    assert error.token == token
    assert error.field == "block_end"
    assert f"token '{token}' (block end) is {words}" in str(error)


@pytest.mark.parametrize(
    ("serial", "token", "label"),
    [
        (VERRA.replace("-1340-", "-13A0-"), "13A0", "project id"),
        (VERRA.replace("19385-", "19x85-"), "19x85", "batch"),
        (GS.replace("-30307-", "-3O3O7-"), "3O3O7", "batch"),
        (GS.replace("-2024-", "-24-"), "24", "vintage"),
        (CDM.replace("-7014 -", "-70I4 -"), "70I4", "project id"),
        (ACR.replace("-1185-", "-11B5-"), "11B5", "project id"),
        (CAR.replace("-9205-", "-92O5-"), "92O5", "batch"),
        (ART.replace("to 2760598", "to 27605 98"), "27605 98", "block end"),
        (VERRA.replace("-941467007-", "-٩٤١-"), "٩٤١", "block start"),
    ],
    ids=[
        "verra-project",
        "verra-batch",
        "gs-batch",
        "gs-vintage",
        "cdm-project",
        "acr-project",
        "car-batch",
        "art-end",
        "arabic-digits",
    ],
)
def test_a_token_that_should_be_a_number_is_named(serial: str, token: str, label: str) -> None:
    error = error_of(serial)
    assert error.token == token
    assert f"token {token!r} ({label})" in str(error)


@pytest.mark.parametrize(
    ("serial", "family", "label"),
    [
        (VERRA.rsplit("-", 1)[0], None, "additional certification"),
        # Cut before its registry token a serial no longer looks like Verra's: name the family.
        ("19385-941467007-941467431-VCS-VCU-1507-VER", "verra", "country"),
        ("19385-941467007", "verra", "block end"),
        (GS.rsplit("-", 1)[0], None, "block end"),
        ("RW-5-1463953-2-2-0 - RW-5-1467609-2-2-0-7014", None, "project id"),
        ("ACR-US-1185-2025-3078-1 to", None, "block end"),
        ("ACR-US-1185-2025-1 to 5", None, "block start"),
        ("CAR-1-US-1335-31-983-KS-2025-1 to 5000", None, "block start"),
        ("ART-GY-102-2021-2759599 to 2760598", None, "block start"),
    ],
)
def test_a_missing_token_is_named(serial: str, family: str | None, label: str) -> None:
    error = error_of(serial, family)
    assert error.token is None
    assert f"missing token ({label}" in str(error)


@pytest.mark.parametrize(
    ("serial", "token"),
    [
        (GS + "-7", "7"),
        ("ACR-US-1185-2025-3078-9-1 to 85847", "1"),
        (VERRA.replace("-14-1340-", "-14-99-1340-"), "1340"),
        ("RW-5-1463953-2-2-0-7014-9", "9"),
    ],
    ids=["gs", "acr", "verra", "cdm"],
)
def test_an_extra_token_is_named(serial: str, token: str) -> None:
    error = error_of(serial)
    assert error.token == token
    assert f"unexpected token {token!r}" in str(error)


@pytest.mark.parametrize("serial", ["", "   ", "\t\n"])
def test_an_empty_serial_is_rejected(serial: str) -> None:
    assert error_of(serial).reason == "empty serial"


def test_an_absurdly_long_serial_is_rejected_before_parsing() -> None:
    serial = "GS1-1-UG-GS11236-16-2024-30307-1-" + "9" * 600
    error = error_of(serial)
    assert "more than 512" in error.reason
    assert len(str(error)) < 250  # the message shows a cut serial, the attribute keeps all
    assert error.serial == serial


def test_block_numbers_beyond_64_bits_are_rejected_and_the_largest_is_accepted() -> None:
    largest = f"ACR-US-1185-2025-3078-1 to {MAX_BLOCK_NUMBER}"
    assert parse_serial(largest).block_end == 2**63 - 1
    error = error_of(f"ACR-US-1185-2025-3078-1 to {MAX_BLOCK_NUMBER + 1}")
    assert error.token == str(2**63)
    assert "larger than 2**63-1" in str(error)


@pytest.mark.parametrize("serial", ["hello", "12345", "XX-YY", "VCU", "GSX-1"])
def test_a_serial_of_no_known_shape_says_so(serial: str) -> None:
    error = error_of(serial)
    assert error.reason == "no known serial format"
    assert error.token is None


def test_cdm_range_ends_must_agree_on_everything_but_the_serial() -> None:
    serial = "RW-5-1463953-2-2-0-7014 - RW-5-1467609-2-2-0-7015"
    error = error_of(serial)
    assert error.token == "7015"
    assert "(project id) at range end differs from '7014' at range start" in str(error)
    error = error_of("RW-5-1463953-2-2-0-7014 - UG-5-1467609-2-2-0-7014")
    assert error.field == "party"


def test_cdm_range_of_three_serials_is_rejected() -> None:
    error = error_of(CDM + " - RW-5-1467610-2-2-0-7014")
    assert "unexpected third serial" in str(error)


def test_verra_dates_must_exist_and_be_in_order() -> None:
    error = error_of(VERRA.replace("01012020", "31022020"))
    assert "token '31022020' (vintage start) is not a valid date" in str(error)
    error = error_of(VERRA.replace("31122020", "31122019"))
    assert "token '31122019' (vintage end) is before vintage start 2020-01-01" in str(error)


def test_verra_flag_must_be_0_or_1() -> None:
    error = error_of(VERRA[:-1] + "2")
    assert "token '2' (additional certification) is not 0 or 1" in str(error)


def test_a_named_family_reports_its_own_error() -> None:
    error = error_of(LEGACY, family="verra")
    assert "token 'MER' (registry) is not one of VER" in str(error)


def test_an_unknown_family_is_a_plain_value_error_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown serial family 'nope'.*verra") as caught:
        parse_serial(VERRA, family="nope")
    assert not isinstance(caught.value, SerialError)


@pytest.mark.parametrize(
    ("serial", "start", "end"),
    [
        (VERRA.replace("941467431", "941467007"), 941467007, 941467007),
        ("GS1-1-CR-GS2913-22-2025-30184-3-3", 3, 3),
        ("RW-5-1463953-2-2-0-7014", 1463953, 1463953),
        ("ACR-US-802-2022-3027-1 to 1", 1, 1),
        ("ACR-US-802-2022-3027-7", 7, 7),
        ("CAR-1-MX-1941-42-1869-DG-2024-8409-1881", 1881, 1881),
        ("FCPF-CI-130-2023-20-5", 5, 5),
    ],
)  # fmt: skip
def test_a_single_unit_is_a_range_of_one(serial: str, start: int, end: int) -> None:
    parsed = parse_serial(serial)
    assert (parsed.block_start, parsed.block_end, parsed.quantity) == (start, end, 1)


def test_surrounding_whitespace_is_ignored() -> None:
    assert parse_serial(f"  {GS}\n") == parse_serial(GS)


def test_a_hand_typed_letter_o_is_read_as_zero_in_numbers_only() -> None:
    clean = "19902-1139690318-1139925920-VCS-VCU-500-VER-CO-3352-01012020-31122020-0"
    typed = "19902-1139690318-113992592O-VCS-VCU-500-VER-CO-3352-0101202O-3112202O-O"
    parsed = parse_serial(typed)
    assert parsed.country == "CO"  # the O of Colombia is a letter and stays one
    assert (parsed.block_end, parsed.vintage_start, parsed.vintage_end) == (
        1139925920,
        "2020-01-01",
        "2020-12-31",
    )
    assert parsed.extra("additional_certification") == "0"
    assert parsed.extra("normalized") == "letter-o-as-zero"
    assert parsed.extras[:-1] == parse_serial(clean).extras
    assert parse_serial(clean).extra("normalized") is None


def test_a_letter_o_does_not_rescue_a_token_that_is_not_a_number() -> None:
    error = error_of(VERRA.replace("-1340-", "-13X0-").replace("31122020", "3112202O"))
    assert error.token == "13X0"


def test_the_newest_verra_serials_may_lack_the_sectoral_scope() -> None:
    parsed = parse_serial("19902-1139690318-1139925921-VCS-VCU-500-VER-US-3352-01012024-31122024-0")
    assert parsed.project_id == "VCS3352"
    assert parsed.extra("sectoral_scope") is None
    assert parsed.quantity == 235604
