"""Fixtures of the API tests: the small world of ``world.py`` on the run's database backend,
and the real app served on a free local port, reached over HTTP."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from aiohttp import web
from api_world import Api, World, build_world

from metaregistry.api.app import create_app
from metaregistry.index.db import create_engine
from metaregistry.settings import settings_from


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def world(engine: sa.Engine, tmp_path: Path) -> World:
    return build_world(engine, tmp_path)


@pytest.fixture
def readonly(world: World) -> Iterator[sa.Engine]:
    ro = create_engine(world.engine.url.render_as_string(hide_password=False), readonly=True)
    yield ro
    ro.dispose()


ServeApi = Callable[..., contextlib.AbstractAsyncContextManager[Api]]


@pytest.fixture
def serve_api(readonly: sa.Engine, world: World, free_port: int) -> ServeApi:
    """``async with serve_api(rate_limit=0, ...) as api``: the app with ``[api]`` settings."""

    @contextlib.asynccontextmanager
    async def serve(**api_settings: Any) -> AsyncIterator[Api]:
        raw = {
            "database_url": readonly.url.render_as_string(hide_password=False),
            "api": {"rate_limit": 0, **api_settings},
        }
        app = create_app(settings_from(raw), engine=readonly, signer=world.signer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", free_port).start()
        api = Api(app, f"http://127.0.0.1:{free_port}")
        try:
            yield api
        finally:
            await api.client.aclose()
            await runner.cleanup()

    return serve


@pytest.fixture
async def api(serve_api: ServeApi) -> AsyncIterator[Api]:
    async with serve_api() as running:
        yield running
