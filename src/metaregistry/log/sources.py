"""Where a verifier reads a log from: the HTTP API of a server, or an export directory.

Neither is trusted: a source only supplies checkpoints, leaves and proofs, and
:mod:`metaregistry.log.verify` checks all of them against the public key. An export is the
directory ``metaregistry log export`` writes::

    checkpoint.txt          the latest signed checkpoint
    checkpoints/NNNNNN.txt  every checkpoint published, oldest first
    leaves.jsonl            one leaf a line: {"data": base64, "index": n, "leaf_hash": hex}
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from metaregistry.log import merkle
from metaregistry.log.compact import MemoryTree

__all__ = ["ExportSource", "HttpSource", "LogSource", "LogSourceError", "SourceLeaf"]


class LogSourceError(Exception):
    """The API or the export could not be read: network, HTTP status, malformed content."""


@dataclass(frozen=True)
class SourceLeaf:
    """A leaf as a source gives it: its index, its bytes, and the hash the log recorded."""

    index: int
    data: bytes
    recorded_hash: bytes | None


class LogSource(Protocol):
    def checkpoint(self) -> str:
        """The latest signed checkpoint (note text)."""
        ...

    def checkpoints(self) -> list[str]:
        """Earlier checkpoints too, oldest first, when the source keeps them."""
        ...

    def consistency_proof(self, old: int, new: int) -> list[bytes]: ...

    def inclusion_proof(self, leaf_hash: bytes, size: int) -> tuple[int, list[bytes]] | None:
        """The index of the leaf and its proof in the tree of ``size``; None when absent."""
        ...

    def record_leaves(self, registry: str, record_id: str) -> list[SourceLeaf]: ...

    def leaves(self) -> Iterator[SourceLeaf]:
        """Every leaf, in the order given (a verifier checks the order)."""
        ...


def _b64(text: Any, where: str) -> bytes:
    try:
        return base64.b64decode(str(text), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise LogSourceError(f"{where}: data is not base64") from exc


def _leaf(item: Any, where: str) -> SourceLeaf:
    try:
        recorded = item.get("leaf_hash")
        return SourceLeaf(
            int(item["index"]),
            _b64(item["data"], where),
            None if recorded is None else bytes.fromhex(recorded),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise LogSourceError(f"{where}: not a leaf: {str(item)[:200]}") from exc


class HttpSource:
    """The ``/v1/log`` API of a metaregistry server."""

    def __init__(self, url: str, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(timeout=30.0)

    def _get(self, path: str, params: dict[str, Any] | None = None) -> httpx.Response:
        try:
            response = self._client.get(f"{self.url}{path}", params=params)
        except httpx.HTTPError as exc:
            raise LogSourceError(f"GET {self.url}{path}: {exc}") from exc
        if response.status_code not in {200, 404}:
            raise LogSourceError(
                f"GET {response.request.url}: HTTP {response.status_code} {response.text[:300]}"
            )
        return response

    def _json(self, path: str, params: dict[str, Any]) -> Any:
        response = self._get(path, params)
        if response.status_code == 404:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise LogSourceError(f"GET {response.request.url}: the answer is not JSON") from exc

    def served(self, path: str) -> tuple[int, Any]:
        """(status, JSON body) of a lookup route: what the server serves, to be checked
        (``metaregistry.log.served``). Any status is returned; a body that is not JSON is
        an error."""
        url = f"{self.url}{path}"
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            raise LogSourceError(f"GET {url}: {exc}") from exc
        try:
            return response.status_code, response.json()
        except ValueError as exc:
            raise LogSourceError(
                f"GET {url}: HTTP {response.status_code}, the answer is not JSON"
            ) from exc

    def served_record(self, registry: str, record_id: str) -> tuple[int, Any]:
        return self.served(f"/v1/records/{quote(registry, safe='')}/{quote(record_id, safe='')}")

    def served_serial(self, serial: str) -> tuple[int, Any]:
        return self.served(f"/v1/serials/{quote(serial, safe='')}")

    def leaf_is_pending(self, leaf_hash: bytes, size: int) -> bool:
        """Whether a leaf absent from the tree of ``size`` is in the log after it."""
        body = self._json("/v1/log/leaves", {"start": 0, "end": 0})
        tree_size = int((body or {}).get("tree_size", 0))
        return tree_size > size and self.inclusion_proof(leaf_hash, tree_size) is not None

    def alert_events(self) -> Iterator[dict[str, Any]]:
        """Every alert event the server's feed serves, oldest first (empty without a feed)."""
        since = 0
        while True:
            status, body = self.served(f"/v1/alerts/events?since={since}&limit=1000")
            if status == 404:
                return
            if status != 200 or not isinstance(body, dict):
                raise LogSourceError(f"GET {self.url}/v1/alerts/events: HTTP {status}")
            page = body.get("events") or []
            yield from page
            if not page:
                return
            since = int(body["next_since"])

    def checkpoint(self) -> str:
        response = self._get("/v1/log/checkpoint")
        if response.status_code == 404:
            raise LogSourceError(f"{self.url} has published no checkpoint yet")
        return response.text

    def checkpoints(self) -> list[str]:
        return [self.checkpoint()]

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        body = self._json("/v1/log/proof/consistency", {"from": old, "to": new})
        return [bytes.fromhex(h) for h in (body or {}).get("hashes", [])]

    def inclusion_proof(self, leaf_hash: bytes, size: int) -> tuple[int, list[bytes]] | None:
        body = self._json("/v1/log/proof/inclusion", {"leaf": leaf_hash.hex(), "size": size})
        if body is None:
            return None
        return int(body["leaf_index"]), [bytes.fromhex(h) for h in body["hashes"]]

    def record_leaves(self, registry: str, record_id: str) -> list[SourceLeaf]:
        body = self._json("/v1/log/leaves", {"registry": registry, "record_id": record_id})
        where = f"{self.url} leaves of {registry}/{record_id}"
        return [_leaf(item, where) for item in (body or {}).get("leaves", [])]

    def leaves(self) -> Iterator[SourceLeaf]:
        start = 0
        while True:
            body = self._json("/v1/log/leaves", {"start": start, "end": start + 1000})
            page = [_leaf(item, f"{self.url} leaves from {start}") for item in body["leaves"]]
            yield from page
            if not page:
                return
            start = page[-1].index + 1


