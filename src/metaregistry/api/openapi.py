"""The OpenAPI 3.1 document served at ``/openapi.json``, written as data beside the code it
describes (schemathesis checks the running server against it in tests/e2e).

Schemas are JSON Schema 2020-12 (OpenAPI 3.1): a nullable field is ``"type": [T, "null"]``.
Objects stay open (no ``additionalProperties: false``) so that adding a field is not a
breaking change. The alert feed's and the log's paths (``openapi_mounted.py``) are included
only when their routes are mounted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from metaregistry import __version__
from metaregistry.api import openapi_mounted
from metaregistry.api.routes import PAGE
from metaregistry.model import MAX_BLOCK_NUMBER, Status

__all__ = ["document"]

JSON: Final = "application/json"


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def json_body(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def errors(*statuses: int) -> dict[str, Any]:
    """Error responses by status; 429 and 503 may answer any request."""
    text = {
        400: "A parameter is invalid; `field` names it.",
        404: "Nothing is known under this name.",
        413: "The request body is too large.",
        429: "Rate limited; retry after `Retry-After` seconds.",
        503: "A query ran past the time limit, or the database is unavailable.",
    }
    out: dict[str, Any] = {}
    for status in (*statuses, 429, 503):
        out[str(status)] = json_body(ref("Error"), text[status])
        if status == 400:
            # The HTTP parser itself refuses some requests (a request line over 8 kB, a
            # malformed header) with a plain-text 400 before the application sees them.
            out["400"]["content"]["text/plain"] = {"schema": {"type": "string"}}
        if status in (429, 503):
            out[str(status)]["headers"] = {
                "Retry-After": {"description": "Seconds to wait.", "schema": {"type": "integer"}}
            }
    return out


def query_param(
    name: str, schema: dict[str, Any], description: str, *, required: bool = False
) -> dict[str, Any]:
    return {
        "name": name,
        "in": "query",
        "required": required,
        "schema": schema,
        "description": description,
    }


LIMIT: Final = query_param(
    "limit",
    {"type": "integer", "minimum": 1, "maximum": PAGE[1], "default": PAGE[0]},
    "Page size.",
)
CURSOR: Final = query_param(
    "cursor",
    {"type": "string", "maxLength": 1024},
    "Opaque: the `next_cursor` of the previous page (same other parameters).",
)
_BLOCK_NUMBER: Final = {"type": "integer", "minimum": 0, "maximum": MAX_BLOCK_NUMBER}
_TEXT_FIELDS: Final = (
    "project_id",
    "vintage_start",
    "vintage_end",
    "country",
    "status_reason",
    "status_date",
    "origin",
    "authorization_id",
    "authorized_purpose",
    "corresponding_adjustment",
    "first_transfer_date",
    "itmo_id",
)


def _schemas() -> dict[str, Any]:
    block_props: dict[str, Any] = {
        "registry": {"type": "string", "description": "Registry slug (kebab-case)."},
        "record_id": {"type": "string", "description": "The registry's own id of the row."},
        "serial": {"type": "string", "description": "The serial as the registry publishes it."},
        "scheme": {"type": "string"},
        "scope": {"type": "string", "description": "What makes numbers unique in the scheme."},
        "block_start": {"type": "integer"},
        "block_end": {"type": "integer"},
        "quantity": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in Status]},
        **{name: nullable("string") for name in _TEXT_FIELDS},
        "version": {"type": "integer", "minimum": 1},
        "provenance": ref("Provenance"),
        "overlap": ref("Range"),
    }
    return {
        "Error": {
            "type": "object",
            "required": ["error", "message"],
            "properties": {
                "error": {"type": "string", "description": "Stable machine-readable code."},
                "message": {"type": "string"},
                "field": {"type": "string", "description": "The input at fault."},
                "value": {"type": "string", "description": "Its value (cut at 120 chars)."},
                "hint": {"type": "string"},
            },
        },
        "Range": {
            "type": "object",
            "required": ["block_start", "block_end", "quantity"],
            "description": "The part of the block inside the range asked for (inclusive).",
            "properties": {
                "block_start": {"type": "integer"},
                "block_end": {"type": "integer"},
                "quantity": {"type": "integer", "minimum": 1},
            },
        },
        "Provenance": {
            "type": "object",
            "required": ["connector", "raw_hash", "record_hash", "observed_at"],
            "properties": {
                "connector": {"type": "string"},
                "raw_hash": {"type": "string", "description": "SHA-256 of the raw record."},
                "record_hash": {"type": "string", "description": "SHA-256 of its content."},
                "observed_at": {"type": "string", "description": "When it was seen (UTC)."},
            },
        },
        "Block": {
            "type": "object",
            "required": [
                "registry",
                "record_id",
                "serial",
                "scheme",
                "scope",
                "block_start",
                "block_end",
                "quantity",
                "status",
                "version",
                "provenance",
            ],
            "properties": block_props,
        },
        "HistoryEntry": {
            "type": "object",
            "required": [
                "version",
                "status",
                "observed_at",
                "record_hash",
                "raw_hash",
                "connector",
                "changes",
            ],
            "properties": {
                "version": {"type": "integer"},
                "status": {"type": "string"},
                "status_date": nullable("string"),
                "observed_at": {"type": "string"},
                "record_hash": {"type": "string"},
                "raw_hash": {"type": "string"},
                "connector": {"type": "string"},
                "changes": {
                    "type": "object",
                    "description": "Fields changed from the previous version: {from, to}.",
                    "additionalProperties": {"type": "object", "required": ["from", "to"]},
                },
            },
        },
        "Link": {
            "type": "object",
            "required": ["relation", "registry", "record_id", "serial", "status"],
            "properties": {
                "relation": {
                    "type": "string",
                    "description": "origin: the block this one's `origin` names; "
                    "derived: a block whose `origin` is this serial; "
                    "else the kind of move detection recorded "
                    "(conversion, transition, mirror, tokenization, "
                    "compliance_move).",
                },
                "direction": {
                    "type": "string",
                    "enum": ["to", "from"],
                    "description": "For detected moves: units went to / came from the other block.",
                },
                "registry": {"type": "string"},
                "record_id": {"type": "string"},
                "serial": {"type": "string"},
                "status": nullable("string"),
                "overlap": ref("Range"),
                "explanation": {"type": "string"},
            },
        },
        "Alert": {
            "type": "object",
            "required": [
                "id",
                "kind",
                "severity",
                "status",
                "registries",
                "overlap",
                "explanation",
                "opened_at",
            ],
            "description": "An open alert of the detection (the whole story at "
            "GET /v1/alerts/{id}).",
            "properties": {
                "id": {"type": "string"},
                "kind": {"type": "string"},
                "severity": {"type": "string"},
                "status": {"type": "string"},
                "registries": {"type": "array", "items": {"type": "string"}},
                "overlap": ref("Range"),
                "explanation": {"type": "string"},
                "opened_at": {"type": "string"},
            },
        },
        "Proof": {
            "type": "object",
            "required": ["leaf_index", "leaf_hash", "tree_size", "hashes", "pending"],
            "description": "RFC 9162 inclusion proof of the block's current version in the "
            "log, against `checkpoint`; `pending` when logged after it.",
            "properties": {
                "leaf_index": {"type": "integer", "minimum": 0},
                "leaf_hash": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                "tree_size": nullable("integer"),
                "hashes": {
                    "type": ["array", "null"],
                    "items": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                },
                "pending": {"type": "boolean"},
            },
        },
        "Checkpoint": {
            "type": "object",
            "required": ["origin", "size", "root", "note"],
            "properties": {
                "origin": {"type": "string"},
                "size": {"type": "integer"},
                "root": {"type": "string", "description": "base64 of the root hash"},
                "note": {"type": "string", "description": "The signed note (C2SP format)."},
            },
        },
        "LookupBlock": {
            "allOf": [ref("Block")],
            "type": "object",
            "required": ["history", "links", "alerts", "proof", "overlap"],
            "properties": {
                "history": {"type": "array", "items": ref("HistoryEntry")},
                "links": {"type": "array", "items": ref("Link")},
                "alerts": {"type": "array", "items": ref("Alert")},
                "proof": {"oneOf": [ref("Proof"), {"type": "null"}]},
            },
        },
        "Query": {
            "type": "object",
            "required": [
                "serial",
                "family",
                "scheme",
                "scope",
                "block_start",
                "block_end",
                "quantity",
            ],
            "properties": {
                "serial": {"type": "string"},
                "family": {"type": "string", "description": "Serial format read, or `units`."},
                "scheme": {"type": "string"},
                "scope": {"type": "string"},
                "block_start": {"type": "integer"},
                "block_end": {"type": "integer"},
                "quantity": {"type": "integer"},
                "parsed": {"type": "object", "description": "What the serial states."},
            },
        },
        "Lookup": {
            "type": "object",
            "required": ["query", "summary", "blocks", "checkpoint", "next_cursor"],
            "properties": {
                "query": ref("Query"),
                "summary": {
                    "type": "object",
                    "required": ["blocks", "registries", "open_alerts"],
                    "properties": {
                        "blocks": {"type": "integer"},
                        "registries": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["registry", "statuses"],
                                "properties": {
                                    "registry": {"type": "string"},
                                    "statuses": {"type": "array", "items": {"type": "string"}},
                                },
                            },
                        },
                        "open_alerts": {"type": "integer"},
                    },
                },
                "blocks": {"type": "array", "items": ref("LookupBlock")},
                "checkpoint": {"oneOf": [ref("Checkpoint"), {"type": "null"}]},
                "next_cursor": nullable("string"),
            },
        },
        "BlockPage": {
            "type": "object",
            "required": ["scheme", "scope", "block_start", "block_end", "blocks", "next_cursor"],
            "properties": {
                "scheme": {"type": "string"},
                "scope": {"type": "string"},
                "block_start": {"type": "integer"},
                "block_end": {"type": "integer"},
                "blocks": {"type": "array", "items": ref("Block")},
                "next_cursor": nullable("string"),
            },
        },
        "Project": {
            "type": "object",
            "required": [
                "project_id",
                "registries",
                "units_by_status",
                "alerts",
                "blocks",
                "next_cursor",
            ],
            "properties": {
                "project_id": {"type": "string"},
                "registries": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["registry", "blocks", "units_by_status"],
                        "properties": {
                            "registry": {"type": "string"},
                            "blocks": {"type": "integer"},
                            "units_by_status": {
                                "type": "object",
                                "additionalProperties": {"type": "integer"},
                            },
                        },
                    },
                },
                "units_by_status": {"type": "object", "additionalProperties": {"type": "integer"}},
                "alerts": {"type": "array", "items": ref("Alert")},
                "blocks": {"type": "array", "items": ref("Block")},
                "next_cursor": nullable("string"),
            },
        },
        "Registries": openapi_mounted.REGISTRIES_SCHEMA,
        "Health": {
            "type": "object",
            "required": ["status", "database"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "database": {"type": "string"},
            },
        },
    }


def _paths() -> dict[str, Any]:
    serial_param = {
        "name": "serial",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "minLength": 1},
        "description": "A registry's serial as published (any known format), or units as "
        "`scheme:scope:number` / `scheme:scope:start-end` (`vcs::941467100`, "
        "`gs:30307:1-500`). URL-encode spaces.",
        "examples": {
            "verra": {
                "value": "19385-941467007-941467431-VCS-VCU-1507-VER-ET-14-1340-01012020-31122020-1"
            },
            "units": {"value": "vcs::941467100"},
        },
    }
    return {
        "/v1/serials/{serial}": {
            "get": {
                "operationId": "lookupSerial",
                "summary": "Where do these units live?",
                "description": "Every block in every registry that contains or overlaps the "
                "units, with status, history, origin links, open alerts, "
                "provenance and inclusion proof. Blocks in (block_start, id) "
                "order, paged.",
                "parameters": [serial_param, LIMIT, CURSOR],
                "responses": {
                    "200": json_body(ref("Lookup"), "The blocks holding the units."),
                    **errors(400, 404),
                },
            }
        },
        "/v1/blocks": {
            "get": {
                "operationId": "searchBlocks",
                "summary": "Range search in one numbering",
                "parameters": [
                    query_param(
                        "scheme",
                        {"type": "string", "minLength": 1, "maxLength": 256},
                        "Numbering scheme: vcs, gs, cdm, ...",
                        required=True,
                    ),
                    query_param(
                        "scope",
                        {"type": "string", "maxLength": 256, "default": ""},
                        "Scope in the scheme (empty for vcs).",
                    ),
                    query_param("start", {**_BLOCK_NUMBER, "default": 0}, "First unit."),
                    query_param(
                        "end",
                        {**_BLOCK_NUMBER, "default": MAX_BLOCK_NUMBER},
                        "Last unit (inclusive).",
                    ),
                    query_param(
                        "registry",
                        {"type": "string", "maxLength": 256},
                        "Only this registry's blocks.",
                    ),
                    query_param(
                        "status",
                        {"type": "string", "enum": [s.value for s in Status]},
                        "Only blocks in this status.",
                    ),
                    LIMIT,
                    CURSOR,
                ],
                "responses": {
                    "200": json_body(ref("BlockPage"), "A page of blocks."),
                    **errors(400),
                },
            }
        },
        "/v1/projects/{project_id}": {
            "get": {
                "operationId": "getProject",
                "summary": "A project across registries",
                "parameters": [
                    {
                        "name": "project_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1},
                        "description": "Scheme-prefixed project id: VCS1340, GS11236.",
                    },
                    LIMIT,
                    CURSOR,
                ],
                "responses": {
                    "200": json_body(ref("Project"), "Blocks (paged), totals, alerts."),
                    **errors(400, 404),
                },
            }
        },
        "/v1/registries": {
            "get": {
                "operationId": "listRegistries",
                "summary": "Connectors, freshness, counts, last error",
                "responses": {
                    "200": json_body(ref("Registries"), "Cached up to stats_ttl s."),
                    **errors(),
                },
            }
        },
        "/healthz": {
            "get": {
                "operationId": "health",
                "summary": "Whether the database answers",
                "responses": {
                    "200": json_body(ref("Health"), "Healthy."),
                    "503": json_body(ref("Health"), "The database does not answer."),
                },
            }
        },
        "/metrics": {
            "get": {
                "operationId": "metrics",
                "summary": "Prometheus metrics (text exposition format 0.0.4)",
                "responses": {
                    "200": {
                        "description": "Metrics.",
                        "content": {"text/plain": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "responses": {"200": json_body({"type": "object"}, "OpenAPI 3.1.")},
            }
        },
        "/": {
            "get": {
                "operationId": "webPage",
                "summary": "The web page: search a serial, browse alerts",
                "responses": {
                    "200": {
                        "description": "HTML.",
                        "content": {"text/html": {"schema": {"type": "string"}}},
                    }
                },
            }
        },
    }


def document(*, mounted: Sequence[str] = ()) -> dict[str, Any]:
    """The document for an app with the given other areas mounted (``alerts``, ``log``)."""
    paths = _paths()
    schemas = _schemas()
    for feature in mounted:
        extra_paths, extra_schemas = openapi_mounted.PARTS[feature](errors)
        paths.update(extra_paths)
        schemas.update(extra_schemas)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "metaregistry",
            "version": __version__,
            "description": "Public lookups in a federated meta-registry of carbon credits: "
            "where a serial's units live, in which registries, and whether "
            "they are counted twice. Read-only; rate limited per client.",
            "license": {"name": "Apache-2.0", "identifier": "Apache-2.0"},
        },
        "paths": paths,
        "components": {"schemas": schemas},
    }
