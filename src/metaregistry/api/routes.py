"""The lookup API's own routes (the alert feed and the log add theirs, see ``app.py``).

    GET /v1/serials/{serial}     where the units of a serial live (see unit_query.py for spellings)
    GET /v1/records/{registry}/{record_id}   one record as lookups serve it (for verifiers)
    GET /v1/blocks               range search in one numbering (scheme, scope, start, end)
    GET /v1/projects/{id}        a project's blocks across registries, units by status, alerts
    GET /v1/registries           connectors, freshness, counts, last error
    GET /healthz                 the database answers and the log head checks (readiness)
    GET /metrics                 Prometheus text format

Lists that can grow are paged with opaque cursors: pass ``next_cursor`` back as ``cursor``.
"""

from __future__ import annotations

from typing import Any, Final

from aiohttp import web

from metaregistry.api import alerts as alert_source
from metaregistry.api import lookup as lookups
from metaregistry.api import params, proofs
from metaregistry.api.answers import AnswerCache, encode, serial_answer
from metaregistry.api.cursor import decode_cursor, encode_cursor
from metaregistry.api.errors import ApiError
from metaregistry.api.keys import READER_KEY
from metaregistry.api.metrics import CONTENT_TYPE, render
from metaregistry.api.queries import MIN_KEY, Db
from metaregistry.api.state import (
    ANSWERS_KEY,
    BATCHES_KEY,
    CONFIG_KEY,
    FEATURES_KEY,
    METRICS_KEY,
    STATS_KEY,
)
from metaregistry.api.unit_query import read_query
from metaregistry.model import MAX_BLOCK_NUMBER, Status

__all__ = ["add_routes", "json_response"]

PAGE: Final = (100, 1000)  # default, maximum page size
_STATUSES: Final = frozenset(s.value for s in Status)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/v1/serials/{serial}", get_serial)
    app.router.add_get("/v1/records/{registry}/{record_id}", get_record)
    app.router.add_get("/v1/blocks", list_blocks)
    app.router.add_get("/v1/projects/{project_id}", get_project)
    app.router.add_get("/v1/registries", list_registries)
    app.router.add_get("/v1/eligibility", get_eligibility)
    app.router.add_get("/v1/article6/parties/{party}", get_party)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)


def json_response(body: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=encode(body),
        status=status,
        content_type="application/json",
    )


# -- parameters ---------------------------------------------------------------------------


def _limit(request: web.Request) -> int:
    return params.integer(request, "limit", PAGE[0], low=1, high=PAGE[1])


def _range_cursor(request: web.Request, tag: str) -> tuple[int, int] | None:
    text = request.query.get("cursor")
    if text is None:
        return None
    start, block_id = decode_cursor(text, tag, (int, int))
    return int(start), int(block_id)


# -- handlers -----------------------------------------------------------------------------


async def get_serial(request: web.Request) -> web.Response:
    """Every block of every registry holding any unit the serial names."""
    config = request.app[CONFIG_KEY]
    query = read_query(request.match_info["serial"], max_length=config.max_serial_length)
    limit = _limit(request)
    after = _range_cursor(request, lookups.CURSOR_TAG)
    features = request.app[FEATURES_KEY]
    if limit <= PAGE[0]:
        # A default-size page is about a millisecond of work at most: it joins the lookups
        # waiting now, run together in one read transaction (see batches.py).
        status, body = await request.app[BATCHES_KEY].submit(
            query, limit=limit, after=after, features=features, cache=request.app[ANSWERS_KEY]
        )
    else:
        # Bigger pages go to the reader's threads alone, and are not cached.
        status, body = await request.app[READER_KEY].run(
            serial_answer,
            query,
            limit=limit,
            after=after,
            features=features,
            cache=AnswerCache(0),
        )
    return web.Response(body=body, status=status, content_type="application/json")


