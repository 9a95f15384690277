"""Settings: one typed model, read from a TOML file plus environment variables.

The file is ``metaregistry.toml`` in the working directory, or the one given with
``--config``. Environment variables win over the file: ``METAREGISTRY_KEY`` for a top-level
key, ``METAREGISTRY_SECTION__KEY`` for a key of a table (``METAREGISTRY_API__PORT``), and
``METAREGISTRY_CONNECTORS__NAME__KEY`` for a connector's key (NAME with ``_`` for ``-``:
``METAREGISTRY_CONNECTORS__GOLD_STANDARD__TOKEN``). Values that are lists or tables are
written as JSON in the environment.

Every value is checked when the settings load (:func:`load_settings`), each connector's table
against the connector's own :class:`~metaregistry.connector.ConnectorOptions` model, so a bad
value is one :class:`ConfigError` naming the table, the key and the value before anything
runs. ``metaregistry config --reference`` prints the reference generated from these models
(``docs/SETTINGS.md``).
"""

from __future__ import annotations

import hashlib
import json
import tomllib
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import pydantic
from pydantic import Field
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from metaregistry.connector import ConnectorConfig, ConnectorOptions
from metaregistry.index.db import DEFAULT_URL
from metaregistry.options import describe_errors, mask_secrets, validate_options
from metaregistry.serials import MAX_SERIAL_LENGTH

__all__ = [
    "ApiSettings",
    "ConfigError",
    "ConnectorSettings",
    "FeedSettings",
    "LogSettings",
    "Settings",
    "WebhookSettings",
    "load_settings",
    "mask_secrets",
    "settings_from",
]

ENV_PREFIX = "METAREGISTRY_"
#: Keys of ``[connectors.NAME]`` the engine reads; every other key is the connector's option.
ENGINE_KEYS = ("base_url", "token", "schedule", "timeout")
DEFAULT_SYNC_TIMEOUT = 1800.0


class ConfigError(ValueError):
    """The configuration file or an environment variable is invalid."""


class _Table(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)


