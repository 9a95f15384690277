"""The one SQLModel metadata of the index, with every area's tables registered on it."""

from __future__ import annotations

import importlib
import importlib.util

from sqlmodel import SQLModel

# Each area defines its tables in its own module; importing them registers them here.
_TABLE_MODULES = (
    "metaregistry.index.tables",
    "metaregistry.log.tables",
    "metaregistry.detect.tables",
    "metaregistry.feed.tables",
    "metaregistry.reconcile.tables",
    "metaregistry.article6.tables",
)

for _name in _TABLE_MODULES:
    if importlib.util.find_spec(_name) is not None:
        importlib.import_module(_name)

metadata = SQLModel.metadata