async def get_eligibility(request: web.Request) -> web.Response:
    """Whether a serial's units may be used for ``use`` (issue 19): reasons and proofs."""
    from metaregistry.api.eligibility import eligibility, read_use

    config = request.app[CONFIG_KEY]
    serial = request.query.get("serial")
    if not serial:
        raise ApiError(400, "invalid_parameter", "serial is required", field="serial")
    query = read_query(serial, max_length=config.max_serial_length)
    use = read_use(request.query.get("use"))
    answer = await request.app[READER_KEY].run(
        eligibility, query, use, features=request.app[FEATURES_KEY]
    )
    if answer is None:
        raise ApiError(
            404,
            "not_found",
            "no registry in the index holds these units",
            field="serial",
            value=serial,
        )
    return json_response(answer)


async def get_party(request: web.Request) -> web.Response:
    """A party's Article 6 ledger (issue 19): totals per year, open Article 6 alerts, and
    with ``?year=`` that year's AEF tables."""
    from metaregistry.api.party import party_answer

    party = request.match_info["party"].upper()
    if len(party) != 2 or not party.isalpha():
        raise ApiError(
            400,
            "invalid_parameter",
            "party is an ISO 3166-1 alpha-2 code",
            field="party",
            value=party,
        )
    year = params.integer(request, "year", 0, low=0, high=2100) or None
    answer = await request.app[READER_KEY].run(party_answer, party, year)
    return json_response(answer)


async def get_record(request: web.Request) -> web.Response:
    """One record's current block with history and proof (what a verifier recomputes)."""
    registry, record_id = request.match_info["registry"], request.match_info["record_id"]
    for name, value in (("registry", registry), ("record_id", record_id)):
        if len(value) > params.MAX_TEXT:
            raise ApiError.bad_parameter(
                name, value, f"is longer than {params.MAX_TEXT} characters"
            )
    features = request.app[FEATURES_KEY]
    found = await request.app[READER_KEY].run(
        lookups.record_answer, registry, record_id, features=features
    )
    if found is None:
        raise ApiError(
            404,
            "not_found",
            f"no record {registry}/{record_id} in the index",
            field="record_id",
            value=record_id,
        )
    return json_response(found)


async def list_blocks(request: web.Request) -> web.Response:
    """Blocks of one numbering intersecting [start, end], in (block_start, id) order."""
    scheme = params.text(request, "scheme", None)
    if not scheme:
        raise ApiError.bad_parameter("scheme", scheme, "is required (vcs, gs, cdm, ...)")
    scope = params.text(request, "scope", "") or ""
    start = params.integer(request, "start", 0, low=0, high=MAX_BLOCK_NUMBER)
    end = params.integer(request, "end", MAX_BLOCK_NUMBER, low=0, high=MAX_BLOCK_NUMBER)
    if start > end:
        raise ApiError.bad_parameter("start", start, f"is after end ({end})")
    registry = params.text(request, "registry", None)
    status = params.text(request, "status", None)
    if status is not None and status not in _STATUSES:
        raise ApiError.bad_parameter("status", status, f"is not one of {', '.join(_STATUSES)}")
    limit = _limit(request)
    after = _range_cursor(request, "blocks") or MIN_KEY

    def page(db: Db) -> list[dict[str, Any]]:
        rows = db.overlap_page(
            scheme,
            scope,
            start,
            end,
            after=after,
            limit=limit + 1,
            registry=registry,
            status=status,
        )
        for row in rows:
            lookups.check_row(db, row, None)  # content hashes to record_hash, or 500
        return rows

    rows = await request.app[READER_KEY].run(page)
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    return json_response(
        {
            "scheme": scheme,
            "scope": scope,
            "block_start": start,
            "block_end": end,
            "blocks": [lookups.block_json(r, (start, end)) for r in rows],
            "next_cursor": (
                encode_cursor("blocks", int(last["block_start"]), int(last["id"]))
                if more and last is not None
                else None
            ),
        }
    )


