"""Cercarbono (EcoRegistry) serials and Regen Ledger batch denominations.

A Cercarbono serial names a batch; a retirement row's ``from``/``to`` columns give unit
positions inside it, written ``<serial> <from> to <to>``. A Regen denom names a batch of
fungible credits and never units. Both bare identifiers are explained by ``parse-serial``
with ``numbered`` false.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from metaregistry.serials import SerialError, parse_serial
from metaregistry.serials.batches import explain_batch
from metaregistry.serials.cercarbono import parse_cdc_batch, parse_cdc_columns
from metaregistry.serials.cli import register
from metaregistry.serials.regen import parse_regen_denom

SERIALS = [
    # (serial, project, sequence, year, buffer, country, qualifiers)
    ("CDC_1_1_1_321_14_1", "CDC1", "1", None, False, None, ""),
    ("CDC_1_1_1_321_14_1_2009", "CDC1", "1", "2009", False, None, ""),
    ("CDC_1_1_1_321_14_1_2008_BF", "CDC1", "1", "2008", True, None, ""),
    ("CDC_4_1_1_321_14_R1_XX_CO_1_2_BFC_2018", "CDC4", "2", "2018", True, "CO", "R1_XX_CO_1"),
    ("CDC_7_3_1_323_14_CO_1_2_2019_BF", "CDC7", "2", "2019", True, "CO", "CO_1"),
    ("CDC_8_1_1_321_14_R1_XA_CO_1_2_2018", "CDC8", "2", "2018", False, "CO", "R1_XA_CO_1"),
    ("CDC_10_1_29_321_14_R1_XX_CO_1_6_BFC_2021", "CDC10", "6", "2021", True, "CO", "R1_XX_CO_1"),
]


@pytest.mark.parametrize(
    ("serial", "project", "sequence", "year", "buffer", "country", "qualifiers"), SERIALS
)
def test_a_bare_serial_states_its_batch(
    serial: str,
    project: str,
    sequence: str,
    year: str | None,
    buffer: bool,
    country: str | None,
    qualifiers: str,
) -> None:
    batch = parse_cdc_batch(serial)
    assert (batch.project_id, batch.sequence, batch.vintage_year) == (
        project,
        sequence,
        year,
    )
    assert (batch.buffer, batch.country, "_".join(batch.qualifiers)) == (
        buffer,
        country,
        qualifiers,
    )


def test_a_positioned_serial_is_a_range_scoped_by_its_batch() -> None:
    parsed = parse_serial("CDC_1_1_1_321_14_1_2009 4426 to 4971")
    assert (parsed.family, parsed.scheme, parsed.scope) == (
        "cercarbono",
        "cercarbono",
        "CDC_1_1_1_321_14_1_2009",
    )
    assert (parsed.block_start, parsed.block_end, parsed.quantity) == (4426, 4971, 546)
    assert (parsed.project_id, parsed.vintage_start, parsed.batch) == ("CDC1", "2009-01-01", "1")
    # Position 0 exists: the oldest batches count from 0.
    assert parse_serial("CDC_1_1_1_321_14_1 0 to 999").quantity == 1000
    assert parse_serial("CDC_1_1_1_321_14_1 7").quantity == 1


@settings(max_examples=100, deadline=None)
@given(
    serial=st.sampled_from([row[0] for row in SERIALS]),
    start=st.integers(0, 10**12),
    size=st.integers(1, 10**6),
)
def test_columns_written_out_parse_back(serial: str, start: int, size: int) -> None:
    end = start + size - 1
    positioned, parsed = parse_cdc_columns(serial, str(start), str(end), str(size))
    again = parse_serial(positioned)
    assert again == parsed
    assert (again.scope, again.block_start, again.block_end, again.quantity) == (
        serial,
        start,
        end,
        size,
    )


@pytest.mark.parametrize(
    ("text", "token", "field"),
    [
        ("CDC_1_1_1_3x1_14_1 1 to 2", "3x1", "code_3"),
        ("CDC_x_1_1_321_14_1 1 to 2", "x", "project"),
        ("CDC_1_1_1_321_14_1_2009 12 to 4", "4", "block_end"),
        ("CDC_1_1_1_321_14_1_2009 1a to 4", "1a", "block_start"),
        ("CDC_1_1_1_321_14_r1_1 1 to 2", "r1", "qualifier"),
        ("CDC_1_1_1_321_14_BF 1 to 2", None, "sequence"),
        ("CDC_1_1_1_321 1 to 2", None, "sector"),
    ],
)
def test_a_bad_token_is_named(text: str, token: str | None, field: str) -> None:
    with pytest.raises(SerialError) as caught:
        parse_serial(text)
    assert (caught.value.token, caught.value.field) == (token, field)
    assert text in str(caught.value)


def test_a_bare_serial_is_no_range_and_says_how_to_give_one() -> None:
    with pytest.raises(SerialError, match=r"'<serial> <from> to <to>'"):
        parse_serial("CDC_1_1_1_321_14_1_2009")


def test_a_quantity_column_that_disagrees_with_the_positions_is_named() -> None:
    with pytest.raises(SerialError) as caught:
        parse_cdc_columns("CDC_1_1_1_321_14_1_2009", "4426", "4971", "545")
    assert (caught.value.field, caught.value.token) == ("quantity", "545")


@pytest.mark.parametrize(
    ("denom", "project", "start", "end", "sequence"),
    [
        ("C01-001-20150101-20151231-001", "C01-001", "2015-01-01", "2015-12-31", "001"),
        ("C01-003-20150701-20160630-001", "C01-003", "2015-07-01", "2016-06-30", "001"),
        ("KSH01-002-20220101-20221231-012", "KSH01-002", "2022-01-01", "2022-12-31", "012"),
        ("C01-20190101-20191231-001", None, "2019-01-01", "2019-12-31", "001"),
    ],
)
def test_a_regen_denom_states_class_project_dates_and_sequence(
    denom: str, project: str | None, start: str, end: str, sequence: str
) -> None:
    parsed = parse_regen_denom(denom)
    assert (parsed.project_id, parsed.start_date, parsed.end_date) == (project, start, end)
    assert parsed.batch_sequence == sequence


@settings(max_examples=100, deadline=None)
@given(
    klass=st.sampled_from(["C01", "C02", "BT01", "KSH01", "USS01"]),
    project=st.integers(1, 999),
    first=st.dates(),
    days=st.integers(0, 4000),
    sequence=st.integers(1, 999),
)
def test_a_written_denom_parses_back(
    klass: str, project: int, first: object, days: int, sequence: int
) -> None:
    import datetime

    assert isinstance(first, datetime.date)
    try:
        last = first + datetime.timedelta(days=days)
    except OverflowError:
        return
    denom = f"{klass}-{project:03d}-{first:%Y%m%d}-{last:%Y%m%d}-{sequence:03d}"
    if first.year < 1000 or last.year > 9999:
        return
    parsed = parse_regen_denom(denom)
    assert (parsed.class_id, parsed.project_sequence, parsed.batch_sequence) == (
        klass,
        f"{project:03d}",
        f"{sequence:03d}",
    )
    assert (parsed.start_date, parsed.end_date) == (first.isoformat(), last.isoformat())


@pytest.mark.parametrize(
    ("denom", "token", "field"),
    [
        ("C01-001-20151301-20151231-001", "20151301", "start_date"),
        ("C01-001-20150101-2015123-001", "2015123", "end_date"),
        ("C01-001-20160101-20151231-001", "20151231", "end_date"),
        ("C01-0x1-20150101-20151231-001", "0x1", "project_sequence"),
        ("C01-001-20150101-20151231-00a", "00a", "batch_sequence"),
        ("C01-001-20150101-20151231-001-9", "9", None),
        ("C01-001-20150101", None, "end_date"),
    ],
)
def test_a_bad_denom_token_is_named(denom: str, token: str | None, field: str | None) -> None:
    with pytest.raises(SerialError) as caught:
        parse_regen_denom(denom)
    assert (caught.value.token, caught.value.field) == (token, field)


@pytest.fixture
def group() -> click.Group:
    @click.group()
    def main() -> None:
        """A stand-in for the metaregistry group."""

    register(main)
    return main


def test_parse_serial_explains_batch_identifiers(group: click.Group) -> None:
    runner = CliRunner()
    denom = runner.invoke(group, ["parse-serial", "C01-001-20150101-20151231-001"])
    assert denom.exit_code == 0, denom.output
    facts = json.loads(denom.stdout)
    assert (facts["scheme"], facts["numbered"], facts["block_start"]) == ("regen", False, None)
    assert (facts["project_id"], facts["vintage_end"]) == ("C01-001", "2015-12-31")
    bare = runner.invoke(group, ["parse-serial", "CDC_7_3_1_323_14_CO_1_2_2019_BF"])
    assert bare.exit_code == 0, bare.output
    facts = json.loads(bare.stdout)
    assert (facts["scope"], facts["numbered"], facts["country"]) == (
        "CDC_7_3_1_323_14_CO_1_2_2019_BF",
        False,
        "CO",
    )
    assert facts["extras"]["buffer"] == "yes"
    positioned = runner.invoke(group, ["parse-serial", "CDC_7_3_1_323_14_CO_1_2_2019 1 to 2280"])
    assert json.loads(positioned.stdout)["quantity"] == 2280
    bad = runner.invoke(group, ["parse-serial", "C01-001-20150101-20151331-001"])
    assert bad.exit_code == 2
    assert "'20151331' (end date) is not a valid date" in bad.stderr


def test_explain_batch_leaves_other_shapes_alone() -> None:
    assert explain_batch("ACR-US-1185-2025-3078-1 to 85847") is None


@pytest.mark.realdata
def test_every_real_cercarbono_serial_reads(real_data: Path) -> None:
    folder = real_data / "carbonplan-offsetsdb" / "cercarbono"
    with (folder / "issuances.csv").open(encoding="utf-8") as handle:
        issued = list(csv.DictReader(handle))
    differ = []
    for row in issued:
        batch = parse_cdc_batch(row["serial"])
        if batch.sequence != row["verification"]:
            differ.append((row["serial"], batch.sequence, row["verification"]))
        assert batch.buffer == (row["is_buffer"] == "True")
        assert batch.vintage_year in (None, row["year"])
    # The sequence token is the verification on 96 rows; project 10's fourth verification
    # carries 3 (which is why the grammar never calls it the verification).
    assert len(differ) == 4
    assert {(s, v) for _, s, v in differ} == {("3", "4")}
    with (folder / "retirements.csv").open(encoding="utf-8") as handle:
        retired = list(csv.DictReader(handle))
    for row in retired:
        _, parsed = parse_cdc_columns(row["serial"], row["from"], row["to"], row["quantity"])
        assert parsed.project_id == "CDC" + row["project_id"]


@pytest.mark.realdata
def test_every_real_regen_denom_reads(real_data: Path) -> None:
    path = real_data / "regen-c01-verra-bridge" / "c01_credit_batches.csv"
    with path.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            denom = parse_regen_denom(row["regen_batch_metadata_file"])
            assert denom.class_id == "C01"
            vcs = parse_serial(row["vcs_retirement_serial_number"])
            # The denom's dates are the Verra vintage.
            assert (denom.start_date, denom.end_date) == (vcs.vintage_start, vcs.vintage_end)
