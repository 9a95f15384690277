"""App-state keys private to the lookup API (the shared ones are in ``keys.py``)."""

from __future__ import annotations

from aiohttp import web

from metaregistry.api.answers import AnswerCache
from metaregistry.api.batches import Batcher
from metaregistry.api.lookup import Features
from metaregistry.api.metrics import RequestMetrics
from metaregistry.api.registries import IndexStats
from metaregistry.settings import ApiSettings

__all__ = [
    "ANSWERS_KEY",
    "BATCHES_KEY",
    "CONFIG_KEY",
    "FEATURES_KEY",
    "METRICS_KEY",
    "OPENAPI_KEY",
    "STATS_KEY",
]

ANSWERS_KEY = web.AppKey("api_answers", AnswerCache)
#: The batches of lookups (of serial_answer: (status, body)).
BATCHES_KEY = web.AppKey("api_batches", Batcher[tuple[int, bytes]])
CONFIG_KEY = web.AppKey("api_config", ApiSettings)
FEATURES_KEY = web.AppKey("api_features", Features)
METRICS_KEY = web.AppKey("api_metrics", RequestMetrics)
STATS_KEY = web.AppKey("api_stats", IndexStats)
OPENAPI_KEY = web.AppKey("api_openapi", bytes)
