"""Connector discovery through the ``metaregistry.connectors`` entry-point group.

A third-party distribution registers its connector the same way the bundled ones do::

    [project.entry-points."metaregistry.connectors"]
    my-registry = "my_package:connector"

where ``connector`` is a :class:`~metaregistry.connector.Connector` instance (or a class).
"""

from __future__ import annotations

import functools
from importlib.metadata import EntryPoint, entry_points

from metaregistry.connector import SLUG, Connector

__all__ = ["ENTRY_POINT_GROUP", "PluginError", "available", "load", "load_all"]

ENTRY_POINT_GROUP = "metaregistry.connectors"


class PluginError(LookupError):
    """A connector is unknown or its entry point does not load a Connector."""


def _entry_points() -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def available() -> list[str]:
    """Names of the installed connectors, sorted."""
    return sorted(_entry_points())


@functools.cache
def load(name: str) -> Connector:
    """The connector registered as ``name``."""
    points = _entry_points()
    if name not in points:
        known = ", ".join(sorted(points)) or "none"
        raise PluginError(f"unknown connector {name!r} (installed: {known})")
    try:
        obj = points[name].load()
    except Exception as exc:
        raise PluginError(f"connector {name!r} failed to load: {exc}") from exc
    connector = obj() if isinstance(obj, type) else obj
    if not isinstance(connector, Connector):
        raise PluginError(f"entry point {name!r} is not a metaregistry Connector: {obj!r}")
    if connector.name != name or not SLUG.match(name):
        raise PluginError(
            f"entry point {name!r} loads connector named {connector.name!r}; names must match "
            "and be kebab-case"
        )
    return connector


def load_all() -> dict[str, Connector]:
    """Every installed connector that loads; a broken one raises PluginError."""
    return {name: load(name) for name in available()}
