"""The connector contract.

A connector turns bytes into records; it never touches the database, the log or the clock.
It declares:

* ``name`` (kebab-case slug, the entry-point name) and ``registries`` it writes;
* ``raw_schema``: the JSON Schema (under ``schemas/``) one raw record must satisfy;
* ``streams(config)``: the HTTP sources it can page through (:class:`HttpStream`);
* ``read_file(path)``: raw records of an export file, for ``metaregistry import``;
* ``normalize(raw)``: one raw record to one :class:`~metaregistry.model.UnitBlock`, a pure
  function (``observed_at``, ``raw_hash`` and ``record_hash`` are computed by the pipeline).

The sync engine owns paging, retries, cursors, storage and time around it.

Errors, in three kinds (Singer SDK's split):

* :class:`FatalSourceError`: the source cannot be read this run (bad credentials, a broken
  contract, a paginator going in circles). The engine gives the source up and reports it.
* :class:`RetriableSourceError`: try the same request again later (429, 5xx, timeouts, a body
  cut off mid-JSON). The engine retries with capped exponential backoff and full jitter,
  honouring ``retry_after``.
* :class:`RecordError`: one record is bad (a malformed serial, a wrong type). The record is
  quarantined with the message, the rest of the page goes on. Its message names the field and
  the value.
"""

from __future__ import annotations

import abc
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Literal

import httpx
import pydantic

from metaregistry.authorization import Authorization
from metaregistry.model import UnitBlock

__all__ = [
    "SLUG",
    "Connector",
    "ConnectorConfig",
    "ConnectorError",
    "ConnectorOptions",
    "FatalSourceError",
    "HttpStream",
    "Page",
    "RawRecord",
    "RecordError",
    "RequestSpec",
    "RetriableSourceError",
    "may_hold_personal_data",
    "strip_personal_data",
]

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")


class ConnectorError(Exception):
    """Base of the connector error kinds."""


class FatalSourceError(ConnectorError):
    """The source cannot be read this run; give it up and report."""


class RetriableSourceError(ConnectorError):
    """The same request may succeed later. ``retry_after`` (seconds) when the source said so."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RecordError(ConnectorError):
    """One record is bad; quarantine it with this message (naming the field and the value)."""

    def __init__(self, message: str, *, field: str | None = None, value: Any = None) -> None:
        if field is not None:
            shown = repr(value)
            if len(shown) > 120:
                shown = shown[:117] + "..."
            message = f"{field}: {message} (value: {shown})"
        super().__init__(message)
        self.field = field
        self.value = value


@dataclass(slots=True)
class RawRecord:
    """One record as the source published it. ``ref`` says where (file:line, page:index) for
    error messages; ``stream`` which stream or file kind it came from."""

    payload: dict[str, Any]
    ref: str
    stream: str = "default"


@dataclass(frozen=True, slots=True)
class ConnectorConfig:
    """A connector's settings table (``[connectors.NAME]``): the engine's keys, and
    ``options``, the connector's own (its :attr:`Connector.options_model` once the settings
    checked them, else the table's remaining keys). Read them with
    :meth:`Connector.options`."""

    name: str
    base_url: str | None = None
    token: str | None = None
    schedule: str | None = None
    timeout: float | None = None
    options: Mapping[str, Any] | ConnectorOptions = field(default_factory=dict)


class ConnectorOptions(pydantic.BaseModel):
    """A connector's own options (the keys of ``[connectors.NAME]`` beyond ``base_url``,
    ``token``, ``schedule`` and ``timeout``), declared as a model so a bad value is refused when the
    settings load, naming the connector, the key and the value (as Singer connectors declare
    a config schema). Subclass it per connector and set ``Connector.options_model``; unknown
    keys are refused."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class RequestSpec:
    """One HTTP request of a stream. ``token`` identifies the page for loop detection;
    ``accept`` lists error statuses the stream's ``parse_page`` handles itself (a 404 that
    means "no such document" rather than a broken source)."""

    method: str
    url: str
    params: Mapping[str, Any] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    json: Any = None
    #: a form body (``application/x-www-form-urlencoded``), for sources whose export is a form
    data: Mapping[str, str] | None = None
    token: str = ""
    accept: frozenset[int] = frozenset()