async def get_project(request: web.Request) -> web.Response:
    """A project's blocks across registries (id order, paged), totals and open alerts."""
    project_id = request.match_info["project_id"]
    if len(project_id) > 64:
        raise ApiError.bad_parameter("project_id", project_id, "is longer than 64 characters")
    limit = _limit(request)
    cursor = request.query.get("cursor")
    after = int(decode_cursor(cursor, "project", (int,))[0]) if cursor is not None else 0
    features = request.app[FEATURES_KEY]

    def read(
        db: Db,
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[Any], dict[str, Any] | None]:
        totals = db.project_totals(project_id)
        rows = db.project_page(project_id, after=after, limit=limit + 1) if totals else []
        for row in rows:
            lookups.check_row(db, row, None)  # content hashes to record_hash, or 500
        alerts = alert_source.alerts_of_project(db, project_id) if features.alerts else []
        across = None
        if features.projects and cursor is None:
            from metaregistry.reconcile.view import project_view

            across = project_view(db.sa, project_id)
        return totals, rows, alerts, across

    totals, rows, alerts, across = await request.app[READER_KEY].run(read)
    if not totals and across is None:
        raise ApiError(
            404,
            "not_found",
            f"no block of project {project_id!r} in the index",
            field="project_id",
            value=project_id,
            hint="project ids carry their scheme's prefix: VCS1340, GS11236",
        )
    more = len(rows) > limit
    rows = rows[:limit]
    return json_response(
        {
            "project_id": project_id,
            "registries": _project_registries(totals),
            "units_by_status": _units_by_status(totals),
            "alerts": alerts,
            # every registry's id of the project, where each link came from, units per
            # registry, vintage and status, and reconciliation's findings (issue 17);
            # first page only
            "across_registries": across,
            "blocks": [lookups.block_json(r) for r in rows],
            "next_cursor": (
                encode_cursor("project", int(rows[-1]["id"])) if more and rows else None
            ),
        }
    )


def _project_registries(totals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for row in totals:
        entry = out.setdefault(
            row["registry"], {"registry": row["registry"], "blocks": 0, "units_by_status": {}}
        )
        entry["blocks"] += int(row["blocks"])
        entry["units_by_status"][row["status"]] = int(row["units"])
    return [out[name] for name in sorted(out)]


def _units_by_status(totals: list[dict[str, Any]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for row in totals:
        out[row["status"]] = out.get(row["status"], 0) + int(row["units"])
    return out


async def list_registries(request: web.Request) -> web.Response:
    stats = await request.app[STATS_KEY].get()
    return json_response(stats.to_json())


async def healthz(request: web.Request) -> web.Response:
    """Whether this process can answer: the database answers and, with a log, lookups can
    prove what they serve (its head recomputes to the latest checkpoint's root)."""
    reader = request.app[READER_KEY]
    try:
        ok = await reader.quick(Db.ping)
    except Exception as exc:  # any failure to reach the database is "unhealthy"
        return json_response(
            {"status": "unavailable", "database": f"{type(exc).__name__}: {exc}"[:300]}, 503
        )
    body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "database": "ok"}
    features = request.app[FEATURES_KEY]
    if features.log:
        try:
            body["log"] = await reader.run(proofs.log_head, features.nodes)
        except Exception as exc:  # a damaged log: every lookup would fail its proof
            body.update(status="unavailable", log=f"{type(exc).__name__}: {exc}"[:300])
    return json_response(body, 200 if body["status"] == "ok" else 503)


async def metrics(request: web.Request) -> web.Response:
    try:
        gauges = (await request.app[STATS_KEY].get()).gauges()
    except Exception:  # the request counters are still worth scraping without the index
        gauges = []
    text = render(request.app[METRICS_KEY], gauges)
    return web.Response(body=text.encode(), headers={"Content-Type": CONTENT_TYPE})