def _http_url(value: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("must be an http(s) URL")
    return value


def _origins(value: Any) -> Any:
    """``cors_origins`` from the environment: a JSON list or comma-separated origins."""
    if isinstance(value, str):
        if value.lstrip().startswith("["):
            return json.loads(value)
        return [o.strip() for o in value.split(",") if o.strip()]
    return value


def _strings(value: Any) -> Any:
    """A webhook filter: one value or a list of them."""
    if isinstance(value, str):
        return [value]
    return value


HttpUrl = Annotated[str, pydantic.AfterValidator(_http_url)]
Strings = Annotated[frozenset[str], pydantic.BeforeValidator(_strings)]


class ApiSettings(_Table):
    """``[api]``: the lookup API (``metaregistry serve``, and ``daemon`` unless --no-api)."""

    host: str = Field("127.0.0.1", min_length=1, description="address the API listens on")
    port: int = Field(8080, ge=0, le=65535, description="its port")
    rate_limit: float = Field(
        20.0, ge=0, description="requests per second per client (0 lifts the limit)"
    )
    burst: float = Field(40.0, ge=1, description="requests a client may save up")
    cors_origins: Annotated[tuple[str, ...], NoDecode, pydantic.BeforeValidator(_origins)] = Field(
        ("*",),
        description="browser origins allowed to read answers (`*`: any); in the "
        "environment a JSON list or comma-separated",
    )
    max_serial_length: int = Field(
        MAX_SERIAL_LENGTH, ge=1, le=MAX_SERIAL_LENGTH, description="longest serial accepted"
    )
    query_timeout: float = Field(
        2.0, ge=0.001, description="seconds one request's queries may take (503 beyond)"
    )
    db_threads: int = Field(
        2, ge=1, le=64, description="threads running queries (each keeps one connection)"
    )
    stats_ttl: float = Field(30.0, ge=0, description="seconds the per-registry counts are cached")
    max_body_bytes: int = Field(
        16384, ge=0, description="largest request body accepted (413 beyond)"
    )
    trust_forwarded_for: bool = Field(
        False, description="take the client address from `X-Forwarded-For` (behind a proxy)"
    )
    answer_cache_mb: float = Field(
        32.0, ge=0, description="lookup answers kept until the database changes (SQLite)"
    )
    proof_cache_mb: float = Field(
        64.0, ge=1, description="log hashes kept for inclusion proofs (64: a 1M-leaf log)"
    )
    public_url: HttpUrl | None = Field(
        None,
        description="the API's public origin behind a proxy, used in feed links "
        "(default: the request's own origin)",
    )


class LogSettings(_Table):
    """``[log]``: the transparency log's signing key."""

    key_file: Path = Field(
        Path("metaregistry-log.pem"),
        description="Ed25519 signing key (PEM); created 0600 by the first write. Unset, with "
        "a SQLite index, it is kept beside the database file",
    )
    origin: str = Field(
        "metaregistry.local/log",
        min_length=1,
        description="the log's name in every checkpoint; bound to the key",
    )


class ReconcileSettings(_Table):
    """``[reconcile]``: project-level reconciliation (projects across registries)."""

    project_map: Path | None = Field(
        None,
        description="CSV of project pairs one registry's records do not state (two ids and a "
        "note per line, e.g. `srn-ppi:PRJ-17,VCS934,mutual recognition`); relative to the "
        "settings file",
    )


def _export_caps(value: Any) -> Any:
    """``[article6] export_caps``: party codes upper-case alpha-2, years and tonnes integers
    (TOML keys are strings; the environment gives JSON)."""
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        return value
    for party in value:
        if not (isinstance(party, str) and len(party) == 2 and party.isupper() and party.isalpha()):
            raise ValueError(f"party {party!r} is not an ISO 3166-1 alpha-2 code (ID, TH)")
    return value


ExportCaps = Annotated[
    dict[str, dict[int, Annotated[int, Field(ge=0)]]], pydantic.BeforeValidator(_export_caps)
]


class Article6Settings(_Table):
    """``[article6]``: the Article 6 ledger. `export_caps` is what each host party may
    first-transfer per year, in tonnes (Indonesia caps exports to mitigation beyond its NDC
    target, Permen LHK 7/2023): `export_caps = {ID = {2025 = 1000000}}`; a year with no cap
    is not checked."""

    export_caps: ExportCaps = Field(
        default_factory=dict,
        description="tonnes each host party may first-transfer per year: party -> year -> cap",
    )

    def cap(self, party: str, year: int) -> int | None:
        return self.export_caps.get(party, {}).get(year)


class FeedSettings(_Table):
    """``[feed]``: webhook delivery and the SSE stream."""

    source: str = Field(
        "/v1/alerts", min_length=1, description='the CloudEvents "source" of alert events'
    )
    retry_base: float = Field(
        5.0, gt=0, description="seconds before a delivery's first retry; doubles per attempt"
    )
    retry_cap: float = Field(3600.0, gt=0, description="longest wait between retries")
    max_attempts: int = Field(
        25, gt=0, description="attempts before a delivery is marked failed (kept)"
    )
    lease: float = Field(
        120.0,
        gt=0,
        description="seconds a daemon owns the deliveries it claimed (> every webhook timeout)",
    )
    batch: int = Field(50, gt=0, description="deliveries claimed per pass")
    keep_days: float = Field(
        30.0, gt=0, description="days delivered and skipped deliveries are kept"
    )
    stream_poll: float = Field(1.0, gt=0, description="seconds between SSE polls for new events")
    stream_heartbeat: float = Field(
        15.0, gt=0, description="seconds between SSE heartbeats on a quiet stream"
    )


class WebhookSettings(_Table):
    """``[[webhooks]]``: one subscriber of the alert events (signed CloudEvents 1.0).

    ``id`` is a hash of the URL: the same URL is the same subscriber across restarts and
    config edits (a new secret keeps its delivery history)."""

    url: HttpUrl = Field(description="where events are POSTed")
    secret: str = Field(
        min_length=1, description="HMAC-SHA256 key (X-Metaregistry-Signature: t=...,v1=...)"
    )
    name: str | None = Field(None, description="a label for the operator")
    start: Literal["latest", "earliest"] = Field(
        "latest", description="`earliest`: also send the events from before it was added"
    )
    timeout: float = Field(10.0, gt=0, description="seconds per request")
    registry: Strings = Field(frozenset(), description="only alerts about these registries")
    kind: Strings = Field(frozenset(), description="only these alert kinds")
    severity: Strings = Field(frozenset(), description="only these severities")
    status: Strings = Field(frozenset(), description="only alerts in these statuses")

    @property
    def id(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()


class ConnectorSettings(pydantic.BaseModel):
    """``[connectors.NAME]``: one source. The keys below are the engine's; any other key is an
    option of the connector, checked against its options model (listed after)."""

    model_config = pydantic.ConfigDict(extra="allow", frozen=True)

    base_url: HttpUrl | None = Field(
        None, description="the registry's API (a connector without one is not synced)"
    )
    token: str | None = Field(None, description="bearer token where the registry needs one")
    schedule: str | None = Field(
        None,
        pattern=r"^(interval:\s*\d+\s*[smhd]?|cron:.+)$",
        description="`interval:30m`, `interval:6h` or `cron:0 */6 * * *` (UTC); "
        "daemon default `interval:1h`",
    )
    timeout: float = Field(
        DEFAULT_SYNC_TIMEOUT,
        gt=0,
        description="seconds one sync of this source may take; it resumes next run",
    )

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


class Settings(BaseSettings):
    """The effective configuration: the file's tables and the environment, checked."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        case_sensitive=False,
        extra="forbid",
        frozen=True,
    )

    database_url: str = Field(
        DEFAULT_URL,
        min_length=1,
        description="the index database: `sqlite:///path` or `postgresql://user:pass@host/db`",
    )
    log: LogSettings = Field(
        default_factory=lambda: LogSettings.model_validate({}), description=LogSettings.__doc__
    )
    api: ApiSettings = Field(
        default_factory=lambda: ApiSettings.model_validate({}), description=ApiSettings.__doc__
    )
    feed: FeedSettings = Field(
        default_factory=lambda: FeedSettings.model_validate({}), description=FeedSettings.__doc__
    )
    webhooks: tuple[WebhookSettings, ...] = Field((), description=WebhookSettings.__doc__)
    reconcile: ReconcileSettings = Field(
        default_factory=lambda: ReconcileSettings.model_validate({}),
        description=ReconcileSettings.__doc__,
    )
    article6: Article6Settings = Field(
        default_factory=lambda: Article6Settings.model_validate({}),
        description=Article6Settings.__doc__,
    )
    connectors: dict[str, ConnectorSettings] = Field(
        default_factory=dict, description=ConnectorSettings.__doc__
    )

    _source: Path | None = pydantic.PrivateAttr(None)
    _options: dict[str, ConnectorOptions] = pydantic.PrivateAttr(default_factory=dict)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings)

    @pydantic.field_validator("connectors", mode="before")
    @classmethod
    def _connector_names(cls, value: Any) -> Any:
        """Environment names spell ``-`` as ``_`` (``SRN_PPI``); merge them into the file's
        ``srn-ppi`` table, the environment's keys winning."""
        if not isinstance(value, Mapping):
            return value
        merged: dict[str, Any] = {}
        for name in sorted(value, key=lambda n: "_" in str(n)):
            table = value[name]
            key = str(name).replace("_", "-")
            if isinstance(table, Mapping) and isinstance(merged.get(key), Mapping):
                merged[key] = {**merged[key], **table}
            else:
                merged[key] = table
        return merged

    @pydantic.model_validator(mode="after")
    def _checked(self) -> Settings:
        urls = [h.url for h in self.webhooks]
        for url in urls:
            if urls.count(url) > 1:
                raise ValueError(f"webhooks: url {url!r} is configured twice")
        slowest = max((h.timeout for h in self.webhooks), default=0.0)
        if self.feed.lease <= slowest:
            # A lease shorter than a request lets a second daemon send the same event again.
            raise ValueError(
                f"feed.lease ({self.feed.lease:g} s) must exceed the longest webhook timeout "
                f"({slowest:g} s)"
            )
        for name, table in self.connectors.items():
            model = _options_model(name)
            if model is not None:
                self._options[name] = validate_options(name, model, table.options)
        return self

    @property
    def source(self) -> Path | None:
        """The file the settings were read from (None: defaults and environment)."""
        return self._source

    def log_key_path(self) -> Path:
        """Where the log's signing key is: ``[log] key_file`` when set; unset, beside a
        SQLite index's file (an import into a database elsewhere no longer leaves a key in
        the current directory); else the default name in the current directory."""
        if "key_file" in self.log.model_fields_set:
            return self.log.key_file
        url = self.database_url
        if url.startswith("sqlite:///") and ":memory:" not in url and "mode=memory" not in url:
            database = Path(url.removeprefix("sqlite:///").split("?", 1)[0])
            return database.parent / self.log.key_file.name
        return self.log.key_file

    def project_map(self) -> Path | None:
        """``[reconcile] project_map``, a relative path read from the settings file's folder."""
        path = self.reconcile.project_map
        if path is None or path.is_absolute() or self._source is None:
            return path
        return self._source.parent / path

    def connector(self, name: str) -> ConnectorConfig:
        """``[connectors.NAME]`` as the connector reads it (options checked when the
        connector is installed)."""
        table = self.connectors.get(name) or ConnectorSettings.model_validate({})
        return ConnectorConfig(
            name=name,
            base_url=table.base_url,
            token=table.token,
            schedule=table.schedule,
            timeout=table.timeout,
            options=self._options.get(name, table.options),
        )


def _options_model(name: str) -> type[ConnectorOptions] | None:
    """The options model of the installed connector ``name`` (None when it is not installed
    or does not load: the sync reports that)."""
    from metaregistry import plugins

    try:
        return plugins.load(name).options_model
    except plugins.PluginError:
        return None


class _Environment(EnvSettingsSource):
    """The environment source over a given mapping (tests pass their own)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        super().__init__(settings_cls)
        self.env_vars = {k.lower(): v for k, v in environ.items()}


def settings_from(data: Mapping[str, Any], *, source: Path | None = None) -> Settings:
    """Settings from already merged tables (no environment). Raises ConfigError."""
    try:
        settings = Settings.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        where = f"{source}: " if source is not None else ""
        raise ConfigError(where + describe_errors(exc)) from None
    settings._source = source
    return settings


def load_settings(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the file (``path``, else ./metaregistry.toml when present) and the environment
    (``os.environ`` unless ``environ``), and check them. Raises ConfigError."""
    import os

    environ = os.environ if environ is None else environ
    data: dict[str, Any] = {}
    source = path
    if source is None and Path("metaregistry.toml").is_file():
        source = Path("metaregistry.toml")
    if source is not None:
        try:
            data = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {source}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
    try:
        env = _Environment(Settings, environ)()
    except Exception as exc:  # pydantic-settings' SettingsError: a value that is not JSON
        raise ConfigError(f"environment: {exc}") from None
    return settings_from(_merge(data, env), source=source)


def _merge(base: dict[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


# ---- the reference, generated from the models (docs/SETTINGS.md, `config --reference`)

REFERENCE_COMMAND = "python3 run.py metaregistry config --reference > docs/SETTINGS.md"


def _type_text(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    if origin is Annotated:
        return _type_text(args[0])
    if origin is typing.Union or origin is types.UnionType:
        return " or ".join(_type_text(a) for a in args)
    if origin is Literal:
        return " or ".join(f"`{a!r}`".replace("'", '"') for a in args)
    if origin in (tuple, list, frozenset, set):
        inner = [a for a in args if a is not Ellipsis]
        return f"list of {_type_text(inner[0])}" if inner else "list"
    if origin is dict:
        return "table"
    names = {str: "string", int: "integer", float: "number", bool: "true/false", Path: "path"}
    if annotation in names:
        return names[annotation]
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return "table"
    return str(annotation)


def _bounds(field: Any) -> str:
    marks = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<"}
    out = []
    for meta in field.metadata:
        for attr, sign in marks.items():
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"{sign} {value:g}")
        if getattr(meta, "pattern", None):
            out.append(f"matches `{meta.pattern}`")
    return ", ".join(out)


def _default_text(field: Any) -> str:
    if field.is_required():
        return "(required)"
    value = field.get_default(call_default_factory=True)
    if value is None or value in ((), frozenset(), {}):
        return ""
    if isinstance(value, Path):
        value = str(value)
    if isinstance(value, tuple | frozenset):
        value = list(value)
    return f"`{json.dumps(value)}`"


def _table(
    model: type[pydantic.BaseModel], env: str | None, only: tuple[str, ...] | None = None
) -> list[str]:
    lines = ["| key | type | default | meaning | environment |", "|---|---|---|---|---|"]
    for key, field in model.model_fields.items():
        if only is not None and key not in only:
            continue
        kind = _type_text(field.annotation)
        bounds = _bounds(field)
        if bounds:
            kind += f" ({bounds})"
        name = f"`{env}{key.upper()}`" if env else ""
        meaning = (field.description or "").replace("|", "\\|")
        kind = kind.replace("|", "\\|")
        lines.append(f"| `{key}` | {kind} | {_default_text(field)} | {meaning} | {name} |")
    return lines


def reference(connectors: Mapping[str, type[ConnectorOptions]] | None = None) -> str:
    """The settings reference in Markdown, generated from the models: the tables, their
    keys, types, bounds, defaults and environment variables, and each installed connector's
    options (``connectors``: name to options model; default: the installed ones)."""
    if connectors is None:
        from metaregistry import plugins

        connectors = {n: c.options_model for n, c in plugins.load_all().items()}
    out = [
        "# Settings reference",
        "",
        "<!-- Generated from the typed settings model (src/metaregistry/settings.py) and the",
        "     installed connectors' options models; do not edit. Regenerate:",
        f"     {REFERENCE_COMMAND} -->",
        "",
        "Settings come from `metaregistry.toml` in the working directory (or `--config FILE`) and",
        "from environment variables, which win. Every value is checked when the settings load: a",
        "bad one stops the command with one line naming the table, the key and the value.",
        "`metaregistry config` prints the effective values with secrets masked.",
        "",
        "Environment: `METAREGISTRY_KEY` for a top-level key, `METAREGISTRY_TABLE__KEY` for a",
        "key of a table, `METAREGISTRY_CONNECTORS__NAME__KEY` for a connector's key (NAME with",
        "`_` for `-`: `METAREGISTRY_CONNECTORS__GOLD_STANDARD__TOKEN`). Lists and tables are",
        'written as JSON there (`METAREGISTRY_WEBHOOKS=\'[{"url": ..., "secret": ...}]\'`).',
        "Keep tokens, the database password and webhook secrets in the environment or a secret",
        "store, not in the file.",
        "",
        "## Top level",
        "",
        *_table(Settings, ENV_PREFIX, only=("database_url",)),
    ]
    # every table of the model, in its order: a table added to Settings is documented
    sections: list[tuple[str, type[pydantic.BaseModel], str | None]] = [
        (f"[{name}]", field.annotation, f"{ENV_PREFIX}{name.upper()}__")
        for name, field in Settings.model_fields.items()
        if isinstance(field.annotation, type) and issubclass(field.annotation, pydantic.BaseModel)
    ]
    sections += [
        ("[[webhooks]]", WebhookSettings, None),
        ("[connectors.NAME]", ConnectorSettings, f"{ENV_PREFIX}CONNECTORS__NAME__"),
    ]
    for title, model, env in sections:
        doc = " ".join((model.__doc__ or "").split()).replace("``", "`")
        out += ["", f"## `{title}`", "", doc, "", *_table(model, env)]
    for name, model in sorted(connectors.items()):
        env = f"{ENV_PREFIX}CONNECTORS__{name.upper().replace('-', '_')}__"
        doc = " ".join((model.__doc__ or "").split()).replace("``", "`")
        out += ["", f"### `[connectors.{name}]` options", ""]
        if doc:
            out += [doc, ""]
        out += _table(model, env) if model.model_fields else ["No options."]
    return "\n".join(out) + "\n"
