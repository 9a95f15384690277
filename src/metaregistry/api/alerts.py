"""Open alerts for lookups, read from detection's ``alert`` table.

Detection (:mod:`metaregistry.detect`) owns the table; this module only reads it. Until the
table exists in the database the API answers with no alerts (see ``Features.alerts``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from metaregistry.api.queries import Db

__all__ = ["alerts_for", "alerts_of_project"]


def alerts_for(db: Db, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[Any]]:
    """The open (not resolved) alerts that name each (registry, record_id)."""
    return {key: [] for key in keys}


def alerts_of_project(db: Db, project_id: str) -> list[Any]:
    """The open alerts naming any block of the project."""
    return []
