"""Adding grammars, choosing among them, and the Gold Standard column helper."""

from __future__ import annotations

import pytest

from metaregistry.serials import (
    ParsedSerial,
    SerialError,
    grammars,
    parse_gs_columns,
    parse_serial,
    register_grammar,
)
from metaregistry.serials import registry as registry_module
from metaregistry.serials.registry import GrammarRegistry
from metaregistry.serials.tokens import block_range, need, split_range


class ZetaGrammar:
    """A made-up registry's serials: ``ZETA-<batch>-<start> to <end>``."""

    family = "zeta"

    def match(self, text: str) -> bool:
        return text.startswith("ZETA-")

    def parse(self, text: str) -> ParsedSerial:
        head, end = split_range(text, text)
        tokens = head.split("-")
        need(text, tokens, 3, ("program", "batch", "block_start"))
        start, last = block_range(text, tokens[2], tokens[2] if end is None else end)
        return ParsedSerial("zeta", "zeta", tokens[1], start, last, batch=tokens[1])


class GreedyGrammar:
    """Claims every serial and reads none: a badly written ``match``."""

    def __init__(self, family: str) -> None:
        self.family = family

    def match(self, text: str) -> bool:
        return True

    def parse(self, text: str) -> ParsedSerial:
        raise SerialError(text, None, f"{self.family} cannot read it")


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> GrammarRegistry:
    """A copy of the default registry for one test, so registrations do not leak."""
    registry = GrammarRegistry(grammars())
    monkeypatch.setattr(registry_module, "_DEFAULT", registry)
    return registry


def test_built_in_grammars_come_first_in_a_documented_order() -> None:
    families = [grammar.family for grammar in grammars()]
    assert families[:8] == [
        "verra",
        "verra-legacy",
        "gold-standard",
        "cdm",
        "acr",
        "car",
        "art",
        "cercarbono",
    ]
    # The mock registries' grammars are registered by importing the package.
    assert {"spe-grk", "tver", "jcm"} <= set(families)


@pytest.mark.usefixtures("fresh_registry")
def test_a_registered_grammar_is_used_by_parse_serial_and_by_name() -> None:
    with pytest.raises(SerialError, match="no known serial format"):
        parse_serial("ZETA-77-1 to 10")
    register_grammar(ZetaGrammar())
    parsed = parse_serial("ZETA-77-1 to 10")
    assert (parsed.scheme, parsed.scope, parsed.quantity) == ("zeta", "77", 10)
    assert parse_serial("ZETA-77-4", family="zeta").quantity == 1
    assert grammars()[-1].family == "zeta"


@pytest.mark.usefixtures("fresh_registry")
def test_the_only_grammar_that_claims_a_serial_gives_its_own_error() -> None:
    register_grammar(ZetaGrammar())
    with pytest.raises(SerialError) as caught:
        parse_serial("ZETA-77-9 to 1")
    assert caught.value.token == "1"
    assert "(block end) is before block start 9" in str(caught.value)


def test_registering_is_idempotent_and_a_taken_family_needs_replace(
    fresh_registry: GrammarRegistry,
) -> None:
    zeta = ZetaGrammar()
    assert register_grammar(zeta) is zeta
    register_grammar(zeta)  # the same object again: nothing changes
    assert [g.family for g in grammars()].count("zeta") == 1
    with pytest.raises(ValueError, match="already registered"):
        register_grammar(ZetaGrammar())
    other = ZetaGrammar()
    register_grammar(other, replace=True)
    assert fresh_registry.get("zeta") is other
    assert [g.family for g in grammars()].count("zeta") == 1


@pytest.mark.usefixtures("fresh_registry")
def test_a_replaced_built_in_keeps_its_place_in_the_order() -> None:
    before = [g.family for g in grammars()]
    register_grammar(GreedyGrammar("acr"), replace=True)
    assert [g.family for g in grammars()] == before


@pytest.mark.usefixtures("fresh_registry")
@pytest.mark.parametrize("thing", [object(), "verra", 42])
def test_only_grammars_can_be_registered(thing: object) -> None:
    with pytest.raises(TypeError, match="is not a Grammar"):
        register_grammar(thing)  # type: ignore[arg-type]