class ExportSource:
    """A directory written by ``metaregistry log export``; proofs are computed from it."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._leaves: list[SourceLeaf] | None = None
        self._tree: MemoryTree | None = None

    def _read(self, name: str) -> str:
        try:
            return (self.directory / name).read_text(encoding="utf-8")
        except OSError as exc:
            raise LogSourceError(f"cannot read {self.directory / name}: {exc.strerror}") from exc

    def checkpoint(self) -> str:
        return self._read("checkpoint.txt")

    def checkpoints(self) -> list[str]:
        return [self._read(f"checkpoints/{p.name}")
                for p in sorted((self.directory / "checkpoints").glob("*.txt"))]  # fmt: skip

    def leaves(self) -> Iterator[SourceLeaf]:
        if self._leaves is None:
            self._leaves = list(self._parse_leaves())
        return iter(self._leaves)

    def _parse_leaves(self) -> Iterator[SourceLeaf]:
        path = self.directory / "leaves.jsonl"
        try:
            lines = path.open(encoding="utf-8")
        except OSError as exc:
            raise LogSourceError(f"cannot read {path}: {exc.strerror}") from exc
        with lines:
            for number, line in enumerate(lines, 1):
                try:
                    item = json.loads(line)
                except ValueError as exc:
                    raise LogSourceError(f"{path} line {number} is not JSON") from exc
                yield _leaf(item, f"{path} line {number}")

    def _tree_of(self, size: int) -> MemoryTree:
        """The tree of the export's leaves, taken in file order whatever their indexes say."""
        if self._tree is None:
            self._tree = MemoryTree(merkle.leaf_hash(leaf.data) for leaf in self.leaves())
        if size > self._tree.size:
            raise LogSourceError(f"the export has {self._tree.size} leaves, not {size}")
        return self._tree

    def consistency_proof(self, old: int, new: int) -> list[bytes]:
        return merkle.consistency_proof(old, new, self._tree_of(new).read)

    def inclusion_proof(self, leaf_hash: bytes, size: int) -> tuple[int, list[bytes]] | None:
        tree = self._tree_of(size)
        for position, found in enumerate(tree.levels[0][:size]):
            if found == leaf_hash:
                return position, merkle.inclusion_proof(position, size, tree.read)
        return None

    def record_leaves(self, registry: str, record_id: str) -> list[SourceLeaf]:
        needle = json.dumps(record_id, ensure_ascii=False).encode()  # cheap filter first
        out = []
        for leaf in self.leaves():
            if needle in leaf.data:
                try:
                    entry = json.loads(leaf.data)
                except ValueError:
                    continue  # not a record's leaf; the full check reports it
                if entry.get("registry") == registry and entry.get("record_id") == record_id:
                    out.append(leaf)
        return out
