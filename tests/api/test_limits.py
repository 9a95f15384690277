"""Limits on abuse, seen from a client: rate limit, CORS, body size, query timeouts, and a
database the API cannot write."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from api_world import ENDLESS, World

from metaregistry.api.errors import QueryTimeoutError
from metaregistry.api.limits import TokenBucket
from metaregistry.api.queries import Db
from metaregistry.api.reader import Reader

pytestmark = pytest.mark.anyio


async def test_a_client_over_its_burst_gets_429_with_retry_after(serve_api: Any) -> None:
    async with serve_api(rate_limit=0.5, burst=3) as api:
        statuses = [(await api.get("/v1/serials/vcs::1120")).status_code for _ in range(4)]
        limited = await api.get("/v1/serials/vcs::1120")
        health = await api.get("/healthz")
    assert statuses == [200, 200, 200, 429]
    assert limited.status_code == 429
    assert limited.headers["Retry-After"] == "2"  # a token every 2 s
    assert limited.json()["error"] == "rate_limited"
    assert health.status_code == 200  # health checks are never limited


async def test_clients_behind_a_trusted_proxy_have_their_own_buckets(serve_api: Any) -> None:
    async with serve_api(rate_limit=0.5, burst=1, trust_forwarded_for=True) as api:
        first = await api.get("/v1/registries", headers={"X-Forwarded-For": "203.0.113.1"})
        again = await api.get("/v1/registries", headers={"X-Forwarded-For": "203.0.113.1"})
        other = await api.get("/v1/registries", headers={"X-Forwarded-For": "203.0.113.2"})
    assert (first.status_code, again.status_code, other.status_code) == (200, 429, 200)


async def test_a_rate_of_zero_lifts_the_limit(serve_api: Any) -> None:
    async with serve_api(rate_limit=0, burst=1) as api:
        statuses = {(await api.get("/v1/serials/vcs::1120")).status_code for _ in range(30)}
    assert statuses == {200}


def test_a_token_bucket_refills_at_its_rate() -> None:
    now = [100.0]
    bucket = TokenBucket(2.0, 2.0, clock=lambda: now[0])
    assert [bucket.take("a"), bucket.take("a")] == [0.0, 0.0]
    assert bucket.take("a") == pytest.approx(0.5)
    assert bucket.take("b") == 0.0  # another client, its own bucket
    now[0] += 0.5
    assert bucket.take("a") == 0.0
    now[0] += 10
    assert [bucket.take("a"), bucket.take("a"), bucket.take("a") > 0] == [0.0, 0.0, True]


async def test_browsers_may_read_answers_from_any_origin_by_default(serve_api: Any) -> None:
    async with serve_api() as api:
        answer = await api.get("/v1/serials/vcs::1120", headers={"Origin": "https://a.example"})
        missing = await api.get("/v1/serials/vcs::5", headers={"Origin": "https://a.example"})
        preflight = await api.client.options(
            "/v1/serials/vcs::1120",
            headers={"Origin": "https://a.example", "Access-Control-Request-Method": "GET"},
        )
    assert answer.headers["Access-Control-Allow-Origin"] == "*"
    assert missing.status_code == 404
    assert missing.headers["Access-Control-Allow-Origin"] == "*"  # errors are readable too
    assert preflight.status_code == 204
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


async def test_cors_can_be_restricted_to_listed_origins(serve_api: Any) -> None:
    async with serve_api(cors_origins=["https://ok.example"]) as api:
        allowed = await api.get("/healthz", headers={"Origin": "https://ok.example"})
        refused = await api.get("/healthz", headers={"Origin": "https://evil.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    assert allowed.headers["Vary"] == "Origin"
    assert "Access-Control-Allow-Origin" not in refused.headers


async def test_a_request_body_over_the_limit_is_413(serve_api: Any) -> None:
    async with serve_api(max_body_bytes=100) as api:
        response = await api.client.request("GET", "/v1/registries", content=b"x" * 101)
    assert response.status_code == 413
    assert response.json()["error"] == "request_too_large"


def test_a_query_past_its_deadline_is_stopped(readonly: sa.Engine) -> None:
    reader = Reader(readonly, threads=1, timeout=0.3)
    try:
        with pytest.raises(QueryTimeoutError, match=r"longer than 0\.3 s"):
            reader.call(Db.values, ENDLESS)
        # The connection is usable afterwards.
        assert reader.call(Db.ping) is True
    finally:
        reader.close()


async def test_a_slow_lookup_is_answered_503(
    serve_api: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    def endless(db: Db, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        db.values(ENDLESS)
        raise AssertionError("the deadline should have stopped the query")

    monkeypatch.setattr(Db, "overlap_page", endless)
    async with serve_api(query_timeout=0.3) as api:
        response = await api.get("/v1/serials/vcs::1120")
        healthy = await api.get("/healthz")
    assert response.status_code == 503
    assert response.json()["error"] == "query_timeout"
    assert response.headers["Retry-After"] == "1"
    assert healthy.status_code == 200


def test_the_api_engine_cannot_write(readonly: sa.Engine, world: World) -> None:
    reader = Reader(readonly, threads=1, timeout=5)
    try:
        with pytest.raises(Exception, match=r"(?i)read.only|readonly"):
            reader.call(Db.execute, "DELETE FROM unit_block")
    finally:
        reader.close()
    with world.engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM unit_block").scalar() == 6


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/v1/blocks", {"scheme": "vcs\x00"}, "scheme"),
        ("/v1/serials/vcs:%00:5", {}, "path"),
        ("/v1/log/leaves", {"registry": "verra", "record_id": "v\x01"}, "record_id"),
    ],
)
async def test_control_characters_are_refused_before_any_route(
    api: Any, path: str, params: dict[str, str], field: str
) -> None:
    response = await api.get(path, params=params)
    assert response.status_code == 400
    assert response.json()["field"] == field
    assert "control character" in response.json()["message"]
