"""``metaregistry parse-serial``: JSON on stdout, or exit 2 with the reason on stderr."""

from __future__ import annotations

import json

import click
import pytest
from click.testing import CliRunner

from metaregistry.serials.cli import register


@pytest.fixture
def group() -> click.Group:
    @click.group()
    def main() -> None:
        """A stand-in for the metaregistry group."""

    register(main)
    return main


def test_a_serial_is_printed_as_one_json_object(group: click.Group) -> None:
    serial = "GS1-1-KE-GS11603-16-2025-30256-110-5463"
    result = CliRunner().invoke(group, ["parse-serial", serial])
    assert result.exit_code == 0, result.output
    assert result.stdout.count("\n") == 1
    facts = json.loads(result.stdout)
    assert facts == {
        "family": "gold-standard",
        "scheme": "gs",
        "scope": "30256",
        "block_start": 110,
        "block_end": 5463,
        "quantity": 5354,
        "project_id": "GS11603",
        "vintage_start": "2025-01-01",
        "vintage_end": "2025-12-31",
        "country": "KE",
        "batch": "30256",
        "extras": {"series": "GS1-1", "project_type_code": "16"},
    }
    assert result.stderr == ""


def test_family_option_selects_the_grammar(group: click.Group) -> None:
    serial = "8040-449402275-449402300-VCU-042-MER-PE-14-1360-01072013-30062014-1"
    result = CliRunner().invoke(group, ["parse-serial", serial, "--family", "verra-legacy"])
    assert result.exit_code == 0, result.output
    facts = json.loads(result.stdout)
    assert (facts["scope"], facts["quantity"]) == ("legacy", 26)
    assert facts["extras"]["registry"] == "MER"


def test_an_unparsable_serial_exits_2_with_the_reason_on_stderr(group: click.Group) -> None:
    serial = "ACR-US-1185-2025-3078-100 to 99"
    result = CliRunner().invoke(group, ["parse-serial", serial])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"error: cannot parse serial '{serial}': token '99' (block end) is before block start 100"
    )


def test_an_unknown_family_exits_2_naming_the_known_ones(group: click.Group) -> None:
    result = CliRunner().invoke(group, ["parse-serial", "ZETA-1", "--family", "zeta"])
    assert result.exit_code == 2
    assert "unknown serial family 'zeta'" in result.stderr
    assert "gold-standard" in result.stderr
