"""The mock commands: ``mock-registry`` (this package's servers) and ``generate`` (the scenario
generator, registered by :mod:`metaregistry.mock.world.cli` when that package is present)."""

from __future__ import annotations

import importlib
import importlib.util

import click

__all__ = ["register"]


def register(group: click.Group) -> None:
    from metaregistry.mock.server.command import mock_registry_command

    group.add_command(mock_registry_command)
    try:
        found = importlib.util.find_spec("metaregistry.mock.world.cli") is not None
    except ModuleNotFoundError:
        found = False
    if found:
        importlib.import_module("metaregistry.mock.world.cli").register(group)
