"""The Article 6 registries' authorization files as the mocks serve them (issue 19).

Each mock pages its authorizations the way it pages its credits (its own parameters, bodies
and repeated pages; 429, 5xx, cut-off bodies and slow answers come from the shared fault
machinery around every route). Records are never served corrupted: the malformed-record
fault stays the credits' (``/_mock/malformed`` lists those only). A world written before
authorizations existed serves an empty list.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from metaregistry.mock.server.dataset import Dataset, RecordFormat
from metaregistry.mock.server.faults import FaultSpec

__all__ = ["authorization_dataset"]


def authorization_dataset(
    registry: str, world: Path, relative: str, id_field: str, quantity_field: str, spec: FaultSpec
) -> Dataset | None:
    """The dataset of ``world/relative``, None when the world has no such file."""
    path = world / relative
    if not path.is_file():
        return None
    fmt = RecordFormat(id_field=id_field, serial_field=id_field, quantity_field=quantity_field)
    clean = dataclasses.replace(spec, malformed=0.0)
    return Dataset(registry, relative, path, fmt, clean, label=f"{relative} (authorizations)")
