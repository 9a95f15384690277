"""EcoRegistry's public front-end API as two snapshot streams (Cercarbono's CO2 standard).

What this follows (see README.md: which parts are confirmed and which assumed):

* ``GET {base}/platform/project/public-by-standard/{standard}`` lists the standard's projects
  (``{"projects": [{"id": 1, "code": "CDC-1", ...}]}``);
* ``GET {base}/platform/analytics/projects`` returns every project of *every* standard the
  platform hosts with its issued serials (``{"project": [{"id": 1, "serials": [...]}]}``);
* ``GET {base}/platform/analytics/get-retirements`` returns the whole retirement ledger
  (``{"retirements": [{"id": 1, "project_id": 1, "serial": ..., "quantity": ...}]}``);
* no paging anywhere: each answers in one response;
* the headers ``platform: ecoregistry`` and ``lng`` are required, and a refusal comes back
  as HTTP 200 with ``{"status": 0, "codeMessages": [{"codeMessage": "ERROR_401", ...}]}``,
  which would read as an empty registry if the body were not checked;
* a wrong ``Origin`` is answered with HTTP 500, so Origin and Referer name Cercarbono's site.

Each stream takes two requests: the standard's project list (its ids go into the cursor, so
a run that stops after it resumes with the second request), then the bulk feed, filtered to
those projects (the other standards' credits are not tCO2e).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar, Final, Literal

import httpx

from metaregistry.connector import FatalSourceError, HttpStream, Page, RawRecord, RequestSpec
from metaregistry_connectors.verra.paging import json_body

__all__ = [
    "DEFAULT_HEADERS",
    "PROJECTS_PATH",
    "EcoRegistryIssuances",
    "EcoRegistryRetirements",
]

PROJECTS_PATH: Final = "/platform/project/public-by-standard/{standard}"
ISSUANCES_PATH: Final = "/platform/analytics/projects"
RETIREMENTS_PATH: Final = "/platform/analytics/get-retirements"
SITE: Final = "https://registry.cercarbono.com"
DEFAULT_HEADERS: Final = {
    "Accept": "application/json",
    "platform": "ecoregistry",
    "lng": "en",
    "Origin": SITE,
    "Referer": SITE + "/",
}
_LIST_STEP: Final = "projects"
_FEED_STEP: Final = "feed"


class EcoRegistryIssuances(HttpStream):
    """Issued serials of the standard's projects (``analytics/projects``)."""

    name: ClassVar[str] = "issuances"
    mode: ClassVar[Literal["snapshot", "incremental"]] = "snapshot"
    sorted_by_cursor: ClassVar[bool] = False
    feed_path: ClassVar[str] = ISSUANCES_PATH

    def __init__(
        self, base_url: str, *, standard: str, headers: Mapping[str, str] | None = None
    ) -> None:
        self.base = base_url.rstrip("/")
        self.standard = standard
        self.headers = {**DEFAULT_HEADERS, **(headers or {})}
        self._wanted: set[int] = set()

    def first_request(self, cursor: Mapping[str, Any] | None) -> RequestSpec | None:
        if cursor and not cursor.get("_complete") and cursor.get("step") == _LIST_STEP:
            return self._feed(_ids(cursor.get("projects"), "cursor"))
        return RequestSpec(
            method="GET",
            url=self.base + PROJECTS_PATH.format(standard=self.standard),
            headers=self.headers,
            token=_LIST_STEP,
        )

    def _feed(self, ids: list[int]) -> RequestSpec:
        # The standard's project ids stay with the stream (and in the cursor, for a resume):
        # the bulk feed has no filter parameter.
        self._wanted = set(ids)
        return RequestSpec(
            method="GET",
            url=self.base + self.feed_path,
            headers=self.headers,
            token=f"{_FEED_STEP}:{self.feed_path}",
        )

    def parse_page(self, response: httpx.Response, request: RequestSpec) -> Page:
        where = f"cercarbono {self.name} {request.url}"
        body = _answer(json_body(response, where), where)
        if request.token == _LIST_STEP:
            ids = [_project_id(p, where) for p in _list(body, "projects", where)]
            if not ids:
                raise FatalSourceError(f"{where}: the standard {self.standard!r} lists no project")
            return Page(
                records=[],
                cursor={"step": _LIST_STEP, "projects": ids},
                next_request=self._feed(ids),
            )
        records = self.records(body, self._wanted, where)
        return Page(
            records=records,
            cursor={"step": _FEED_STEP, "records": len(records)},
            next_request=None,
        )

    def records(self, body: Mapping[str, Any], wanted: set[int], where: str) -> list[RawRecord]:
        out: list[RawRecord] = []
        for project in _list(body, "project", where):
            ident = _project_id(project, where)
            if ident not in wanted:
                continue  # a project of another standard the platform hosts
            serials = project.get("serials") or []
            if not isinstance(serials, list):
                raise FatalSourceError(f"{where}: project {ident}: serials is not a list")
            for index, serial in enumerate(serials):
                payload = (
                    dict(serial) if isinstance(serial, dict) else {"__not_an_object__": serial}
                )
                payload.setdefault("project_id", ident)
                out.append(RawRecord(payload, f"{where}#project {ident} serial {index}", self.name))
        return out


class EcoRegistryRetirements(EcoRegistryIssuances):
    """The retirement ledger (``analytics/get-retirements``), the standard's projects only."""

    name: ClassVar[str] = "retirements"
    feed_path: ClassVar[str] = RETIREMENTS_PATH

    def records(self, body: Mapping[str, Any], wanted: set[int], where: str) -> list[RawRecord]:
        out: list[RawRecord] = []
        for index, row in enumerate(_list(body, "retirements", where)):
            if not isinstance(row, dict):
                out.append(RawRecord({"__not_an_object__": row}, f"{where}#{index}", self.name))
                continue
            if _project_id(row, where) not in wanted:
                continue
            out.append(RawRecord(dict(row), f"{where}#{index}", self.name))
        return out


def _answer(body: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(body, dict):
        raise FatalSourceError(f"{where}: expected a JSON object, got {type(body).__name__}")
    messages = body.get("codeMessages")
    if messages:
        # EcoRegistry refuses with HTTP 200 and the reason in the body (ERROR_401 when the
        # platform/lng headers are missing): never mistake it for an empty registry.
        raise FatalSourceError(f"{where}: the source refused the request: {messages!r}"[:400])
    return body


def _list(body: Mapping[str, Any], key: str, where: str) -> list[Any]:
    value = body.get(key)
    if not isinstance(value, list):
        raise FatalSourceError(f"{where}: the answer has no list {key!r} (keys: {sorted(body)})")
    return value


def _project_id(project: Any, where: str) -> int:
    ident = (
        project.get("id" if "project_id" not in project else "project_id")
        if isinstance(project, dict)
        else None
    )
    if isinstance(ident, bool) or not isinstance(ident, int | str) or not str(ident).isdigit():
        raise FatalSourceError(f"{where}: a record without a numeric project id ({project!r:.200})")
    return int(ident)


def _ids(value: Any, where: str) -> list[int]:
    if not isinstance(value, list) or not all(str(v).isdigit() for v in value):
        raise FatalSourceError(f"{where}: project ids are not a list of numbers ({value!r:.200})")
    return [int(v) for v in value]
