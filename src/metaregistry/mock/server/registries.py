"""The mock registries by name."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from metaregistry.mock.server.app import MockRegistry
from metaregistry.mock.server.dataset import MalformedRecord
from metaregistry.mock.server.faults import FaultSpec
from metaregistry.mock.server.gold_standard import GoldStandardMock
from metaregistry.mock.server.jcm import JcmMock
from metaregistry.mock.server.srn_ppi import SrnPpiMock
from metaregistry.mock.server.tccr import TccrMock
from metaregistry.mock.server.verra import VerraMock

__all__ = ["NAMES", "UnknownMockError", "create_registry", "malformed_records"]

_MOCKS: Final[dict[str, type[MockRegistry]]] = {
    "srn-ppi": SrnPpiMock,
    "tccr": TccrMock,
    "jcm": JcmMock,
    "verra": VerraMock,
    "gold-standard": GoldStandardMock,
}
NAMES: Final = tuple(_MOCKS)


class UnknownMockError(LookupError):
    """No mock registry has this name."""


def create_registry(
    name: str, world: Path, spec: FaultSpec | None = None, token: str | None = None
) -> MockRegistry:
    """The mock ``name`` over the world directory ``world`` (files indexed, not loaded)."""
    try:
        cls = _MOCKS[name]
    except KeyError:
        raise UnknownMockError(
            f"unknown mock registry {name!r} (known: {', '.join(NAMES)})"
        ) from None
    return cls(world, spec or FaultSpec(), token)


def malformed_records(name: str, world: Path, spec: FaultSpec) -> list[MalformedRecord]:
    """The records mock ``name`` serves corrupted under ``spec``, without starting it."""
    return create_registry(name, world, spec).malformed()
