"""The web page at ``/``: plain HTML, JavaScript and CSS shipped in the package (no build
step). It calls the public API like any other client: ``/v1/serials/...`` for a search and
``/v1/alerts`` for the alert feed (hidden when the feed is not mounted)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

from aiohttp import web

__all__ = ["STATIC", "add_routes"]

STATIC: Final = Path(__file__).parent / "static"
_INDEX: Final = "index.html"


def add_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC, name="static")


async def index(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(
        STATIC / _INDEX,
        headers={"Content-Type": "text/html; charset=utf-8", "Cache-Control": "no-cache"},
    )
