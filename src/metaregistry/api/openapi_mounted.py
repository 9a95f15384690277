"""OpenAPI parts of routes other areas own and the API mounts: the alert feed
(``metaregistry.feed.routes``) and the log (``metaregistry.log.routes``), written from their
route code and docstrings; plus the ``/v1/registries`` schema (long enough to live here).

Each part is a function of the error-response helper of ``openapi.py`` returning
``(paths, schemas)``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, Final

__all__ = ["PARTS", "REGISTRIES_SCHEMA"]

Errors = Callable[..., dict[str, Any]]
JSON: Final = "application/json"
#: A registry slug as the feed accepts it in filters.
_SLUG: Final = "^[a-z0-9][a-z0-9_.-]{0,63}$"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _query(
    name: str, schema: dict[str, Any], description: str, *, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


_RUN: Final = {
    "type": ["object", "null"],
    "properties": {
        "outcome": {"type": "string"},
        "started_at": {"type": "string"},
        "finished_at": {"type": ["string", "null"]},
        "records_seen": {"type": "integer"},
        "records_written": {"type": "integer"},
        "quarantined": {"type": "integer"},
        "withdrawn": {"type": "integer"},
        "error": {"type": ["string", "null"]},
    },
}
REGISTRIES_SCHEMA: Final = {
    "type": "object",
    "required": ["computed_at", "totals", "registries", "connectors"],
    "properties": {
        "computed_at": {"type": "string"},
        "totals": {
            "type": "object",
            "required": ["blocks", "units"],
            "properties": {"blocks": {"type": "integer"}, "units": {"type": "integer"}},
        },
        "registries": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["registry", "connectors", "blocks", "units", "by_status"],
                "properties": {
                    "registry": {"type": "string"},
                    "connectors": {"type": "array", "items": {"type": "string"}},
                    "blocks": {"type": "integer"},
                    "units": {"type": "integer"},
                    "by_status": {
                        "type": "object",
                        "additionalProperties": {
                            "type": "object",
                            "required": ["blocks", "units"],
                            "properties": {
                                "blocks": {"type": "integer"},
                                "units": {"type": "integer"},
                            },
                        },
                    },
                },
            },
        },
        "connectors": {
            "type": "array",
            "items": {
                "type": "object",
                "required": [
                    "name",
                    "installed",
                    "configured",
                    "registries",
                    "last_run",
                    "last_success_at",
                    "age_seconds",
                    "last_error",
                ],
                "properties": {
                    "name": {"type": "string"},
                    "installed": {"type": "boolean"},
                    "configured": {"type": "boolean"},
                    "registries": {"type": "array", "items": {"type": "string"}},
                    "last_run": _RUN,
                    "last_success_at": {"type": ["string", "null"]},
                    "age_seconds": {
                        "type": ["number", "null"],
                        "description": "Seconds since the last successful sync.",
                    },
                    "last_error": {
                        "type": ["object", "null"],
                        "properties": {
                            "at": {"type": "string"},
                            "outcome": {"type": "string"},
                            "message": {"type": ["string", "null"]},
                        },
                    },
                },
            },
        },
    },
}


def _choices(name: str) -> list[str]:
    """The accepted values of one alert filter, as the feed checks them."""
    tables = importlib.import_module("metaregistry.feed.alert_tables")
    return sorted(getattr(tables, name))


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
            "alert": {"oneOf": [_ref("FeedAlert"), {"type": "null"}]},
        },
    }
    limit = _query(
        "limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "Page size."
    )
    since = _query(
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
                    _query(
                        "cursor",
                        {"type": "string", "maxLength": 1024},
                        "Opaque `next_cursor` of the previous page.",
                    ),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["alerts", "next_cursor"],
                            "properties": {
                                "alerts": {"type": "array", "items": _ref("FeedAlert")},
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
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100},
                        "Page size.",
                    ),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["events", "next_since"],
                            "properties": {
                                "events": {"type": "array", "items": _ref("FeedEvent")},
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
                    _query(
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
                    "200": _json(
                        {
                            "allOf": [_ref("FeedAlert")],
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


def log_part(errors: Errors) -> tuple[dict[str, Any], dict[str, Any]]:
    hexhash = {"type": "string", "pattern": "^[0-9a-f]{64}$"}
    size = {"type": "integer", "minimum": 0, "maximum": 2**63 - 1}
    text = {"text/plain": {"schema": {"type": "string"}}}
    leaf = {
        "type": "object",
        "required": ["index", "leaf_hash", "data", "entry"],
        "properties": {
            "index": {"type": "integer", "minimum": 0},
            "leaf_hash": hexhash,
            "data": {"type": "string", "description": "The leaf bytes, base64."},
            "entry": {"type": ["object", "null"], "description": "The leaf parsed."},
        },
    }
    leaves = {"type": "array", "items": _ref("LogLeaf")}
    paths = {
        "/v1/log/checkpoint": {
            "get": {
                "operationId": "logCheckpoint",
                "summary": "The latest signed checkpoint",
                "responses": {
                    "200": {"description": "C2SP signed note.", "content": text},
                    **errors(404),
                },
            }
        },
        "/v1/log/key": {
            "get": {
                "operationId": "logKey",
                "summary": "The log's public key: the verifier key string, then PEM",
                "responses": {
                    "200": {"description": "The public key.", "content": text},
                    **errors(404),
                },
            }
        },
        "/v1/log/proof/inclusion": {
            "get": {
                "operationId": "logInclusionProof",
                "summary": "Inclusion proof of a leaf",
                "parameters": [
                    _query("leaf", hexhash, "Leaf hash (64 lowercase hex).", required=True),
                    _query("size", {**size, "minimum": 1}, "Tree size.", required=True),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["leaf_index", "tree_size", "leaf_hash", "hashes"],
                            "properties": {
                                "leaf_index": {"type": "integer"},
                                "tree_size": {"type": "integer"},
                                "leaf_hash": hexhash,
                                "hashes": {"type": "array", "items": hexhash},
                            },
                        },
                        "The proof (RFC 9162 2.1.3).",
                    ),
                    **errors(400, 404),
                },
            }
        },
        "/v1/log/proof/consistency": {
            "get": {
                "operationId": "logConsistencyProof",
                "summary": "Proof that the tree of size `to` extends the tree of size `from`",
                "parameters": [
                    _query("from", size, "Old size.", required=True),
                    _query("to", size, "New size.", required=True),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["from", "to", "hashes"],
                            "properties": {
                                "from": {"type": "integer"},
                                "to": {"type": "integer"},
                                "hashes": {"type": "array", "items": hexhash},
                            },
                        },
                        "The proof (RFC 9162 2.1.4).",
                    ),
                    **errors(400),
                },
            }
        },
        "/v1/log/leaves": {
            "get": {
                "operationId": "logLeaves",
                "summary": "Leaves by index range [start, end) (at most 1,000), or every logged "
                "version of one block (registry and record_id)",
                "parameters": [
                    _query("start", size, "First index (with end)."),
                    _query("end", size, "End index, exclusive (with start)."),
                    _query("registry", {"type": "string"}, "A block's registry (with record_id)."),
                    _query("record_id", {"type": "string"}, "A block's record id (with registry)."),
                ],
                "responses": {
                    "200": _json(
                        {
                            "type": "object",
                            "required": ["leaves"],
                            "properties": {
                                "start": {"type": "integer"},
                                "end": {"type": "integer"},
                                "tree_size": {"type": "integer"},
                                "registry": {"type": "string"},
                                "record_id": {"type": "string"},
                                "leaves": leaves,
                            },
                        },
                        "The leaves.",
                    ),
                    **errors(400),
                },
            }
        },
    }
    return paths, {"LogLeaf": leaf}


PARTS: Final[dict[str, Callable[[Errors], tuple[dict[str, Any], dict[str, Any]]]]] = {
    "alerts": alerts_part,
    "log": log_part,
}
