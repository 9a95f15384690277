"""The feed's settings: ``[feed]`` and the ``[[webhooks]]`` subscribers.

Example::

    [feed]
    source = "https://metaregistry.example.org/v1/alerts"  # CloudEvents "source"
    retry_base = 5          # seconds before the first retry; doubles per attempt ...
    retry_cap = 3600        # ... up to this
    max_attempts = 25       # then the delivery is marked failed (kept, with its last error)
    lease = 120             # seconds a daemon owns the deliveries it claimed
    batch = 50              # deliveries claimed per pass
    keep_days = 30          # delivered and skipped deliveries are deleted after this

    [[webhooks]]
    url = "https://example.org/hooks/metaregistry"
    secret = "whsec_..."        # HMAC key (see metaregistry.feed.signature)
    registry = ["verra"]        # optional filters: a value or a list each
    kind = ["double_use", "double_issuance"]
    severity = "high"
    start = "latest"            # or "earliest": also send the events from before it was added
    timeout = 10                # seconds per request
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from metaregistry.feed.events import AlertFilter
from metaregistry.settings import ConfigError, Settings

__all__ = ["FeedConfig", "WebhookConfig"]

_FILTER_KEYS = ("registry", "kind", "severity", "status")
_WEBHOOK_KEYS = frozenset({"url", "secret", "name", "start", "timeout", *_FILTER_KEYS})


@dataclass(frozen=True, slots=True)
class WebhookConfig:
    """One subscriber. ``id`` is a hash of the URL: the same URL is the same subscriber
    across restarts and config edits (a new secret keeps its delivery history)."""

    url: str
    secret: str
    filter: AlertFilter
    start: str = "latest"
    timeout: float = 10.0
    name: str | None = None

    @property
    def id(self) -> str:
        return hashlib.sha256(self.url.encode()).hexdigest()

    @classmethod
    def parse(cls, index: int, table: Mapping[str, Any]) -> WebhookConfig:
        where = f"webhooks[{index}]"
        if not isinstance(table, Mapping):
            raise ConfigError(f"{where} must be a table, got {table!r}")
        unknown = sorted(set(table) - _WEBHOOK_KEYS)
        if unknown:
            raise ConfigError(f"{where}.{unknown[0]} is not a webhook setting")
        url = table.get("url")
        if not isinstance(url, str) or not _is_http_url(url):
            raise ConfigError(f"{where}.url must be an http(s) URL, got {url!r}")
        secret = table.get("secret")
        if not isinstance(secret, str) or not secret:
            raise ConfigError(f"{where}.secret must be a non-empty string")
        start = table.get("start", "latest")
        if start not in ("latest", "earliest"):
            raise ConfigError(f"{where}.start must be 'latest' or 'earliest', got {start!r}")
        timeout = table.get("timeout", 10.0)
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            raise ConfigError(f"{where}.timeout must be a positive number, got {timeout!r}")
        name = table.get("name")
        if name is not None and not isinstance(name, str):
            raise ConfigError(f"{where}.name must be a string, got {name!r}")
        values = {key: _strings(where, key, table.get(key)) for key in _FILTER_KEYS}
        return cls(
            url=url,
            secret=secret,
            filter=AlertFilter(**values),
            start=start,
            timeout=float(timeout),
            name=name,
        )


def _is_http_url(text: str) -> bool:
    parts = urlsplit(text)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _strings(where: str, key: str, value: Any) -> frozenset[str]:
    if value is None:
        return frozenset()
    if isinstance(value, str):
        return frozenset({value})
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return frozenset(value)
    raise ConfigError(f"{where}.{key} must be a string or a list of strings, got {value!r}")


_DEFAULTS: dict[str, Any] = {
    "source": "/v1/alerts",
    "retry_base": 5.0,
    "retry_cap": 3600.0,
    "max_attempts": 25,
    "lease": 120.0,
    "batch": 50,
    "keep_days": 30.0,
}


@dataclass(frozen=True, slots=True)
class FeedConfig:
    """``[feed]`` and the webhooks, checked."""

    webhooks: tuple[WebhookConfig, ...] = ()
    source: str = "/v1/alerts"
    retry_base: float = 5.0
    retry_cap: float = 3600.0
    max_attempts: int = 25
    lease: float = 120.0
    batch: int = 50
    keep_days: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> FeedConfig:
        section = settings.section("feed")
        hooks = tuple(WebhookConfig.parse(i, t) for i, t in enumerate(settings.webhooks))
        urls = [h.url for h in hooks]
        for url in urls:
            if urls.count(url) > 1:
                raise ConfigError(f"webhooks: url {url!r} is configured twice")
        source = section.get("source", _DEFAULTS["source"])
        if not isinstance(source, str) or not source:
            raise ConfigError(f"feed.source must be a non-empty URI reference, got {source!r}")
        config = cls(
            webhooks=hooks,
            source=source,
            retry_base=_positive(section, "retry_base", _DEFAULTS["retry_base"]),
            retry_cap=_positive(section, "retry_cap", _DEFAULTS["retry_cap"]),
            max_attempts=int(
                _positive(section, "max_attempts", _DEFAULTS["max_attempts"], whole=True)
            ),
            lease=_positive(section, "lease", _DEFAULTS["lease"]),
            batch=int(_positive(section, "batch", _DEFAULTS["batch"], whole=True)),
            keep_days=_positive(section, "keep_days", _DEFAULTS["keep_days"]),
        )
        slowest = max((h.timeout for h in hooks), default=0.0)
        if config.lease <= slowest:
            # A lease shorter than a request lets a second daemon send the same event again.
            raise ConfigError(
                f"feed.lease ({config.lease:g} s) must exceed the longest webhook timeout "
                f"({slowest:g} s)"
            )
        return config


def _positive(
    section: Mapping[str, Any], key: str, default: float, *, whole: bool = False
) -> float:
    value = section.get(key, default)
    ok_type = int if whole else int | float
    if isinstance(value, bool) or not isinstance(value, ok_type) or value <= 0:
        kind = "a positive integer" if whole else "a positive number"
        raise ConfigError(f"feed.{key} must be {kind}, got {value!r}")
    return float(value)
