"""The command line registers every area's commands, and a missing one is an error."""

from __future__ import annotations

from pathlib import Path

import click
import pytest
from click.testing import CliRunner

from metaregistry.cli import _COMMAND_MODULES, CommandModuleError, _register_commands, main


def test_every_listed_command_module_registers_commands() -> None:
    for name in _COMMAND_MODULES:
        group = click.Group()
        _register_commands(group, (name,))
        assert group.commands, f"{name} registered no command"
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("sync", "daemon", "demo", "serve", "lookup", "config", "log"):
        assert f"  {command} " in result.output, command


def test_a_missing_command_module_fails_loudly() -> None:
    with pytest.raises(CommandModuleError, match=r"metaregistry\.nowhere\.cli does not exist"):
        _register_commands(click.Group(), ("metaregistry.nowhere.cli",))
    with pytest.raises(CommandModuleError, match=r"metaregistry\.model has no register"):
        _register_commands(click.Group(), ("metaregistry.model",))


def test_a_broken_import_inside_a_command_module_is_not_hidden(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    (tmp_path / "area_with_a_missing_dependency.py").write_text("import no_such_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_xyz"):
        _register_commands(click.Group(), ("area_with_a_missing_dependency",))
