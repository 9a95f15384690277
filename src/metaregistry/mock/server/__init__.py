"""Mock registry servers (aiohttp) over a generated world, with faults.

``metaregistry mock-registry NAME`` serves one registry; :func:`spawn` runs one as a real
process for tests and the demo. See docs/mocks.md for what each mock serves, the fault spec
and the admin endpoints.
"""

from __future__ import annotations

from metaregistry.mock.server.app import MockRegistry, build_app
from metaregistry.mock.server.dataset import MalformedRecord
from metaregistry.mock.server.faults import FaultSpec, FaultSpecError
from metaregistry.mock.server.process import MockProcess, MockStartError, spawn
from metaregistry.mock.server.registries import NAMES, create_registry, malformed_records

__all__ = [
    "NAMES",
    "FaultSpec",
    "FaultSpecError",
    "MalformedRecord",
    "MockProcess",
    "MockRegistry",
    "MockStartError",
    "build_app",
    "create_registry",
    "malformed_records",
    "spawn",
]
