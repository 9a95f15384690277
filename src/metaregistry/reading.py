"""Reading export files without losing a row to a bad one (issue 20 item 6).

Every file reader of a connector turns a row it cannot read (not UTF-8, not JSON, a number
of thousands of digits, nesting deeper than any registry's record) into an *unreadable
record*: a :class:`~metaregistry.connector.RawRecord` whose payload is
``{"_error": reason, "_unparsed": text}``. The pipeline quarantines it with that reason
(``(line): REASON``), and the reader goes on with the next row. The reasons are worded here, in one
place.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any, Final

from metaregistry.connector import FatalSourceError, RawRecord

__all__ = [
    "MAX_DEPTH",
    "MAX_DIGITS",
    "MAX_LINE",
    "Unreadable",
    "bad_text",
    "csv_rows",
    "json_records",
    "json_values",
    "parse_json",
    "unreadable",
]

#: Bytes; a longer line is a broken file, not a record.
MAX_LINE: Final = 1_000_000
#: Nesting deeper than this is no registry's record (the deepest known is 4).
MAX_DEPTH: Final = 64
#: Digits of a JSON number; no quantity or serial needs more (Python refuses over 4,300).
MAX_DIGITS: Final = 100
#: Characters of an unreadable row kept in its quarantine entry.
_KEPT: Final = 2000
_ESCAPED: Final = re.compile("[\udc80-\udcff]+")
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


class Unreadable(ValueError):
    """One row cannot be read; the message says why (naming the field when there is one).
    ``text`` is the row's text when it is known (kept in the quarantine entry)."""

    def __init__(self, reason: str, text: Any = None) -> None:
        super().__init__(reason)
        self.text = text

    def record(self, ref: str, stream: str = "default") -> RawRecord:
        """The unreadable record standing for this row. Without its text (a row the csv
        module refused), its place stands in, so that two such rows are two entries."""
        text = self.text if self.text is not None else f"(row not kept; at {ref})"
        return unreadable(str(self), text, ref, stream)


def unreadable(reason: str, text: Any, ref: str, stream: str = "default") -> RawRecord:
    """The record standing for a row that cannot be read: quarantined with ``reason``."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    if isinstance(text, str):
        text = _ESCAPED.sub("\ufffd", text.rstrip("\r\n"))[:_KEPT]
    return RawRecord({"_error": reason, "_unparsed": text}, ref, stream)


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise Unreadable(f"a number of {len(text.lstrip('-'))} digits (at most {MAX_DIGITS})")
    return int(text)


def _float(text: str) -> float:
    if len(text) > MAX_DIGITS + 10:
        raise Unreadable(f"a number of {len(text)} characters (at most {MAX_DIGITS})")
    return float(text)


def _constant(name: str) -> Any:
    raise Unreadable(f"{name} is not a JSON number")


def _problem(value: Any) -> str | None:
    """Why a parsed value is no record: nesting too deep, or text no index column can hold
    (a NUL character, half of a UTF-16 surrogate pair). None when it is fine."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return f"nested deeper than {MAX_DEPTH} levels"
        if isinstance(item, dict):
            stack.extend((k, depth) for k in item)
            stack.extend((v, depth + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, depth + 1) for v in item)
        elif isinstance(item, str):
            reason = _bad_string(item)
            if reason is not None:
                return reason
    return None


def _bad_string(item: str) -> str | None:
    if "\x00" in item:
        shown = item.replace("\x00", "\\0")[:120]
        return f"a NUL character in text (value: {shown!r})"
    if not item.isascii() and _SURROGATE.search(item):
        return f"half of a UTF-16 surrogate pair in text (value: {item[:120]!r})"
    return None


