"""``metaregistry parse-serial``: show what a serial says, as one JSON object."""

from __future__ import annotations

import json
from typing import Any

import click

from metaregistry.serials.batches import explain_batch
from metaregistry.serials.parsed import SerialError
from metaregistry.serials.registry import parse_serial

# Exit code for a serial that cannot be parsed: click's own code for bad usage.
_CANNOT_PARSE = 2


@click.command("parse-serial")
@click.argument("serial")
@click.option(
    "--family",
    default=None,
    metavar="FAMILY",
    help="Parse with this grammar only (see the error of an unknown name for the list).",
)
def parse_serial_command(serial: str, family: str | None) -> None:
    """Parse SERIAL and print its scheme, scope, block range and other facts as JSON.

    Exits with status 2 and the reason on stderr when SERIAL cannot be parsed.
    """
    try:
        facts = parse_serial(serial, family=family).to_json()
    except ValueError as error:  # SerialError, or an unknown --family
        # A batch identifier (a bare Cercarbono serial, a Regen denom) names no units: it is
        # explained with ``numbered`` false instead of refused.
        batch = _batch_facts(serial) if family is None else None
        if batch is None:
            click.echo(f"error: {error}", err=True)
            raise SystemExit(_CANNOT_PARSE) from None
        facts = batch
    click.echo(json.dumps(facts, ensure_ascii=False))


def _batch_facts(serial: str) -> dict[str, Any] | None:
    try:
        return explain_batch(serial)
    except SerialError as error:
        click.echo(f"error: {error}", err=True)
        raise SystemExit(_CANNOT_PARSE) from None


def register(group: click.Group) -> None:
    """Add ``parse-serial`` to the ``metaregistry`` command group."""
    group.add_command(parse_serial_command)
