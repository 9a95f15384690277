"""The OpenAPI part of the alert feed's routes (``metaregistry.feed.routes``), written from
their code and docstrings; included in the document when the feed is mounted."""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

from metaregistry.api.openapi_parts import json_body, query_param, ref

__all__ = ["alerts_part"]

Errors = Callable[..., dict[str, Any]]
#: A registry slug as the feed accepts it in filters.
_SLUG: Final = "^[a-z0-9][a-z0-9_.-]{0,63}$"


def _choices(name: str) -> list[str]:
    """The accepted values of one alert filter, as the feed checks them."""
    tables = importlib.import_module("metaregistry.feed.alert_tables")
    return sorted(getattr(tables, name))


#: What an alert's overlap fields mean: one thing each (issue 22; detect/tables.py says the same).
_OVERLAP_FIELDS: dict[str, Any] = {
    "overlap_start": {
        "type": "integer",
        "description": "First unit the alert is about, in (`scheme`, `scope`). For a "
        "project-basis alert, the first vintage.",
    },
    "overlap_end": {
        "type": "integer",
        "description": "Last unit the alert is about (inclusive): for a `quantity_mismatch` "
        "the span covers the shared units and the excess. For a project-basis alert, the "
        "last vintage.",
    },
    "overlap_size": {
        "type": "integer",
        "description": "How many units the alert is about: every unit of "
        "`overlap_start`..`overlap_end` that a side claims (for a `quantity_mismatch` the "
        "shared units plus the excess; a gap between ranges is not counted). For a "
        "project-basis alert, the units counted twice.",
    },
    "detail": {
        "type": "object",
        "description": "`ranges`: the units both sides claim, as [start, end] pairs; "
        "`excess`: for a `quantity_mismatch`, the units past what the other side or the "
        "issuance holds; `rules`: the detection rules that matched.",
    },
}


def _filters() -> list[dict[str, Any]]:
    def listed(name: str, values: list[str] | None, text: str) -> dict[str, Any]:
        item: dict[str, Any] = {"type": "string", "pattern": _SLUG}
        if values is not None:
            # Comma-separated lists are accepted too; the schema names the single values.
            item["enum"] = values
        return {
            "name": name,
            "in": "query",
            "required": False,
            "style": "form",
            "explode": True,
            "schema": {"type": "array", "items": item},
            "description": text,
        }

    return [
        listed("registry", None, "Alerts with a side in this registry (slug)."),
        listed("kind", _choices("KINDS"), "Alert kinds."),
        listed("severity", _choices("SEVERITIES"), "Severities."),
        listed("status", _choices("STATUSES"), "Statuses."),
    ]


def alerts_part(errors: Errors) -> tuple[dict[str, Any], dict[str, Any]]:
    alert = {
        "type": "object",
        "required": ["id", "kind", "severity", "status"],
        "properties": {
            "id": {"type": "string"},
            "kind": {"type": "string", "enum": _choices("KINDS")},
            "severity": {"type": "string", "enum": _choices("SEVERITIES")},
            "status": {"type": "string", "enum": _choices("STATUSES")},
            "sides": {"type": "array", "items": {"type": "object"}},
            "explanation": {"type": "string"},
            **_OVERLAP_FIELDS,
        },
    }
    event = {
        "type": "object",
        "required": ["id", "alert_id", "type", "at"],
        "properties": {
            "id": {"type": "integer"},
            "alert_id": {"type": "string"},
            "type": {"type": "string"},
            "at": {"type": "string"},
            "alert": {"oneOf": [ref("FeedAlert"), {"type": "null"}]},
        },
    }
    limit = query_param(
        "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "Page size."
    )
    since = query_param(
        "since",
        {"type": "integer", "minimum": 0, "maximum": 2**63 - 1},
        "Events after this event id (the previous `next_since`).",
    )
    paths = {
        "/v1/alerts": {
            "get": {
                "operationId": "listAlerts",
                "summary": "Alerts, newest first",
                "parameters": [
                    *_filters(),
                    limit,
                    query_param(
                        "cursor",
                        {"type": "string", "maxLength": 1024},
                        "Opaque `next_cursor` of the previous page.",
                    ),
                ],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["alerts", "next_cursor"],
                            "properties": {
                                "alerts": {"type": "array", "items": ref("FeedAlert")},
                                "next_cursor": {"type": ["string", "null"]},
                            },
                        },
                        "A page of alerts.",
                    ),
                    **errors(400),
                },
            }
        },
        "/v1/alerts/events": {
            "get": {
                "operationId": "listAlertEvents",
                "summary": "Alert events after a cursor (pull)",
                "parameters": [
                    *_filters(),
                    since,
                    query_param(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        "Page size.",
                    ),
                ],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["events", "next_since"],
                            "properties": {
                                "events": {"type": "array", "items": ref("FeedEvent")},
                                "next_since": {"type": "integer"},
                            },
                        },
                        "Events, oldest first.",
                    ),
                    **errors(400),
                },
            }
        },
        "/v1/alerts/stream": {
            "get": {
                "operationId": "streamAlertEvents",
                "summary": "Alert events as Server-Sent Events (resume with Last-Event-ID)",
                "parameters": [
                    *_filters(),
                    since,
                    {
                        "name": "Last-Event-ID",
                        "in": "header",
                        "required": False,
                        "schema": {"type": "string"},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "An endless event stream.",
                        "content": {"text/event-stream": {"schema": {"type": "string"}}},
                    },
                    **errors(400),
                },
            }
        },
        "/v1/alerts/feed.atom": {
            "get": {
                "operationId": "alertAtomFeed",
                "summary": "The newest alert events as Atom",
                "parameters": [
                    *_filters(),
                    query_param(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 200, "default": 50},
                        "Entries.",
                    ),
                ],
                "responses": {
                    "200": {
                        "description": "Atom 1.0.",
                        "content": {"application/atom+xml": {"schema": {"type": "string"}}},
                    },
                    "304": {"description": "Not modified (If-None-Match)."},
                    **errors(400),
                },
            }
        },
        "/v1/alerts/{id}": {
            "get": {
                "operationId": "getAlert",
                "summary": "One alert and its events",
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                    }
                ],
                "responses": {
                    "200": json_body(
                        {
                            "allOf": [ref("FeedAlert")],
                            "type": "object",
                            "required": ["events"],
                            "properties": {
                                "events": {"type": "array", "items": {"type": "object"}}
                            },
                        },
                        "The alert.",
                    ),
                    **errors(400, 404),
                },
            }
        },
    }
    return paths, {"FeedAlert": alert, "FeedEvent": event}
