"""``metaregistry mock-registry NAME``: serve one mock registry until SIGTERM or SIGINT.

When it listens it prints exactly one line to stdout,
``mock-registry NAME listening on http://HOST:PORT``, which parent processes wait for
(:func:`~metaregistry.mock.server.spawn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import click
from aiohttp import web

from metaregistry.mock.server.app import MockRegistry, build_app
from metaregistry.mock.server.faults import FaultSpec, FaultSpecError
from metaregistry.mock.server.records import MockDataError
from metaregistry.mock.server.registries import NAMES, create_registry

__all__ = ["mock_registry_command", "serve"]


async def serve(registry: MockRegistry, host: str, port: int) -> None:
    """Serve ``registry`` on ``host:port`` until SIGTERM/SIGINT; prints the ready line."""
    # No access log: a parent reading only the ready line must not block on a full pipe.
    runner = web.AppRunner(build_app(registry), access_log=None, handle_signals=False)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1] if runner.addresses else port
        shown = f"[{host}]" if ":" in host else host
        click.echo(f"mock-registry {registry.name} listening on http://{shown}:{bound}")
        sys.stdout.flush()
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()


@contextlib.contextmanager
def _world(world: Path | None, seed: int | None, records: int | None) -> Iterator[Path]:
    if world is not None:
        if seed is not None or records is not None:
            raise click.UsageError("give either --world or --seed/--records, not both")
        if not world.is_dir():
            raise click.BadParameter(f"not a directory: {world}", param_hint="--world")
        yield world
        return
    if seed is None or records is None:
        raise click.UsageError("give --world DIR, or --seed S and --records N to generate one")
    try:
        from metaregistry.mock.world import generate_world
    except ImportError as exc:  # the generator is a separate package
        raise click.ClickException(f"cannot generate a world: {exc}") from exc
    with tempfile.TemporaryDirectory(prefix="metaregistry-world-") as tmp:
        click.echo(f"generating a world of {records} records (seed {seed}) in {tmp}", err=True)
        generate_world(seed, records, Path(tmp))
        yield Path(tmp)


@click.command("mock-registry")
@click.argument("name", type=click.Choice(NAMES))
@click.option("--port", type=click.IntRange(0, 65535), required=True, help="0 picks a free one.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--world",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="World directory written by `metaregistry generate`.",
)
@click.option("--seed", type=int, default=None, help="Generate a world with this seed.")
@click.option("--records", type=click.IntRange(1), default=None, help="Records to generate.")
@click.option("--token", default=None, help="Bearer token clients must send (none: open).")
@click.option(
    "--faults",
    default="",
    help='Fault rates, e.g. "429=0.05,5xx=0.05,slow=0.02,truncate=0.01,malformed=0.001,'
    'repeat=0.01" (see docs/mocks.md).',
)
@click.option("--fault-seed", type=int, default=0, show_default=True)
def mock_registry_command(
    name: str,
    port: int,
    host: str,
    world: Path | None,
    seed: int | None,
    records: int | None,
    token: str | None,
    faults: str,
    fault_seed: int,
) -> None:
    """Serve the world's records of registry NAME over HTTP, with faults."""
    try:
        spec = FaultSpec.parse(faults, seed=fault_seed)
    except FaultSpecError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from exc
    with _world(world, seed, records) as directory:
        try:
            registry = create_registry(name, directory, spec, token)
        except MockDataError as exc:
            raise click.ClickException(str(exc)) from exc
        try:
            asyncio.run(serve(registry, host, port))
        except OSError as exc:
            raise click.ClickException(f"cannot listen on {host}:{port}: {exc}") from exc
