"""The OpenAPI part of the log's routes (``metaregistry.api.log_routes``), written from their
code and docstrings; included in the document when the log is mounted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from metaregistry.api.openapi_parts import json_body, query_param, ref

__all__ = ["log_part"]

Errors = Callable[..., dict[str, Any]]


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
    leaves = {"type": "array", "items": ref("LogLeaf")}
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
                    query_param("leaf", hexhash, "Leaf hash (64 lowercase hex).", required=True),
                    query_param("size", {**size, "minimum": 1}, "Tree size.", required=True),
                ],
                "responses": {
                    "200": json_body(
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
                    query_param("from", size, "Old size.", required=True),
                    query_param("to", size, "New size.", required=True),
                ],
                "responses": {
                    "200": json_body(
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
                    query_param("start", size, "First index (with end)."),
                    query_param("end", size, "End index, exclusive (with start)."),
                    query_param(
                        "registry", {"type": "string"}, "A block's registry (with record_id)."
                    ),
                    query_param(
                        "record_id", {"type": "string"}, "A block's record id (with registry)."
                    ),
                ],
                "responses": {
                    "200": json_body(
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
