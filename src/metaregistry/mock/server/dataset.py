"""One registry's records as a mock serves them: a world file, read lazily, with the
malformed records of the fault seed corrupted the same way on every request.

A record's corruption is keyed by its file and byte offset (stable for a world), so a page
served twice or retried carries the same corrupted records, and :meth:`Dataset.malformed`
can list them all for tests (``GET /_mock/malformed``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from metaregistry.mock.server.faults import Corruption, FaultSpec, corruption_of
from metaregistry.mock.server.records import LineFile

__all__ = ["Dataset", "MalformedRecord", "RecordFormat", "corrupt"]


@dataclass(frozen=True, slots=True)
class RecordFormat:
    """Where a registry's record keeps its id, serial and quantity. ``origin_field``: when a
    record has it set, the units are numbered by that serial (a converted credit), so that is
    the serial a bad-serial corruption breaks."""

    id_field: str
    serial_field: str
    quantity_field: str
    origin_field: str | None = None

    def range_field(self, record: dict[str, Any]) -> str:
        if self.origin_field and record.get(self.origin_field):
            return self.origin_field
        return self.serial_field


@dataclass(frozen=True, slots=True)
class MalformedRecord:
    """A record the mock serves corrupted, and how: ``field`` now holds ``value``. (Where the
    record id is the serial, as on Verra, a bad serial changes the id the client sees: find
    the record by ``value``.)"""

    registry: str
    dataset: str
    record_id: str
    corruption: str
    field: str
    value: Any

    def to_json(self) -> dict[str, Any]:
        return {
            "registry": self.registry,
            "dataset": self.dataset,
            "record_id": self.record_id,
            "corruption": self.corruption,
            "field": self.field,
            "value": self.value,
        }


def corrupt(record: dict[str, Any], corruption: Corruption, fmt: RecordFormat) -> str:
    """Break ``record`` in place; returns the field broken.

    A bad serial keeps the front half of the serial and ends in ``#?`` (no grammar accepts
    it); a wrong type puts a value of the wrong JSON type in the quantity that no reading
    turns into a number (text for an integer field, an object for a text field)."""
    if corruption is Corruption.BAD_SERIAL:
        name = fmt.range_field(record)
        serial = str(record.get(name) or "")
        record[name] = f"{serial[: len(serial) // 2]}#?"
        return name
    name = fmt.quantity_field
    value = record.get(name)
    record[name] = {"value": value} if isinstance(value, str) else "n/a"
    return name


class Dataset:
    """The records of one world file of one registry, or a view of it: ``keep`` filters
    lines while indexing, ``reverse`` serves them last line first. ``name`` is the file's
    path in the world (views of one file share it, so a record is corrupted the same way in
    each); ``label`` names the view."""

    def __init__(
        self,
        registry: str,
        name: str,
        path: Path,
        fmt: RecordFormat,
        spec: FaultSpec,
        *,
        keep: Callable[[bytes], bool] | None = None,
        reverse: bool = False,
        label: str | None = None,
    ) -> None:
        self.registry = registry
        self.name = name
        self.label = label or name
        self.fmt = fmt
        self.spec = spec
        self.reverse = reverse
        self.file = LineFile(path, keep=keep)

    def __len__(self) -> int:
        return len(self.file)

    def _corruption(self, file_index: int) -> Corruption | None:
        return corruption_of(f"{self.name}@{self.file.offset(file_index)}", self.spec)

    def records(self, start: int, stop: int) -> list[dict[str, Any]]:
        """Records ``start`` to ``stop`` (exclusive) as served: malformed ones corrupted."""
        total = len(self)
        start, stop = max(0, start), min(stop, total)
        if start >= stop:
            return []
        if self.reverse:
            first = total - stop
            out = self.file.records(first, total - start)
            indices = list(range(first, total - start))
            out.reverse()
            indices.reverse()
        else:
            out = self.file.records(start, stop)
            indices = list(range(start, stop))
        if self.spec.malformed > 0:
            for index, record in zip(indices, out, strict=True):
                corruption = self._corruption(index)
                if corruption is not None:
                    corrupt(record, corruption, self.fmt)
        return out

    def page(self, start: int, size: int, *, repeat: bool = False) -> list[dict[str, Any]]:
        """The page of ``size`` records from ``start``. With ``repeat``, the page before it is
        served again in front of it: the paging repeats, nothing is skipped (the way a client
        that computes the next offset itself meets a repeated page)."""
        if repeat and start > 0:
            return self.records(max(0, start - size), start) + self.records(start, start + size)
        return self.records(start, start + size)

    def malformed(self) -> Iterator[MalformedRecord]:
        """Every record this dataset serves corrupted, in file order."""
        if self.spec.malformed <= 0:
            return
        for index in range(len(self)):
            corruption = self._corruption(index)
            if corruption is None:
                continue
            (line,) = self.file.lines(index, index + 1)
            record = json.loads(line)
            served = dict(record)
            field = corrupt(served, corruption, self.fmt)
            yield MalformedRecord(
                registry=self.registry,
                dataset=self.name,
                record_id=str(record.get(self.fmt.id_field)),
                corruption=str(corruption),
                field=field,
                value=served[field],
            )