def parse_json(data: bytes | str) -> Any:
    """One JSON value, or :class:`Unreadable` saying why not (never another exception)."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
    except UnicodeDecodeError as exc:
        bad = data[exc.start : exc.start + 1]
        raise Unreadable(f"not UTF-8 text (byte {bad!r} at {exc.start})") from None
    try:
        value = json.loads(text, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except Unreadable:
        raise
    except json.JSONDecodeError as exc:
        raise Unreadable(f"not JSON: {exc.msg} at column {exc.colno}") from None
    except RecursionError:
        raise Unreadable(f"nested deeper than {MAX_DEPTH} levels") from None
    except ValueError as exc:
        raise Unreadable(f"not JSON: {exc}") from None
    problem = _problem(value)
    if problem is not None:
        raise Unreadable(problem)
    return value


def json_values(path: Path) -> Iterator[tuple[str, Any]]:
    """``(ref, value)`` of each value of an NDJSON file (one a line) or of a JSON array file;
    ``value`` is an :class:`Unreadable` for a line that cannot be read (the next line is read
    all the same). A file starting with ``[`` is read whole as a JSON array when it is one;
    a ``.json`` file that is neither an array nor NDJSON is refused whole (FatalSourceError
    saying why), a ``.ndjson``/``.jsonl`` file is then read line by line."""
    with path.open("rb") as handle:
        head = handle.read(4096).lstrip()
        handle.seek(0)
        if head[:1] == b"[":
            try:
                items = parse_json(handle.read())
            except Unreadable as exc:
                handle.seek(0)
                lines = path.suffix.lower() in (".ndjson", ".jsonl")
                if not lines and not _is_json(handle.readline()):  # NDJSON may start badly
                    raise FatalSourceError(
                        f"{path.name}: the JSON array cannot be read: {exc}"
                    ) from None
            else:
                for index, item in enumerate(items):
                    yield f"{path.name}[{index}]", item
                return
            handle.seek(0)
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            ref = f"{path.name}:{number}"
            if len(line) > MAX_LINE:
                reason = f"the line is {len(line)} bytes long (at most {MAX_LINE})"
                yield ref, Unreadable(reason, line[:_KEPT])
                continue
            try:
                yield ref, parse_json(line)
            except Unreadable as exc:
                yield ref, Unreadable(str(exc), line)


def _is_json(line: bytes) -> bool:
    try:
        parse_json(line)
    except Unreadable:
        return False
    return True


def bad_text(cells: Mapping[Any, Any]) -> str | None:
    """The reason a row read with ``errors="surrogateescape"`` is not UTF-8 text, naming the
    first column that is not (None when every cell is)."""
    for name, value in cells.items():
        values = value if isinstance(value, list) else [value]
        for item in values:
            if isinstance(item, str) and not item.isascii():
                found = _ESCAPED.search(item)
                if found is not None:
                    raw = found.group().encode("utf-8", "surrogateescape")
                    shown = _ESCAPED.sub("\ufffd", item)
                    return (
                        f"{name or '(extra cells)'}: not UTF-8 text (bytes {raw!r}; "
                        f"value: {shown[:120]!r})"
                    )
            if isinstance(item, str) and "\x00" in item:
                return f"{name or '(extra cells)'}: {_bad_string(item)}"
    return None


def csv_rows(reader: Any) -> Iterator[tuple[int, Any]]:
    """``(line, row)`` of a ``csv.reader`` or ``csv.DictReader`` (``line`` the one the row
    starts on: a quoted cell may span lines). A row the csv module refuses (a cell over the
    field size limit, a stray quote in strict mode) is an :class:`Unreadable` and reading goes
    on with the next; open the file with ``errors="surrogateescape"`` and check each row with
    :func:`bad_text`, so bytes that are not UTF-8 cost their row only."""
    lines = getattr(reader, "reader", reader)  # a DictReader's own count lags after an error
    last = lines.line_num  # a DictReader has read its header already
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield last + 1, Unreadable(f"malformed CSV: {exc}")
        else:
            yield last + 1, row
        last = lines.line_num


JSON_SUFFIXES: Final = (".ndjson", ".jsonl", ".json")


def json_records(path: Path, stream_of: Callable[[dict[str, Any]], str]) -> Iterator[RawRecord]:
    """The records of a saved API answer (NDJSON, or a JSON array, of the API's records),
    each on the stream the sync would have received it on (``stream_of`` its payload); a
    line that cannot be read, or is not an object, is an unreadable record."""
    for ref, value in json_values(path):
        if isinstance(value, Unreadable):
            yield value.record(ref)
        elif not isinstance(value, dict):
            yield unreadable("not a JSON object", json.dumps(value)[:_KEPT], ref)
        else:
            yield RawRecord(value, ref, stream_of(value))
