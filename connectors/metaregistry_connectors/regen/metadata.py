"""A C01 credit batch's metadata file (JSON-LD), as Regen publishes it.

``regen-registry-standards/ops/C01/credit-batch-metadata/<denom>.jsonld`` holds, per batch::

    {"@type": "regen:C01-CreditBatch",
     "regen:vcsProjectId": 612,
     "regen:additionalCertifications": [{"schema:name": "CCB Biodiversity Gold", ...}],
     "regen:vcsRetirementSerialNumber": "9381-93664807-93664871-VCS-VCU-259-VER-KE-..."}

The batch denom is not inside: it is the file's name (its content hash is the batch's
metadata IRI on the ledger). The record has the columns of the batch table, so a metadata
file and its row in the table give the same block.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from metaregistry.connector import FatalSourceError, RawRecord
from metaregistry.reading import Unreadable, parse_json

__all__ = ["batch_metadata_record"]

_SERIAL: Final = "regen:vcsRetirementSerialNumber"
_TYPES: Final = frozenset({"regen:C01-CreditBatch"})


def batch_metadata_record(path: Path) -> RawRecord:
    """The one record of a batch metadata file; ``FatalSourceError`` for any other JSON."""
    try:
        document = parse_json(path.read_bytes())
    except OSError as exc:
        raise FatalSourceError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    except Unreadable as exc:
        raise FatalSourceError(f"{path.name}: not a JSON-LD document ({exc})") from exc
    if not isinstance(document, dict) or _SERIAL not in document:
        kind = document.get("@type") if isinstance(document, dict) else type(document).__name__
        raise FatalSourceError(
            f"{path.name}: not a C01 credit batch metadata document (type {kind!r}, no "
            f"{_SERIAL}); known types: {', '.join(sorted(_TYPES))}"
        )
    names = [
        str(item.get("schema:name", "")).strip()
        for item in document.get("regen:additionalCertifications") or []
        if isinstance(item, dict)
    ]
    payload: dict[str, Any] = {
        "regen_batch_metadata_file": path.name.split(".", 1)[0],
        "vcs_retirement_serial_number": _text(document.get(_SERIAL)),
        "vcs_project_id": _text(document.get("regen:vcsProjectId")),
        "additional_certifications": "; ".join(n for n in names if n),
    }
    return RawRecord(payload=payload, ref=f"{path.name}:1", stream="batch-table")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()
