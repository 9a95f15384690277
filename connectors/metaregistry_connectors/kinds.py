"""Connectors whose records come in kinds (a file's kind, a stream): one table per connector
of each kind's raw schema and normalizer, and how to tell the kind of a record that was
built elsewhere (a test, a retried quarantine entry) from its payload."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from metaregistry.connector import RawRecord, RecordError
from metaregistry.model import UnitBlock

__all__ = ["RecordKinds"]

Normalizer = Callable[[Mapping[str, Any]], UnitBlock]


@dataclass(frozen=True, slots=True)
class RecordKinds:
    """``kinds``: kind -> (raw schema, normalizer). ``markers``: (payload keys, kind), tried
    in order when a record's stream is not a kind: the first whose keys are all present."""

    connector: str
    kinds: Mapping[str, tuple[str, Normalizer]]
    markers: Sequence[tuple[frozenset[str], str]] = ()

    def of(self, record: RawRecord) -> str:
        if record.stream in self.kinds:
            return record.stream
        for keys, kind in self.markers:
            if keys <= record.payload.keys():
                return kind
        return record.stream

    def raw_schema(self, record: RawRecord) -> str | None:
        known = self.kinds.get(self.of(record))
        return known[0] if known else None

    def normalize(self, record: RawRecord) -> UnitBlock:
        known = self.kinds.get(self.of(record))
        if known is None:
            raise RecordError(
                f"{self.connector} has no stream or file kind {record.stream!r} "
                f"(known: {', '.join(self.kinds)})"
            )
        return known[1](record.payload)