@dataclass(slots=True)
class Page:
    """One page of a stream. ``cursor`` is committed with the page's records, so a restart
    resumes after it; ``next_request`` is None at the end of the stream. ``totals`` carries
    what the source says about itself (GS ``X-Total-Count``) for reconciliation; ``not_modified``
    marks an ETag hit (nothing to do)."""

    records: list[RawRecord]
    cursor: dict[str, Any]
    next_request: RequestSpec | None
    totals: dict[str, int] | None = None
    not_modified: bool = False


class HttpStream(abc.ABC):
    """One paged HTTP source.

    ``mode`` is ``"snapshot"`` when a completed run has seen every record the source holds
    (records absent from it are marked withdrawn) or ``"incremental"`` when the cursor only
    brings changes. ``sorted_by_cursor`` (incremental streams): False when the pages are not
    in cursor order, so a cursor committed after a page is no watermark; the engine then
    commits the cursor only when the whole stream completed (a run stopped midway starts
    again from the previous one; the upserts are idempotent). A snapshot stream resumes after
    its last committed page either way: it is whole only when a run completes."""

    name: ClassVar[str] = "default"
    mode: ClassVar[Literal["snapshot", "incremental"]] = "snapshot"
    sorted_by_cursor: ClassVar[bool] = True
    #: What the stream's records are: unit blocks (``Connector.normalize``) or Article 6
    #: authorizations (``Connector.normalize_authorization``, stored by metaregistry.article6).
    record_type: ClassVar[Literal["unit_block", "authorization"]] = "unit_block"

    @abc.abstractmethod
    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        """The request to start (or resume) from.

        ``cursor`` is the cursor of the last committed page (None on the first run). When
        that page was the stream's last, the engine adds ``"_complete": True`` to it: a
        snapshot stream then starts over from the beginning (it may keep an ETag from the
        cursor), an incremental stream continues after it (modified-since, last id). Otherwise
        the previous run stopped midway and the stream resumes after that page. (The engine
        also adds ``"_run"``, the sync run that completed the stream: a run taking over
        from an interrupted one skips the streams that run completed.)"""

    @abc.abstractmethod
    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        """Turn one response into a page. Raise RetriableSourceError for a body cut off or
        malformed as a whole, FatalSourceError for a response that breaks the contract."""


class Connector(abc.ABC):
    """Base of every connector; see the module docstring for the contract."""

    name: ClassVar[str]
    registries: ClassVar[tuple[str, ...]]
    raw_schema: ClassVar[str | None] = None
    description: ClassVar[str] = ""
    default_base_url: ClassVar[str | None] = None
    options_model: ClassVar[type[ConnectorOptions]] = ConnectorOptions

    def options(self, config: ConnectorConfig) -> Any:
        """``config.options`` as this connector's :attr:`options_model`: as the settings
        checked them, or checked here (a bad value raises FatalSourceError naming the key and
        the value). Annotate the result with the model: ``opts: MyOptions = self.options(c)``."""
        if isinstance(config.options, self.options_model):
            return config.options
        from metaregistry.options import validate_options

        table = config.options
        if isinstance(table, ConnectorOptions):
            table = table.model_dump()
        try:
            return validate_options(self.name, self.options_model, table)
        except ValueError as exc:
            raise FatalSourceError(str(exc)) from None

    def base_url(self, config: ConnectorConfig) -> str:
        """The configured base URL, else :attr:`default_base_url`; FatalSourceError when
        neither is set."""
        url = config.base_url or self.default_base_url
        if not url:
            raise FatalSourceError(f"{self.name}: no base_url configured")
        return url

    def streams(self, config: ConnectorConfig) -> Sequence[HttpStream]:
        """The HTTP streams to sync with this configuration (none for file-only connectors)."""
        return ()

    def read_file(self, path: Path) -> Iterator[RawRecord]:
        """Raw records of an export file. Raise FatalSourceError for a file of the wrong kind."""
        raise FatalSourceError(f"{self.name} does not import files")
        yield  # pragma: no cover

    def raw_schema_for(self, record: RawRecord) -> str | None:
        """The raw schema a record must satisfy (override when streams differ)."""
        return self.raw_schema

    def prepare_raw(self, record: RawRecord) -> dict[str, Any]:
        """The payload as it will be hashed and stored: personal data stripped."""
        return strip_personal_data(record.payload)

    @abc.abstractmethod
    def normalize(self, record: RawRecord) -> UnitBlock:
        """One raw record to one unit block (pure). Raise RecordError when it cannot be."""

    def normalize_authorization(self, record: RawRecord) -> Authorization:
        """One raw record of an authorization stream to one Article 6 authorization (pure;
        connectors whose registry publishes authorizations override it)."""
        raise RecordError(f"{self.name} publishes no authorizations", field=None, value=None)


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}")
# Only international-format numbers (leading '+'): plain digit runs are quantities and serials.
_PHONE = re.compile(r"(?<![\w-])\+\d[\d ().-]{6,}\d(?![\w-])")
_PERSONAL_KEYS = re.compile(r"e-?mail|phone|telephone|mobile|fax", re.IGNORECASE)


