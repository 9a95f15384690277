"""``metaregistry generate``: write a scenario world (registered by ``metaregistry.mock.cli``)."""

from __future__ import annotations

import time
from pathlib import Path

import click

from metaregistry.mock.world.generate import WorldError, generate_world
from metaregistry.progress import Progress

__all__ = ["register"]


@click.command("generate")
@click.option("--seed", type=int, required=True, help="Random seed: same seed, same world.")
@click.option("--records", type=click.IntRange(min=1), required=True, help="Records to write.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Directory to write the world into (created if missing).",
)
@click.option(
    "--malformed",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    help="Records written with a bad serial or a wrong type (listed in world.json).",
)
@click.option(
    "--cases",
    type=click.IntRange(min=1),
    default=None,
    help="Planted cases per pattern (default: scales with --records).",
)
@click.option("--quiet", is_flag=True, help="No progress on stderr.")
def generate(
    seed: int, records: int, out_dir: Path, malformed: int, cases: int | None, quiet: bool
) -> None:
    """Generate a world: every registry's files, truth.json and world.json."""
    started = time.monotonic()
    try:
        with Progress("generate", enabled=not quiet) as progress:
            manifest = generate_world(
                seed,
                records,
                out_dir,
                lambda written, total: progress.update("", written, total),
                malformed=malformed,
                cases=cases,
            )
    except WorldError as exc:
        raise click.BadParameter(str(exc)) from exc
    planted = sum(manifest["cases"].values())
    click.echo(
        f"wrote {manifest['records']:,} records in {len(manifest['files'])} files, "
        f"{planted} planted cases, {len(manifest['malformed'])} malformed, to {out_dir} "
        f"({time.monotonic() - started:.1f}s)"
    )


def register(group: click.Group) -> None:
    """Add ``generate`` to the ``metaregistry`` command group."""
    group.add_command(generate)
