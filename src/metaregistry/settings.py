"""Settings: a TOML file plus environment variables.

The file is ``metaregistry.toml`` in the working directory, or the one given with
``--config``. Environment variables win over the file:

* ``METAREGISTRY_DATABASE_URL``: the index database (default ``sqlite:///metaregistry.db``);
* ``METAREGISTRY_CONNECTORS__NAME__KEY``: one key of ``[connectors.NAME]`` (NAME with ``_`` for
  ``-``, e.g. ``METAREGISTRY_CONNECTORS__GOLD_STANDARD__TOKEN``);
* ``METAREGISTRY_SECTION__KEY``: one key of any other table (``METAREGISTRY_API__PORT``).

Example::

    database_url = "postgresql://metaregistry@db/metaregistry"

    [log]
    key_file = "/etc/metaregistry/log-key.pem"
    origin = "metaregistry.example.org/log"

    [api]
    host = "0.0.0.0"
    port = 8080
    rate_limit = 20      # requests per second per client
    burst = 40

    [connectors.gold-standard]
    base_url = "https://public-api.goldstandard.org"
    schedule = "interval:6h"      # or "cron:0 */6 * * *"
    timeout = 900                 # seconds one sync of this source may take

    [[webhooks]]
    url = "https://example.org/hooks/metaregistry"
    secret = "..."
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from metaregistry.connector import ConnectorConfig
from metaregistry.index.db import DEFAULT_URL

__all__ = ["ConfigError", "Settings", "load_settings", "mask_secrets"]

ENV_PREFIX = "METAREGISTRY_"
_SECRET_WORDS = ("token", "secret", "password", "key")


class ConfigError(ValueError):
    """The configuration file or an environment variable is invalid."""


@dataclass(frozen=True, slots=True)
class Settings:
    """The effective configuration. ``raw`` holds every table as merged from file and env."""

    raw: Mapping[str, Any]
    source: Path | None = None
    connectors: Mapping[str, ConnectorConfig] = field(default_factory=dict)

    @property
    def database_url(self) -> str:
        return str(self.raw.get("database_url") or DEFAULT_URL)

    def section(self, name: str) -> Mapping[str, Any]:
        value = self.raw.get(name, {})
        if not isinstance(value, Mapping):
            raise ConfigError(f"[{name}] must be a table, got {value!r}")
        return value

    def get(self, section: str, key: str, default: Any = None) -> Any:
        return self.section(section).get(key, default)

    @property
    def log_key_file(self) -> Path:
        return Path(str(self.get("log", "key_file", "metaregistry-log.pem")))

    @property
    def log_origin(self) -> str:
        return str(self.get("log", "origin", "metaregistry.local/log"))

    @property
    def webhooks(self) -> list[Mapping[str, Any]]:
        hooks = self.raw.get("webhooks", [])
        if not isinstance(hooks, list):
            raise ConfigError(f"webhooks must be an array of tables, got {hooks!r}")
        return hooks

    def connector(self, name: str) -> ConnectorConfig:
        return self.connectors.get(name) or ConnectorConfig(name=name)


def _coerce(text: str) -> Any:
    """Environment values are strings; read numbers and booleans the TOML way."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _apply_env(raw: dict[str, Any], environ: Mapping[str, str]) -> None:
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        parts = name[len(ENV_PREFIX) :].lower().split("__")
        if parts == ["database_url"]:
            raw["database_url"] = value
        elif len(parts) == 3 and parts[0] == "connectors":
            table = raw.setdefault("connectors", {}).setdefault(parts[1].replace("_", "-"), {})
            table[parts[2]] = _coerce(value)
        elif len(parts) == 2 and parts[0] not in ("test",):
            section = raw.setdefault(parts[0], {})
            if isinstance(section, dict):
                section[parts[1]] = _coerce(value)


def load_settings(
    path: Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read the file (``path``, else ./metaregistry.toml when present) and the environment."""
    environ = os.environ if environ is None else environ
    raw: dict[str, Any] = {}
    source = path
    if source is None and Path("metaregistry.toml").is_file():
        source = Path("metaregistry.toml")
    if source is not None:
        try:
            raw = tomllib.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {source}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{source}: {exc}") from exc
    _apply_env(raw, environ)
    connectors: dict[str, ConnectorConfig] = {}
    tables = raw.get("connectors", {})
    if not isinstance(tables, Mapping):
        raise ConfigError(f"[connectors] must be a table, got {tables!r}")
    for name, table in tables.items():
        if not isinstance(table, Mapping):
            raise ConfigError(f"[connectors.{name}] must be a table, got {table!r}")
        options = {k: v for k, v in table.items() if k not in ("base_url", "token", "schedule")}
        connectors[name] = ConnectorConfig(
            name=name,
            base_url=table.get("base_url"),
            token=table.get("token"),
            schedule=table.get("schedule"),
            options=options,
        )
    return Settings(raw=raw, source=source, connectors=connectors)


def mask_secrets(value: Any, key: str = "") -> Any:
    """A copy of ``value`` with secrets (tokens, passwords, keys in URLs) masked."""
    if isinstance(value, Mapping):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v, key) for v in value]
    if isinstance(value, str):
        if any(word in key.lower() for word in _SECRET_WORDS) and not key.endswith("_file"):
            return "****" if value else value
        if "://" in value and "@" in value:
            scheme, _, rest = value.partition("://")
            userinfo, _, host = rest.rpartition("@")
            if ":" in userinfo:
                return f"{scheme}://{userinfo.split(':', 1)[0]}:****@{host}"
    return value
