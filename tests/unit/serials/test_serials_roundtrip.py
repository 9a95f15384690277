"""Properties: a serial written from its parts parses back to exactly those parts, for every
grammar; and each grammar's fast path agrees with its token-by-token reader on any input near
a valid serial (same result, or the same error)."""

from __future__ import annotations

import datetime
import string
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from metaregistry.serials import MAX_BLOCK_NUMBER, ParsedSerial, SerialError, parse_serial
from metaregistry.serials.acr import ACR
from metaregistry.serials.art import ART
from metaregistry.serials.car import CAR
from metaregistry.serials.cdm import CDM
from metaregistry.serials.gold_standard import GOLD_STANDARD
from metaregistry.serials.verra import VERRA, VERRA_LEGACY

# No deadline: these tests check results, never speed (the machine may be busy).
PROPERTY = settings(max_examples=150, deadline=None)

Example = tuple[str, ParsedSerial]

numbers = st.integers(min_value=0, max_value=MAX_BLOCK_NUMBER)
ids = st.text(alphabet=string.digits, min_size=1, max_size=7)
countries = st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=2)
years = st.integers(min_value=1000, max_value=9999).map(str)


@st.composite
def ranges(draw: st.DrawFn) -> tuple[int, int]:
    """An inclusive range; a third of them a single unit."""
    start = draw(numbers)
    if draw(st.integers(0, 2)) == 0:
        return start, start
    end = draw(st.integers(min_value=start, max_value=MAX_BLOCK_NUMBER))
    return start, end


@st.composite
def vintages(draw: st.DrawFn) -> tuple[datetime.date, datetime.date]:
    dates = st.dates(datetime.date(1990, 1, 1), datetime.date(2099, 12, 31))
    first, second = draw(dates), draw(dates)
    return min(first, second), max(first, second)


@st.composite
def verra_serials(draw: st.DrawFn) -> Example:
    registry = draw(st.sampled_from(["VER", "APX", "MER"]))
    program = draw(st.booleans())
    # A unit type spelled VCS would read as the program token; no registry uses one.
    unit = draw(
        st.text(string.ascii_uppercase, min_size=1, max_size=4).filter(lambda u: u != "VCS")
    )
    batch, code, project = draw(ids), draw(ids), draw(ids)
    sectoral = draw(st.none() | ids)
    country = draw(countries)
    start, end = draw(ranges())
    first, last = draw(vintages())
    flag = draw(st.sampled_from(["0", "1"]))
    tokens = [batch, str(start), str(end), *(["VCS"] if program else []), unit, code, registry]
    tokens += [country, *([sectoral] if sectoral is not None else []), project]
    tokens += [first.strftime("%d%m%Y"), last.strftime("%d%m%Y"), flag]
    extras = [("program", "VCS")] if program else []
    extras += [("unit_type", unit), ("code", code), ("registry", registry)]
    extras += [("sectoral_scope", sectoral)] if sectoral is not None else []
    extras += [("additional_certification", flag)]
    legacy = registry != "VER"
    expected = ParsedSerial(
        "verra-legacy" if legacy else "verra",
        "vcs",
        "legacy" if legacy else "",
        start,
        end,
        project_id="VCS" + project,
        vintage_start=first.isoformat(),
        vintage_end=last.isoformat(),
        country=country,
        batch=batch,
        extras=tuple(extras),
    )
    return "-".join(tokens), expected


@st.composite
def gold_standard_serials(draw: st.DrawFn) -> Example:
    series, number, project = draw(ids), draw(ids), draw(ids)
    country, type_code, year, batch = draw(countries), draw(ids), draw(years), draw(ids)
    start, end = draw(ranges())
    text = f"GS{series}-{number}-{country}-GS{project}-{type_code}-{year}-{batch}-{start}-{end}"
    expected = ParsedSerial(
        "gold-standard",
        "gs",
        batch,
        start,
        end,
        project_id=f"GS{project}",
        vintage_start=f"{year}-01-01",
        vintage_end=f"{year}-12-31",
        country=country,
        batch=batch,
        extras=(("series", f"GS{series}-{number}"), ("project_type_code", type_code)),
    )
    return text, expected


@st.composite
def cdm_serials(draw: st.DrawFn) -> Example:
    party, unit_type = draw(countries), draw(st.sampled_from([*"1234567", "12"]))
    periods, lulucf, project = draw(st.tuples(ids, ids)), draw(ids), draw(ids)
    start, end = draw(ranges())

    def one(serial: int) -> str:
        return f"{party}-{unit_type}-{serial}-{periods[0]}-{periods[1]}-{lulucf}-{project}"

    single = start == end and draw(st.booleans())
    text = one(start) if single else f"{one(start)} - {one(end)}"
    names = {"1": "AAU", "2": "RMU", "3": "ERU", "4": "ERU", "5": "CER", "6": "tCER", "7": "lCER"}
    expected = ParsedSerial(
        "cdm",
        "cdm",
        f"{party}-{unit_type}",
        start,
        end,
        project_id=f"CDM{project}",
        country=party,
        extras=(
            ("unit_type", names.get(unit_type, unit_type)),
            ("unit_type_code", unit_type),
            ("original_commitment_period", periods[0]),
            ("applicable_commitment_period", periods[1]),
            ("lulucf_activity", lulucf),
        ),
    )
    return text, expected


def written_range(draw: st.DrawFn, start: int, end: int) -> str:
    """``start to end``, or just ``start`` for a single unit (both forms are read)."""
    if start == end and draw(st.booleans()):
        return str(start)
    return f"{start} to {end}"


