"""World files served page by page without loading them into memory.

:class:`LineFile` indexes the byte offset of every record line once at start (8 bytes a
record), then reads any range of records with one seek. It serves NDJSON files and CSV files
whose cells hold no line breaks (the world generator writes them so).
"""

from __future__ import annotations

import csv
import io
import json
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

__all__ = ["LineFile", "MockDataError", "csv_row", "csv_rows", "parse_csv_line"]

_CHUNK = 1 << 20


class MockDataError(ValueError):
    """A world file is missing or cannot be served (names the file and the line)."""


class LineFile:
    """The records of one line-oriented file, indexed by byte offset.

    ``header`` skips a first line (the CSV header, kept in :attr:`header_line`). ``keep``
    (optional) filters records while indexing: it gets the raw line and says whether the
    record belongs to this view."""

    def __init__(
        self,
        path: Path,
        *,
        header: bool = False,
        keep: Callable[[bytes], bool] | None = None,
    ) -> None:
        if not path.is_file():
            raise MockDataError(f"world file not found: {path}")
        self.path = path
        self.header_line = b""
        self._offsets = array("Q")
        self._ends = array("Q")
        self._index(header=header, keep=keep)

    def _index(self, *, header: bool, keep: Callable[[bytes], bool] | None) -> None:
        with self.path.open("rb") as fh:
            if header:
                self.header_line = fh.readline().rstrip(b"\r\n")
            position = fh.tell()
            for line in fh:
                end = position + len(line)
                if line.strip() and (keep is None or keep(line)):
                    self._offsets.append(position)
                    self._ends.append(end)
                position = end

    def __len__(self) -> int:
        return len(self._offsets)

    def offset(self, index: int) -> int:
        """Byte offset of record ``index`` in the file: its identity across filtered views."""
        return self._offsets[index]

    def lines(self, start: int, stop: int) -> list[bytes]:
        """Record lines ``start`` (inclusive) to ``stop`` (exclusive), without line breaks.
        Consecutive records are read with one seek."""
        stop = min(stop, len(self))
        if start >= stop:
            return []
        out: list[bytes] = []
        with self.path.open("rb") as fh:
            run_start = start
            while run_start < stop:
                # Extend the run while records are adjacent in the file (no filtered gaps).
                run_end = run_start + 1
                while run_end < stop and self._offsets[run_end] == self._ends[run_end - 1]:
                    run_end += 1
                fh.seek(self._offsets[run_start])
                blob = fh.read(self._ends[run_end - 1] - self._offsets[run_start])
                out.extend(line.rstrip(b"\r") for line in blob.split(b"\n") if line.strip())
                run_start = run_end
        return out

    def records(self, start: int, stop: int) -> list[dict[str, Any]]:
        """NDJSON records ``start`` to ``stop`` as objects."""
        out: list[dict[str, Any]] = []
        for number, line in enumerate(self.lines(start, stop), start):
            try:
                value = json.loads(line)
            except json.JSONDecodeError as exc:
                raise MockDataError(f"{self.path}: record {number} is not JSON: {exc}") from exc
            if not isinstance(value, dict):
                raise MockDataError(f"{self.path}: record {number} is not an object")
            out.append(value)
        return out

    def iter_lines(self) -> Iterator[bytes]:
        """Every record line in order, streamed in chunks."""
        step = 4096
        for start in range(0, len(self), step):
            yield from self.lines(start, start + step)

    def columns(self) -> list[str]:
        """The CSV header's column names."""
        return parse_csv_line(self.header_line)


def parse_csv_line(line: bytes) -> list[str]:
    """One CSV line as cells."""
    return next(csv.reader([line.decode("utf-8")]), [])


def csv_row(cells: Sequence[object]) -> bytes:
    """Cells as one CSV line (CRLF-terminated, as RFC 4180 writes it)."""
    return csv_rows([cells])


def csv_rows(rows: Iterable[Sequence[object]]) -> bytes:
    """Rows as CSV lines (CRLF-terminated, as RFC 4180 writes them)."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")
