"""The ``metaregistry`` command line.

Each area registers its own commands (``register(group)`` in its ``cli`` module), so this module
only builds the group and the shared options.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from metaregistry import __version__
from metaregistry.settings import ConfigError, Settings, load_settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = ["main", "open_index", "settings_of"]

_COMMAND_MODULES = (
    "metaregistry.serials.cli",
    "metaregistry.sync.cli",
    "metaregistry.daemon",
    "metaregistry.demo",
    "metaregistry.detect.cli",
    "metaregistry.reconcile.cli",
    "metaregistry.feed.cli",
    "metaregistry.log.cli",
    "metaregistry.api.cli",
    "metaregistry.mock.cli",
    "metaregistry.bench.cli",
    "metaregistry.article6.cli",
)


class _AreaGroup(click.Group):
    """Loads the areas' commands on first use, so importing this module imports no area
    (area modules import ``settings_of`` from here)."""

    _loaded = False

    def _load(self) -> None:
        if not self._loaded:
            self._loaded = True
            _register_commands(self)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        self._load()
        return super().get_command(ctx, cmd_name)


@click.group(cls=_AreaGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="TOML settings file (default: ./metaregistry.toml when present).",
)
@click.version_option(__version__, prog_name="metaregistry")
@click.pass_context
def main(ctx: click.Context, config_path: Path | None) -> None:
    """metaregistry: a federated meta-registry for carbon credits."""
    from metaregistry.stopping import stop_on_sigterm

    stop_on_sigterm()  # SIGTERM runs the clean-up Ctrl-C runs: no process left behind
    ctx.obj = {"config_path": config_path}


def settings_of(ctx: click.Context) -> Settings:
    """The settings of this invocation (loaded once, on first use)."""
    root = ctx.find_root()
    obj = root.obj if isinstance(root.obj, dict) else {}
    root.obj = obj
    if "settings" not in obj:
        path = obj.get("config_path") or _demo_settings()
        try:
            obj["settings"] = load_settings(path)
        except ConfigError as exc:
            raise click.ClickException(str(exc)) from exc
    settings: Settings = obj["settings"]
    return settings


def open_index(ctx: click.Context) -> Engine:
    """The writer's engine on this invocation's index, migrated. A SQLite index that did not
    exist is said once on stderr (a command run in the wrong folder makes an empty index
    instead of finding the one the user meant: issue 22)."""
    from metaregistry.index.db import create_engine, migrate

    engine = create_engine(settings_of(ctx).database_url)
    path = engine.url.database if engine.dialect.name == "sqlite" else None
    new_file = bool(path) and path != ":memory:" and not Path(str(path)).exists()
    migrate(engine)
    if new_file:
        click.echo(f"created a new, empty index {path} (database_url chooses another)", err=True)
    return engine


#: The demo's settings, found when a command runs beside the demo's folder.
DEMO_SETTINGS = Path(".demo") / "metaregistry.toml"


def _demo_settings() -> Path | None:
    """``.demo/metaregistry.toml`` when the command runs where ``python3 run.py demo`` ran,
    no settings file or database is given otherwise, and the demo's settings exist: the
    commands printed at the end of the demo then work as typed. Said once, on stderr."""
    import os

    if Path("metaregistry.toml").is_file() or not DEMO_SETTINGS.is_file():
        return None
    if any(k.upper() == "METAREGISTRY_DATABASE_URL" for k in os.environ):
        return None
    click.echo(f"using the demo's settings, {DEMO_SETTINGS} (--config FILE for others)", err=True)
    return DEMO_SETTINGS


class CommandModuleError(RuntimeError):
    """A module of ``_COMMAND_MODULES`` is missing or has no ``register(group)``."""


def _register_commands(group: click.Group, modules: tuple[str, ...] = _COMMAND_MODULES) -> None:
    """Every listed module's commands; a listed module that is missing or cannot register
    is an error (a command must never disappear silently)."""
    for name in modules:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name is not None and name.startswith(exc.name):
                raise CommandModuleError(f"command module {name} does not exist") from exc
            raise
        register = getattr(module, "register", None)
        if not callable(register):
            raise CommandModuleError(f"command module {name} has no register(group)")
        register(group)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
