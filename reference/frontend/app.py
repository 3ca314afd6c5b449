"""What nginx does for the real SPA: fallback routing, immutable assets, 404 for missing ones."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

STATIC = Path(__file__).parent / "static"
_HTML_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-cache",
}
_ASSET_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "public, max-age=31536000, immutable",
}


def build_app() -> Starlette:
    assets = {p.name: p for p in (STATIC / "assets").iterdir() if p.is_file()}
    index = STATIC / "index.html"

    async def page(request: Request) -> Response:
        path = request.url.path
        if path.startswith("/assets/"):
            # Never answer a missing asset with the SPA: a stale hashed name must 404.
            asset = assets.get(path.removeprefix("/assets/"))
            if asset is None:
                return PlainTextResponse("Not Found", status_code=404,
                                         headers={"X-Content-Type-Options": "nosniff"})
            return FileResponse(asset, headers=_ASSET_HEADERS)
        return FileResponse(index, media_type="text/html", headers=_HTML_HEADERS)

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "HEAD"])])