@st.composite
def acr_serials(draw: st.DrawFn) -> Example:
    country, project, year, batch = draw(countries), draw(ids), draw(years), draw(ids)
    start, end = draw(ranges())
    text = f"ACR-{country}-{project}-{year}-{batch}-{written_range(draw, start, end)}"
    expected = ParsedSerial(
        "acr",
        "acr",
        batch,
        start,
        end,
        project_id=f"ACR{project}",
        vintage_start=f"{year}-01-01",
        vintage_end=f"{year}-12-31",
        country=country,
        batch=batch,
    )
    return text, expected


@st.composite
def car_serials(draw: st.DrawFn) -> Example:
    unit = draw(
        st.sampled_from(["1", "ROC"])
        | st.text(string.ascii_letters + string.digits, min_size=1, max_size=4)
    )
    country, project, type_code, developer = draw(countries), draw(ids), draw(ids), draw(ids)
    state = draw(st.text(string.ascii_uppercase, min_size=1, max_size=3))
    year, batch = draw(years), draw(ids)
    start, end = draw(ranges())
    head = f"CAR-{unit}-{country}-{project}-{type_code}-{developer}-{state}-{year}-{batch}"
    expected = ParsedSerial(
        "car",
        "car",
        batch,
        start,
        end,
        project_id=f"CAR{project}",
        vintage_start=f"{year}-01-01",
        vintage_end=f"{year}-12-31",
        country=country,
        batch=batch,
        extras=(
            ("unit_type", unit),
            ("project_type_code", type_code),
            ("developer_code", developer),
            ("state", state),
        ),
    )
    return f"{head}-{written_range(draw, start, end)}", expected


@st.composite
def art_serials(draw: st.DrawFn) -> Example:
    program = draw(st.sampled_from(["ART", "FCPF"]))
    country, program_id, year, batch = draw(countries), draw(ids), draw(years), draw(ids)
    start, end = draw(ranges())
    text = f"{program}-{country}-{program_id}-{year}-{batch}-{written_range(draw, start, end)}"
    expected = ParsedSerial(
        "art",
        program.lower(),
        batch,
        start,
        end,
        project_id=f"ART{program_id}",
        vintage_start=f"{year}-01-01",
        vintage_end=f"{year}-12-31",
        country=country,
        batch=batch,
        extras=(("program", program),),
    )
    return text, expected


EXAMPLES = {
    "verra": verra_serials(),
    "gold-standard": gold_standard_serials(),
    "cdm": cdm_serials(),
    "acr": acr_serials(),
    "car": car_serials(),
    "art": art_serials(),
}


@pytest.mark.parametrize("family", list(EXAMPLES))
def test_a_written_serial_parses_back_to_its_parts(family: str) -> None:
    @PROPERTY
    @given(EXAMPLES[family])
    def round_trip(example: Example) -> None:
        text, expected = example
        assert parse_serial(text) == expected
        assert parse_serial(text, family=expected.family) == expected
        assert parse_serial(text).quantity == expected.block_end - expected.block_start + 1

    round_trip()


# Text that turns a valid serial into an interesting near miss: separators, letters that look
# like digits, a non-ASCII digit, space, a date-sized number.
NEAR_MISS = st.sampled_from(["0", "9", "O", "o", "-", " ", " to ", "X", "٣", "", "00000000"])


@st.composite
def near_misses(draw: st.DrawFn, text: str) -> str:
    """``text`` with one to three of its dash-separated tokens damaged."""
    tokens = text.split("-")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(tokens) - 1))
        token = tokens[at]
        how = draw(st.sampled_from(["insert", "replace", "lower", "drop", "double"]))
        if how == "insert":
            cut = draw(st.integers(0, len(token)))
            tokens[at] = token[:cut] + draw(NEAR_MISS) + token[cut:]
        elif how == "replace":
            tokens[at] = draw(NEAR_MISS)
        elif how == "lower":
            tokens[at] = token.lower()
        elif how == "drop" and len(tokens) > 1:
            del tokens[at]
        else:
            tokens.insert(at, token)
    return "-".join(tokens)


FAST_AND_SLOW: dict[str, tuple[st.SearchStrategy[Example], list[object]]] = {
    "verra": (verra_serials(), [VERRA, VERRA_LEGACY]),
    "gold-standard": (gold_standard_serials(), [GOLD_STANDARD]),
    "cdm": (cdm_serials(), [CDM]),
    "acr": (acr_serials(), [ACR]),
    "car": (car_serials(), [CAR]),
    "art": (art_serials(), [ART]),
}


def outcome(read: Callable[[str], ParsedSerial], text: str) -> ParsedSerial | str:
    try:
        return read(text)
    except SerialError as error:
        return f"error: {error.reason}"


@pytest.mark.parametrize("family", list(FAST_AND_SLOW))
def test_the_fast_path_agrees_with_the_token_reader_on_near_misses(family: str) -> None:
    examples, grammar_list = FAST_AND_SLOW[family]

    @settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(examples, st.data())
    def agree(example: Example, data: st.DataObject) -> None:
        text = data.draw(near_misses(example[0]))
        for grammar in grammar_list:
            fast = outcome(grammar.parse, text)  # type: ignore[attr-defined]
            slow = outcome(grammar.read_tokens, text)  # type: ignore[attr-defined]
            assert fast == slow, text

    agree()
