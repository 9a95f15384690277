"""The fault plan of the mock registries: parsing, determinism, and that every failure is
recoverable by a client that retries."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from metaregistry.mock.server.dataset import RecordFormat, corrupt
from metaregistry.mock.server.faults import (
    FAILURES,
    Corruption,
    Fault,
    FaultPlan,
    FaultSpec,
    FaultSpecError,
    corruption_of,
)


def test_parse_reads_every_kind_and_the_tuning_keys() -> None:
    spec = FaultSpec.parse(
        "429=0.05, 5xx=0.05,slow=0.02,truncate=0.01,malformed=0.001,repeat=0.01,"
        "retry-after=2,slow-seconds=0.5,burst=4,max-consecutive=2",
        seed=7,
    )
    assert (spec.too_many, spec.server_error, spec.slow) == (0.05, 0.05, 0.02)
    assert (spec.truncate, spec.malformed, spec.repeat) == (0.01, 0.001, 0.01)
    assert (spec.retry_after, spec.slow_seconds, spec.burst, spec.max_consecutive) == (
        2.0,
        0.5,
        4,
        2,
    )
    assert spec.seed == 7
    assert FaultSpec.parse(spec.render()).malformed == 0.001


@pytest.mark.parametrize("text", ["", None, " , "])
def test_an_empty_spec_means_no_faults(text: str | None) -> None:
    assert not FaultSpec.parse(text).any


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("teapot=0.1", "'teapot'"),
        ("429=1.5", "429"),
        ("5xx=lots", "'lots'"),
        ("slow", "'slow'"),
        ("retry-after=-1", "retry-after"),
        ("429=0.6,5xx=0.6", "429 + 5xx + truncate"),
    ],
)
def test_a_bad_spec_is_refused_naming_the_kind_and_value(text: str, named: str) -> None:
    with pytest.raises(FaultSpecError, match="faults:") as info:
        FaultSpec.parse(text)
    assert named in str(info.value)


def test_a_request_that_always_fails_succeeds_after_max_consecutive_attempts() -> None:
    plan = FaultPlan(FaultSpec.parse("429=1,max-consecutive=3"))
    outcomes = [plan.decide("GET /page?n=1") for _ in range(5)]
    assert outcomes[:3] == [Fault.TOO_MANY_REQUESTS] * 3
    assert outcomes[3] not in FAILURES
    # Another request has its own count.
    assert plan.decide("GET /page?n=2") is Fault.TOO_MANY_REQUESTS


def test_a_server_error_comes_in_bursts_capped_by_max_consecutive() -> None:
    plan = FaultPlan(FaultSpec.parse("5xx=0.3,burst=10,max-consecutive=4", seed=3))
    streaks = []
    for n in range(300):
        streak = 0
        while plan.decide(f"GET /p?n={n}") is Fault.SERVER_ERROR:
            streak += 1
        streaks.append(streak)
    assert max(streaks) == 4
    assert any(1 < s < 4 for s in streaks)


def test_decisions_are_the_same_for_a_seed_and_differ_across_seeds() -> None:
    def run(seed: int) -> list[Fault | None]:
        plan = FaultPlan(FaultSpec.parse("429=0.2,5xx=0.2,slow=0.2,repeat=0.2", seed=seed))
        return [plan.decide(f"GET /p?n={n % 40}") for n in range(200)]

    assert run(1) == run(1)
    assert run(1) != run(2)


def test_rates_are_honoured_on_first_attempts() -> None:
    plan = FaultPlan(FaultSpec.parse("429=0.1,5xx=0.1,truncate=0.1", seed=5))
    first = [plan.decide(f"GET /p?n={n}") for n in range(4000)]
    for fault in (Fault.TOO_MANY_REQUESTS, Fault.SERVER_ERROR, Fault.TRUNCATE):
        assert 0.08 < first.count(fault) / len(first) < 0.12, fault
    assert 0.65 < first.count(None) / len(first) < 0.75


@settings(max_examples=60, deadline=None)
@given(
    rates=st.tuples(*(st.floats(0, 0.33) for _ in range(3))),
    limit=st.integers(0, 5),
    burst=st.integers(1, 8),
    seed=st.integers(0, 2**32),
)
def test_no_request_fails_more_than_max_consecutive_times_in_a_row(
    rates: tuple[float, float, float], limit: int, burst: int, seed: int
) -> None:
    spec = FaultSpec.parse(
        f"429={rates[0]},5xx={rates[1]},truncate={rates[2]},burst={burst},max-consecutive={limit}",
        seed=seed,
    )
    plan = FaultPlan(spec)
    for n in range(30):
        streak = 0
        for _ in range(20):
            if plan.decide(f"GET /p?n={n}") in FAILURES:
                streak += 1
                assert streak <= limit
            else:
                streak = 0


def test_malformed_records_depend_only_on_the_record_and_the_seed() -> None:
    spec = FaultSpec.parse("malformed=0.1", seed=11)
    keys = [f"world.ndjson@{n * 97}" for n in range(3000)]
    chosen = {key: corruption_of(key, spec) for key in keys}
    assert chosen == {key: corruption_of(key, spec) for key in keys}
    broken = [c for c in chosen.values() if c is not None]
    assert 0.08 < len(broken) / len(keys) < 0.12
    assert set(broken) == {Corruption.BAD_SERIAL, Corruption.WRONG_TYPE}
    other_seed = FaultSpec.parse("malformed=0.1", seed=12)
    assert chosen != {key: corruption_of(key, other_seed) for key in keys}
    assert corruption_of(keys[0], FaultSpec()) is None


FMT = RecordFormat(
    id_field="id", serial_field="serial", quantity_field="qty", origin_field="source_serial"
)


def test_a_bad_serial_breaks_the_serial_the_units_are_numbered_by() -> None:
    native = {"id": "A", "serial": "TVER-P-0412-2566-00045-1-1916", "qty": 1916}
    assert corrupt(native, Corruption.BAD_SERIAL, FMT) == "serial"
    assert native["serial"] == "TVER-P-0412-25#?"
    converted = {"id": "B", "serial": "IDN-X", "source_serial": "GS1-1-UG-GS1-16-2024-1-1-9"}
    assert corrupt(converted, Corruption.BAD_SERIAL, FMT) == "source_serial"
    assert converted["serial"] == "IDN-X"
    assert str(converted["source_serial"]).endswith("#?")


def test_a_wrong_type_quantity_cannot_be_read_as_a_number() -> None:
    number: dict[str, object] = {"id": "A", "serial": "S", "qty": 1916}
    text: dict[str, object] = {"id": "B", "serial": "S", "qty": "1,916"}
    assert corrupt(number, Corruption.WRONG_TYPE, FMT) == "qty"
    assert corrupt(text, Corruption.WRONG_TYPE, FMT) == "qty"
    assert number["qty"] == "n/a"
    assert text["qty"] == {"value": "1,916"}
