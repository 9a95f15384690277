"""``metaregistry parse-serial``: show what a serial says, as one JSON object."""

from __future__ import annotations

import json

import click

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
        parsed = parse_serial(serial, family=family)
    except ValueError as error:  # SerialError, or an unknown --family
        click.echo(f"error: {error}", err=True)
        raise SystemExit(_CANNOT_PARSE) from None
    click.echo(json.dumps(parsed.to_json(), ensure_ascii=False))


def register(group: click.Group) -> None:
    """Add ``parse-serial`` to the ``metaregistry`` command group."""
    group.add_command(parse_serial_command)
