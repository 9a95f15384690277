"""The ``[api]`` settings, read and checked once.

=====================  ===========  ===========================================================
key                    default      meaning
=====================  ===========  ===========================================================
host                   127.0.0.1    address ``metaregistry serve`` listens on
port                   8080         its port
rate_limit             20           requests per second per client (0 lifts the limit)
burst                  40           requests a client may save up
cors_origins           ["*"]        browser origins allowed to read answers (``*``: any)
max_serial_length      512          longest serial accepted (400 beyond)
query_timeout          2.0          seconds one request's queries may take (503 beyond)
db_threads             2            threads running queries (each keeps one connection)
stats_ttl              30           seconds the per-registry counts are cached
max_body_bytes         16384        largest request body accepted (413 beyond)
trust_forwarded_for    false        take the client address from ``X-Forwarded-For``
answer_cache_mb        32           lookup answers kept until the database changes (SQLite)
proof_cache_mb         64           log hashes kept for inclusion proofs (all of a 1M-leaf log)
public_url             ""           the API's public origin behind a proxy (for feed links)
=====================  ===========  ===========================================================
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from metaregistry.serials import MAX_SERIAL_LENGTH
from metaregistry.settings import ConfigError, Settings

__all__ = ["ApiConfig"]


@dataclass(frozen=True)
class ApiConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    rate_limit: float = 20.0
    burst: float = 40.0
    cors_origins: tuple[str, ...] = field(default=("*",))
    max_serial_length: int = MAX_SERIAL_LENGTH
    query_timeout: float = 2.0
    db_threads: int = 2
    stats_ttl: float = 30.0
    max_body_bytes: int = 16384
    trust_forwarded_for: bool = False
    answer_cache_mb: float = 32.0
    proof_cache_mb: float = 64.0

    @classmethod
    def from_settings(cls, settings: Settings) -> ApiConfig:
        table = settings.section("api")
        origins = table.get("cors_origins", ["*"])
        if isinstance(origins, str):
            origins = [o.strip() for o in origins.split(",") if o.strip()]
        if not isinstance(origins, list) or not all(isinstance(o, str) for o in origins):
            raise ConfigError(f"[api] cors_origins must be a list of origins, got {origins!r}")
        return cls(
            host=_text(table, "host", cls.host),
            port=int(_number(table, "port", cls.port, low=0, high=65535, integer=True)),
            rate_limit=_number(table, "rate_limit", cls.rate_limit, low=0),
            burst=_number(table, "burst", cls.burst, low=1),
            cors_origins=tuple(origins),
            max_serial_length=int(
                _number(
                    table,
                    "max_serial_length",
                    cls.max_serial_length,
                    low=1,
                    high=MAX_SERIAL_LENGTH,
                    integer=True,
                )
            ),
            query_timeout=_number(table, "query_timeout", cls.query_timeout, low=0.001),
            db_threads=int(
                _number(table, "db_threads", cls.db_threads, low=1, high=64, integer=True)
            ),
            stats_ttl=_number(table, "stats_ttl", cls.stats_ttl, low=0),
            max_body_bytes=int(
                _number(table, "max_body_bytes", cls.max_body_bytes, low=0, integer=True)
            ),
            trust_forwarded_for=_flag(table, "trust_forwarded_for", cls.trust_forwarded_for),
            answer_cache_mb=_number(table, "answer_cache_mb", cls.answer_cache_mb, low=0),
            proof_cache_mb=_number(table, "proof_cache_mb", cls.proof_cache_mb, low=1),
        )


def _text(table: Mapping[str, Any], key: str, default: str) -> str:
    value = table.get(key, default)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"[api] {key} must be a non-empty string, got {value!r}")
    return value


def _flag(table: Mapping[str, Any], key: str, default: bool) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigError(f"[api] {key} must be true or false, got {value!r}")
    return value


def _number(
    table: Mapping[str, Any],
    key: str,
    default: float,
    *,
    low: float,
    high: float | None = None,
    integer: bool = False,
) -> float:
    value = table.get(key, default)
    kind = "an integer" if integer else "a number"
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (integer and not isinstance(value, int))
    ):
        raise ConfigError(f"[api] {key} must be {kind}, got {value!r}")
    if value < low or (high is not None and value > high):
        bounds = f">= {low:g}" if high is None else f"from {low:g} to {high:g}"
        raise ConfigError(f"[api] {key} must be {bounds}, got {value!r}")
    return float(value)
