"""The log's HTTP API (mounted by ``metaregistry.api.app``; the log itself, ``metaregistry.log``,
knows nothing of HTTP).

    GET /v1/log/key                            the verifier key string, then the PEM key
    GET /v1/log/checkpoint                     the latest signed checkpoint (C2SP signed note)
    GET /v1/log/proof/inclusion?leaf=&size=    where a leaf hash sits, and the proof of it
    GET /v1/log/proof/consistency?from=&to=    proof that the tree of ``to`` extends ``from``
    GET /v1/log/leaves?start=&end=             leaves by index range (at most 1,000)
    GET /v1/log/leaves?registry=&record_id=    every logged version of one unit block

Hashes are hex; leaf bytes are base64 (``data``) with their parsed form beside them
(``entry``). Nothing here needs trust: check it all with ``metaregistry verify``.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any, Final

from aiohttp import web

from metaregistry.api import params
from metaregistry.api.errors import ApiError
from metaregistry.api.keys import READER_KEY, SIGNER_KEY
from metaregistry.api.queries import Db
from metaregistry.log import store
from metaregistry.log.leaf import LeafFormatError, parse_leaf
from metaregistry.log.note import Signer, key_text

__all__ = ["add_routes"]

MAX_LEAVES: Final = 1000
_HEX_HASH: Final = re.compile(r"[0-9a-f]{64}")


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/log/key", get_key)
    app.router.add_get("/v1/log/checkpoint", get_checkpoint)
    app.router.add_get("/v1/log/proof/inclusion", get_inclusion_proof)
    app.router.add_get("/v1/log/proof/consistency", get_consistency_proof)
    app.router.add_get("/v1/log/leaves", get_leaves)


def _json(body: dict[str, Any], status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(body, separators=(",", ":")), status=status, content_type="application/json"
    )


def _within_tree(name: str, value: int, tree_size: int) -> None:
    if value > tree_size:
        raise ApiError.bad_parameter(name, value, f"is larger than the log ({tree_size} leaves)")


async def get_key(request: web.Request) -> web.Response:
    signer = request.app[SIGNER_KEY]
    if not isinstance(signer, Signer):
        raise ApiError(404, "not_found", "this server has no log key configured")
    return web.Response(text=key_text(signer), content_type="text/plain")


async def get_checkpoint(request: web.Request) -> web.Response:
    latest = await request.app[READER_KEY].run(lambda db: store.latest_checkpoint(db.sa))
    if latest is None:
        raise ApiError(404, "not_found", "the log has no checkpoint yet")
    return web.Response(text=latest.note, content_type="text/plain")


def _inclusion(db: Db, leaf_hash: bytes, size: int) -> dict[str, Any]:
    conn = db.sa
    _within_tree("size", size, store.tree_size(conn))
    index = store.leaf_index_by_hash(conn, leaf_hash)
    if index is None or index >= size:
        where = "in the log" if index is None else f"in the tree of size {size}"
        raise ApiError(404, "not_found", f"leaf {leaf_hash.hex()} is not {where}")
    hashes = store.inclusion_proof(conn, index, size)
    return {
        "leaf_index": index,
        "tree_size": size,
        "leaf_hash": leaf_hash.hex(),
        "hashes": [h.hex() for h in hashes],
    }


async def get_inclusion_proof(request: web.Request) -> web.Response:
    leaf = request.query.get("leaf", "")
    if not _HEX_HASH.fullmatch(leaf):
        raise ApiError.bad_parameter("leaf", leaf or None, "must be 64 lowercase hex digits")
    size = params.integer(request, "size", low=1)
    body = await request.app[READER_KEY].run(_inclusion, bytes.fromhex(leaf), size)
    return _json(body)


def _consistency(db: Db, old: int, new: int) -> dict[str, Any]:
    conn = db.sa
    _within_tree("to", new, store.tree_size(conn))
    hashes = store.consistency_proof(conn, old, new)
    return {"from": old, "to": new, "hashes": [h.hex() for h in hashes]}


async def get_consistency_proof(request: web.Request) -> web.Response:
    old, new = params.integer(request, "from"), params.integer(request, "to")
    if old > new:
        raise ApiError.bad_parameter("from", old, f"must not be larger than to ({new})")
    return _json(await request.app[READER_KEY].run(_consistency, old, new))


def _leaf_json(leaf: store.StoredLeaf) -> dict[str, Any]:
    try:
        entry: Any = json.loads(parse_leaf(leaf.data).data())
    except LeafFormatError:
        entry = None  # shown as stored; the verifier will say what is wrong with it
    return {
        "index": leaf.leaf_index,
        "leaf_hash": leaf.leaf_hash.hex(),
        "data": base64.b64encode(leaf.data).decode(),
        "entry": entry,
    }


def _range(db: Db, start: int, end: int) -> dict[str, Any]:
    size = store.tree_size(db.sa)
    end = min(end, size)
    found = store.leaves(db.sa, start, end) if start < end else []
    return {"start": start, "end": max(start, end), "tree_size": size,
            "leaves": [_leaf_json(leaf) for leaf in found]}  # fmt: skip


def _record(db: Db, registry: str, record_id: str) -> dict[str, Any]:
    found = store.record_leaves(db.sa, registry, record_id)
    return {"registry": registry, "record_id": record_id,
            "leaves": [_leaf_json(leaf) for leaf in found[:MAX_LEAVES]]}  # fmt: skip


async def get_leaves(request: web.Request) -> web.Response:
    reader = request.app[READER_KEY]
    registry, record_id = request.query.get("registry"), request.query.get("record_id")
    if registry is not None or record_id is not None:
        if not registry or not record_id:
            missing = "record_id" if registry else "registry"
            raise ApiError.bad_parameter(missing, None, "is required with registry / record_id")
        return _json(await reader.run(_record, registry, record_id))
    start, end = params.integer(request, "start"), params.integer(request, "end")
    if end < start:
        raise ApiError.bad_parameter("end", end, f"must not be smaller than start ({start})")
    if end - start > MAX_LEAVES:
        raise ApiError.bad_parameter("end", end, f"must be at most start + {MAX_LEAVES}")
    return _json(await reader.run(_range, start, end))
