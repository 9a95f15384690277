"""Building blocks of the OpenAPI document: references, nullable types, JSON bodies, the
error responses every operation shares, and query parameters."""

from __future__ import annotations

from typing import Any, Final

from metaregistry.api.routes import PAGE

__all__ = ["CURSOR", "JSON", "LIMIT", "errors", "json_body", "nullable", "query_param", "ref"]

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
