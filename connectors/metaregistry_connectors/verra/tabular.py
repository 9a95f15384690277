"""Export files (CSV and XLSX) as raw records, their kind told by the header row.

Registries publish the same table as CSV and as XLSX, sometimes with a title line or two above
the header. A file's kind (transactions, holdings, issuances, ...) is decided by the columns
its header names, never by the file name: a renamed download still imports, and a file of
another registry fails at once with the columns it has. Every data row becomes one
:class:`~metaregistry.connector.RawRecord` whose payload maps the header names to the cell
text, and whose ``ref`` says where it was (``transactions.csv:17``, the line the row starts on).
XLSX cells are turned into the text a CSV export would hold (dates as ``YYYY-MM-DD``, whole
numbers without ``.0``), so both forms of one export go through the same raw schema.

Shared by the Verra and Gold Standard connectors.
"""

from __future__ import annotations

import csv
import datetime
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from metaregistry.connector import FatalSourceError, RawRecord
from metaregistry.reading import Unreadable, bad_text, csv_rows, unreadable

__all__ = ["EXTRA_CELLS", "FileKind", "read_table"]

#: Payload key of cells beyond the header (kept, never dropped).
EXTRA_CELLS: Final = "__extra_cells__"
# A header may sit below a title line or two; look no further than this.
_HEADER_SCAN: Final = 10
_XLSX_MAGIC: Final = b"PK\x03\x04"
_XLS_MAGIC: Final = b"\xd0\xcf\x11\xe0"
_DELIMITERS: Final = (",", ";", "\t")


@dataclass(frozen=True, slots=True)
class FileKind:
    """One export format: its stream name, the columns that identify it, and columns whose
    presence rules it out (a retirements export also has every issuances column)."""

    name: str
    required: frozenset[str]
    excluded: frozenset[str] = frozenset()

    def matches(self, header: set[str]) -> bool:
        return self.required <= header and not (self.excluded & header)


