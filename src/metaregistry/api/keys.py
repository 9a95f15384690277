"""Typed keys of the aiohttp application state, shared by every route module."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy.engine import Engine

from metaregistry.api.reader import Reader
from metaregistry.settings import Settings

__all__ = ["ENGINE_KEY", "READER_KEY", "SETTINGS_KEY", "SIGNER_KEY"]

#: The read-only engine of the API (one per process).
ENGINE_KEY = web.AppKey("engine", Engine)
#: The effective settings.
SETTINGS_KEY = web.AppKey("settings", Settings)
#: The log's Signer (metaregistry.log.checkpoint.Signer); only its public key is served.
SIGNER_KEY = web.AppKey("signer", Any)
#: Pooled read-only connections with query deadlines (metaregistry.api.reader.Reader): route
#: modules may run their reads through it instead of opening a connection per request.
READER_KEY = web.AppKey("reader", Reader)