@pytest.mark.usefixtures("fresh_registry")
@pytest.mark.parametrize("family", ["", "Zeta", "ze ta", "zeta-", 7])
def test_a_family_must_be_a_kebab_case_name(family: object) -> None:
    grammar = GreedyGrammar("x")
    grammar.family = family  # type: ignore[assignment]
    with pytest.raises(ValueError, match="kebab-case"):
        register_grammar(grammar)


def test_when_two_grammars_claim_a_serial_and_neither_reads_it_no_format_is_known() -> None:
    registry = GrammarRegistry([GreedyGrammar("one"), GreedyGrammar("two")])
    with pytest.raises(SerialError) as caught:
        registry.parse("anything")
    assert caught.value.reason.startswith("no known serial format")
    assert "one, two" in caught.value.reason


def test_a_later_grammar_reads_what_an_earlier_claimant_could_not() -> None:
    registry = GrammarRegistry([GreedyGrammar("greedy"), ZetaGrammar()])
    assert registry.parse("ZETA-1-5").family == "zeta"


# --- parse_gs_columns: Gold Standard exports that give the range in columns ---------------

PREFIX = "GS1-1-CN-GS7604-3-2020-21289"


def test_a_serial_prefix_with_start_and_end_columns_is_a_range() -> None:
    parsed = parse_gs_columns(PREFIX, start="85975", end="85979")
    assert parsed.family == "gold-standard-columns"
    assert (parsed.scheme, parsed.scope, parsed.project_id) == ("gs", "21289", "GS7604")
    assert (parsed.block_start, parsed.block_end, parsed.quantity) == (85975, 85979, 5)
    assert (parsed.vintage_start, parsed.vintage_end) == ("2020-01-01", "2020-12-31")
    # The same units as the full serial would name.
    full = parse_serial(f"{PREFIX}-85975-85979")
    assert parsed.extras == full.extras
    assert (parsed.scope, parsed.block_start, parsed.block_end) == (
        full.scope,
        full.block_start,
        full.block_end,
    )


def test_a_serial_prefix_with_start_and_quantity_columns_is_a_range() -> None:
    parsed = parse_gs_columns(PREFIX, start=85975, quantity="1,000")
    assert (parsed.block_start, parsed.block_end) == (85975, 86974)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"start": 10, "end": 20, "quantity": 10}, "quantity"),
        ({"start": 10, "end": 9}, "end"),
        ({"start": 10, "quantity": 0}, "quantity"),
        ({"start": "ten", "end": 20}, "start"),
        ({"start": "10.5", "end": 20}, "start"),
        ({"end": 20}, "start"),
        ({"start": 10}, "end"),
    ],
)
def test_range_columns_that_do_not_add_up_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(SerialError) as caught:
        parse_gs_columns(PREFIX, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"quantity": 19148}, "quantity"),
        ({"vintage": 2023}, "vintage"),
        ({"gsid": "11237"}, "gsid"),
        ({"start": 2}, "start"),
        ({"end": "19,150"}, "end"),
    ],
)
def test_a_full_serial_is_checked_against_the_columns_beside_it(
    kwargs: dict[str, object], field: str
) -> None:
    serial = "GS1-1-UG-GS11236-16-2024-30307-1-19149"
    assert parse_gs_columns(
        serial, quantity="19,149", vintage="2024.0", gsid="GS11236", start=1, end=19149
    ) == parse_serial(serial)
    with pytest.raises(SerialError) as caught:
        parse_gs_columns(serial, **kwargs)  # type: ignore[arg-type]
    assert caught.value.field == field
    assert "disagrees with the serial" in str(caught.value)


def test_a_cdm_serial_in_a_gs_export_is_checked_on_quantity() -> None:
    serial = "RW-5-1459975-2-2-0-7014 - RW-5-1460107-2-2-0-7014"
    assert parse_gs_columns(serial, quantity="133").scheme == "cdm"
    with pytest.raises(SerialError, match="disagrees"):
        parse_gs_columns(serial, quantity=134)


def test_gs_columns_reject_empty_and_overlong_serials() -> None:
    with pytest.raises(SerialError, match="empty serial"):
        parse_gs_columns("  ", start=1, end=2)
    with pytest.raises(SerialError, match="longer than 512"):
        parse_gs_columns(PREFIX + "9" * 600, start=1, end=2)
