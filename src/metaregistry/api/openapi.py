"""The OpenAPI 3.1 document served at ``/openapi.json``, written as data beside the code it
describes (schemathesis checks the running server against it in tests/e2e).

Schemas are JSON Schema 2020-12 (OpenAPI 3.1): a nullable field is ``"type": [T, "null"]``.
Objects stay open (no ``additionalProperties: false``) so that adding a field is not a
breaking change. The alert feed's and the log's paths (``openapi_feed.py``,
``openapi_log.py``) are included only when their routes are mounted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from metaregistry import __version__
from metaregistry.api.openapi_feed import alerts_part
from metaregistry.api.openapi_log import log_part
from metaregistry.api.openapi_parts import CURSOR, LIMIT, errors, json_body, query_param, ref
from metaregistry.api.openapi_schemas import schemas
from metaregistry.model import MAX_BLOCK_NUMBER, Status

__all__ = ["document"]

#: The parts of mounted route modules, by feature name.
PARTS: Final = {"alerts": alerts_part, "log": log_part}
_BLOCK_NUMBER: Final = {"type": "integer", "minimum": 0, "maximum": MAX_BLOCK_NUMBER}


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
        "/v1/records/{registry}/{record_id}": {
            "get": {
                "operationId": "getRecord",
                "summary": "One record, as lookups serve it",
                "description": "The current block of one record with its history and "
                "inclusion proof: what `metaregistry verify --record` recomputes.",
                "parameters": [
                    {
                        "name": name,
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": 256},
                    }
                    for name in ("registry", "record_id")
                ],
                "responses": {
                    "200": json_body(ref("Record"), "The record."),
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
        "/v1/article6/parties/{party}": {
            "get": {
                "operationId": "getArticle6Party",
                "summary": "A party's Article 6 ledger: totals per year, open alerts, AEF tables",
                "parameters": [
                    {
                        "name": "party",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string", "pattern": "^[A-Za-z]{2}$"},
                        "description": "ISO 3166-1 alpha-2 code of the host party.",
                    },
                    query_param(
                        "year",
                        {"type": "integer", "minimum": 0, "maximum": 2100},
                        "With a year: that year's AEF tables (AEF V2) too.",
                    ),
                ],
                "responses": {
                    "200": json_body(
                        {"type": "object", "required": ["party", "totals", "alerts"]},
                        "Totals per year (authorized, first-transferred, used, cancelled), "
                        "open Article 6 alerts; with year, the five AEF tables.",
                    ),
                    **errors(400),
                },
            }
        },
        "/v1/eligibility": {
            "get": {
                "operationId": "getEligibility",
                "summary": "May a serial's units be used for CORSIA, sg-icc or an NDC?",
                "parameters": [
                    query_param(
                        "serial",
                        {"type": "string", "minLength": 1},
                        "A serial as published, or scheme:scope:start-end.",
                        required=True,
                    ),
                    query_param(
                        "use",
                        {"type": "string", "pattern": "^(corsia|sg-icc|ndc:[A-Za-z]{2})$"},
                        "corsia, sg-icc or ndc:<party> (ISO alpha-2).",
                        required=True,
                    ),
                ],
                "responses": {
                    "200": json_body(
                        {
                            "type": "object",
                            "required": ["use", "eligible", "reasons", "blocks", "checkpoint"],
                        },
                        "Eligible or not, a reason a line (code, ok, text), the authorizations "
                        "read, the lookup's blocks with their inclusion proofs, the checkpoint.",
                    ),
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
                "summary": "Whether this process can answer (readiness)",
                "responses": {
                    "200": json_body(ref("Health"), "Healthy."),
                    "503": json_body(
                        ref("Health"), "The database does not answer, or the log is damaged."
                    ),
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
                "responses": {"200": json_body({"type": "object"}, "OpenAPI 3.1."), **errors()},
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
                    },
                    **errors(),
                },
            }
        },
    }


def document(*, mounted: Sequence[str] = ()) -> dict[str, Any]:
    """The document for an app with the given other areas mounted (``alerts``, ``log``)."""
    paths = _paths()
    components = schemas()
    for feature in mounted:
        extra_paths, extra_schemas = PARTS[feature](errors)
        paths.update(extra_paths)
        components.update(extra_schemas)
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
        "components": {"schemas": components},
    }