def _scrub(text: str) -> str:
    if "@" in text:
        text = _EMAIL.sub("[email removed]", text)
    if "+" in text:
        text = _PHONE.sub("[phone removed]", text)
    return text


def strip_personal_data(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Drop personal data before a payload is hashed or stored: fields named like e-mail or
    phone are removed, e-mail addresses and phone numbers inside text are masked. Verra's
    2026 platform puts account e-mails into records (DOMAIN.md)."""
    out: dict[str, Any] = {}
    for key, value in payload.items():
        if _is_personal_key(key):
            continue
        if isinstance(value, str):
            # Only text holding '@' or '+' can hold an address or an international number.
            out[key] = _scrub(value) if "@" in value or "+" in value else value
        elif isinstance(value, Mapping):
            out[key] = strip_personal_data(value)
        elif isinstance(value, list):
            out[key] = [
                strip_personal_data(v)
                if isinstance(v, Mapping)
                else (_scrub(v) if isinstance(v, str) else v)
                for v in value
            ]
        else:
            out[key] = value
    return out


# A feed repeats the same few dozen field names on every record: remember the verdict per
# name instead of running the pattern on every field of every record.
_PERSONAL_KEY_CACHE: dict[str, bool] = {}
_PERSONAL_KEY_CACHE_SIZE = 4096


def _is_personal_key(key: str) -> bool:
    known = _PERSONAL_KEY_CACHE.get(key)
    if known is None:
        known = _PERSONAL_KEYS.search(key) is not None
        if len(_PERSONAL_KEY_CACHE) < _PERSONAL_KEY_CACHE_SIZE:
            _PERSONAL_KEY_CACHE[key] = known
    return known


# The core of _PHONE without its look-arounds: JSON escaping can change the character before
# a number ("\\n+41 ..."), never the number itself.
_PHONE_CORE = re.compile(rb"\+\d[\d ().-]{6,}\d")


def may_hold_personal_data(canonical: bytes) -> bool:
    """False when the canonical JSON bytes of a payload certainly hold nothing that
    :func:`strip_personal_data` would change: no '@' (e-mail), nothing shaped like an
    international phone number, and no field name like e-mail/phone anywhere in the text
    (keys and values alike, so it errs on the side of True). Non-ASCII text answers True:
    the patterns' Unicode digits and case folding reach beyond ASCII ('ı' matches 'i')."""
    if b"@" in canonical or not canonical.isascii():
        return True
    if b"+" in canonical and _PHONE_CORE.search(canonical):
        return True
    lowered = canonical.lower()
    return b"mail" in lowered or b"phone" in lowered or b"mobile" in lowered or b"fax" in lowered