def read_table(path: Path, kinds: Sequence[FileKind], source: str) -> Iterator[RawRecord]:
    """The data rows of ``path`` as raw records of the first kind its header matches.

    Raises FatalSourceError for a missing, empty or unreadable file, and for a file whose
    header matches no kind (naming the columns found and the kinds known)."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(8)
    except OSError as exc:
        raise FatalSourceError(f"{path}: cannot read the file: {exc.strerror or exc}") from exc
    if not magic:
        raise FatalSourceError(f"{path.name}: the file is empty, not a {source} export")
    if magic.startswith(_XLS_MAGIC):
        raise FatalSourceError(
            f"{path.name}: legacy Excel .xls files are not read; save it as .xlsx or .csv"
        )
    if magic.startswith(_XLSX_MAGIC):
        return _xlsx_records(path, kinds, source)
    return _csv_records(path, kinds, source)


def _find_header(
    rows: Iterable[tuple[int, list[str]]], kinds: Sequence[FileKind], path: Path, source: str
) -> tuple[FileKind, list[str]]:
    first: list[str] | None = None
    for index, (_, cells) in enumerate(rows):
        names = [c.strip().lstrip("\ufeff") for c in cells]
        while names and not names[-1]:
            names.pop()
        if not names:
            if index >= _HEADER_SCAN:
                break
            continue
        first = first or names
        present = set(names)
        for kind in kinds:
            if kind.matches(present):
                return kind, _unique(names)
        if index >= _HEADER_SCAN:
            break
    if first is None:
        raise FatalSourceError(f"{path.name}: no header row found; not a {source} export")
    known = "; ".join(f"{k.name} ({', '.join(sorted(k.required))})" for k in kinds)
    raise FatalSourceError(
        f"{path.name}: not a {source} export this connector knows. Columns found: "
        f"{', '.join(first)}. Known kinds and the columns they need: {known}"
    )


def _unique(names: list[str]) -> list[str]:
    """Header names made unique (``Vintage``, ``Vintage (2)``) and blank ones named."""
    seen: dict[str, int] = {}
    out: list[str] = []
    for position, raw in enumerate(names, start=1):
        name = raw or f"column {position}"
        count = seen.get(name, 0) + 1
        seen[name] = count
        out.append(name if count == 1 else f"{name} ({count})")
    return out


def _record(header: list[str], cells: Sequence[str], ref: str, stream: str) -> RawRecord | None:
    width = len(header)
    if len(cells) == width:
        payload: dict[str, Any] = dict(zip(header, cells, strict=True))
    else:
        padded = list(cells[:width]) + [""] * (width - len(cells))
        payload = dict(zip(header, padded, strict=True))
        extra = [c for c in cells[width:] if c]
        if extra:
            payload[EXTRA_CELLS] = extra
    if not any(payload.values()):
        return None  # a blank line between rows is no record
    return RawRecord(payload=payload, ref=ref, stream=stream)


def _csv_records(path: Path, kinds: Sequence[FileKind], source: str) -> Iterator[RawRecord]:
    delimiter = _sniff_delimiter(path)
    # Bytes that are not UTF-8 cost their row only (quarantined naming the column): a
    # latin-1 "é" in one row must not lose the thousands of rows after it.
    with path.open(encoding="utf-8-sig", errors="surrogateescape", newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        numbered = csv_rows(reader)
        kind, header = _find_header(_readable(numbered), kinds, path, source)
        for line, cells in numbered:
            ref = f"{path.name}:{line}"
            if isinstance(cells, Unreadable):
                yield cells.record(ref, kind.name)
                continue
            record = _record(header, cells, ref, kind.name)
            if record is None:
                continue
            reason = bad_text(record.payload)
            if reason is not None:
                yield unreadable(reason, delimiter.join(cells), ref, kind.name)
                continue
            yield record


def _readable(rows: Iterator[tuple[int, Any]]) -> Iterator[tuple[int, list[str]]]:
    """The rows above the header: one that cannot be read is no header."""
    for line, cells in rows:
        if not isinstance(cells, Unreadable):
            yield line, cells


def _sniff_delimiter(path: Path) -> str:
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            line = handle.readline()
    except UnicodeDecodeError:
        return ","  # the reader reports the encoding problem with its line number
    counts = [line.count(d) for d in _DELIMITERS]
    best = max(range(len(_DELIMITERS)), key=lambda i: counts[i])
    return _DELIMITERS[best] if counts[best] else ","


def _xlsx_records(path: Path, kinds: Sequence[FileKind], source: str) -> Iterator[RawRecord]:
    import openpyxl  # only XLSX imports pay for it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise FatalSourceError(f"{path.name}: not a readable XLSX workbook: {exc}") from exc
    try:
        failure: FatalSourceError | None = None
        for number, sheet in enumerate(book.worksheets):
            rows = _numbered_sheet(sheet.iter_rows(values_only=True))
            try:
                kind, header = _find_header(rows, kinds, path, source)
            except FatalSourceError as exc:
                failure = failure or exc
                continue
            where = path.name if number == 0 else f"{path.name}[{sheet.title}]"
            for row_number, cells in rows:
                record = _record(header, cells, f"{where}:{row_number}", kind.name)
                if record is not None:
                    yield record
            return
        raise failure or FatalSourceError(f"{path.name}: the workbook has no sheets")
    finally:
        book.close()


def _numbered_sheet(rows: Iterable[tuple[Any, ...]]) -> Iterator[tuple[int, list[str]]]:
    for number, row in enumerate(rows, start=1):
        cells = [_xlsx_text(value) for value in row]
        while cells and not cells[-1]:
            cells.pop()
        yield number, cells


def _xlsx_text(value: Any) -> str:
    """A cell as a CSV export would print it."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0, 0):
            return value.date().isoformat()
        return value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
