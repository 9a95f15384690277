"""The component schemas of the OpenAPI document (JSON Schema 2020-12): what the lookup
API's answers look like. Objects stay open (no ``additionalProperties: false``) so that a new
field is not a breaking change."""

from __future__ import annotations

import copy
from typing import Any, Final

from metaregistry.api.openapi_parts import nullable, ref
from metaregistry.model import COMPUTED_FIELDS, CONTENT_FIELDS
from metaregistry.schemas import load_schema

__all__ = ["REGISTRIES_SCHEMA", "schemas"]

_STR = {"type": "string"}
_INT = {"type": "integer"}
PROJECT_ACROSS: dict[str, Any] = {
    "type": "object",
    "required": ["project_key", "ids", "id_links", "units", "reconciliation"],
    "properties": {
        "project_key": _STR,
        "ids": {"type": "array", "items": _STR},
        "id_links": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["a", "b", "source", "detail"],
                "properties": {
                    "a": _STR,
                    "b": _STR,
                    "source": {"type": "string", "enum": ["record", "map"]},
                    "detail": _STR,
                },
            },
        },
        "units": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["registry", "vintage", "status", "units"],
                "properties": {
                    "registry": _STR,
                    "vintage": {"type": ["integer", "null"]},
                    "status": _STR,
                    "units": _INT,
                },
            },
        },
        "reconciliation": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["outcome", "kind", "basis", "project_key", "source", "target"],
                "properties": {
                    "outcome": {
                        "type": "string",
                        "enum": [
                            "matched",
                            "mismatched",
                            "pending",
                            "unverifiable",
                            "double_registration",
                            "registry_move",
                        ],
                    },
                    "kind": _STR,
                    "basis": {"type": "string", "enum": ["project"]},
                    "project_key": _STR,
                    "vintage": {"type": ["integer", "null"]},
                    "source": _STR,
                    "target": _STR,
                    "units_source": _INT,
                    "units_target": _INT,
                    "reason": _STR,
                },
            },
        },
    },
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
        "source_totals": {
            "type": "object",
            "description": "per stream, what the source said of itself (e.g. records)",
            "additionalProperties": {
                "type": "object",
                "additionalProperties": {"type": "integer"},
            },
        },
        "drift": {
            "type": "array",
            "items": {"type": "string"},
            "description": "streams whose distinct records disagree with the source's total",
        },
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


UNIT_BLOCK_SCHEMA: Final = "normalized/unit_block.schema.json"


def block_schema() -> dict[str, Any]:
    """``Block``: the content fields exactly as ``schemas/normalized/unit_block.schema.json``
    states them (types, bounds, patterns, enums, descriptions), not restated here; then what
    the API adds (version, provenance: the computed fields, overlap)."""
    unit = load_schema(UNIT_BLOCK_SCHEMA)
    properties: dict[str, Any] = {
        name: copy.deepcopy(unit["properties"][name]) for name in CONTENT_FIELDS
    }
    properties["version"] = {"type": "integer", "minimum": 1}
    properties["provenance"] = ref("Provenance")
    properties["overlap"] = ref("Range")
    return {
        "type": "object",
        "description": unit.get("description", ""),
        "required": [*unit["required"], "version", "provenance"],
        "properties": properties,
    }


def provenance_schema() -> dict[str, Any]:
    """``Provenance``: the connector and the computed fields of the unit block schema."""
    unit = load_schema(UNIT_BLOCK_SCHEMA)
    return {
        "type": "object",
        "required": ["connector", *COMPUTED_FIELDS],
        "properties": {
            "connector": {"type": "string"},
            **{name: copy.deepcopy(unit["properties"][name]) for name in COMPUTED_FIELDS},
        },
    }


def schemas() -> dict[str, Any]:
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
        "Provenance": provenance_schema(),
        "Block": block_schema(),
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
                "content": {
                    "type": "object",
                    "description": "The version's content fields (nulls omitted), which hash "
                    "to `record_hash`; absent for the current version, whose content is "
                    "the block's.",
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
                    "compliance_move, custody).",
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
                "overlap": {
                    "allOf": [ref("Range")],
                    "description": "The units the alert is about: `block_start`.."
                    "`block_end`, and `quantity` counts them (for a `quantity_mismatch` the "
                    "shared units plus the excess; GET /v1/alerts/{id} has `detail.ranges` "
                    "and `detail.excess` apart).",
                },
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
        "Record": {
            "type": "object",
            "required": ["block", "checkpoint"],
            "properties": {
                "block": {
                    "allOf": [ref("Block")],
                    "type": "object",
                    "required": ["history", "proof"],
                    "properties": {
                        "history": {"type": "array", "items": ref("HistoryEntry")},
                        "proof": {"oneOf": [ref("Proof"), {"type": "null"}]},
                        "alerts": {"type": "array", "items": ref("Alert")},
                    },
                },
                "checkpoint": {"oneOf": [ref("Checkpoint"), {"type": "null"}]},
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
                "across_registries": {
                    "description": (
                        "The project across registries (first page only; null on later "
                        "pages or without reconciliation's tables): its key, every "
                        "registry's id and where each link came from, units per registry, "
                        "vintage and status, and reconciliation's findings (basis project)."
                    ),
                    "oneOf": [{"type": "null"}, PROJECT_ACROSS],
                },
                "blocks": {"type": "array", "items": ref("Block")},
                "next_cursor": nullable("string"),
            },
        },
        "Registries": REGISTRIES_SCHEMA,
        "Health": {
            "type": "object",
            "required": ["status", "database"],
            "properties": {
                "status": {"type": "string", "enum": ["ok", "unavailable"]},
                "database": {"type": "string"},
                "log": {
                    "type": "string",
                    "description": "With a log: `ok: ...` when its head recomputes to the "
                    "latest checkpoint's root (lookups can prove what they serve), else what "
                    "is damaged.",
                },
            },
        },
    }
