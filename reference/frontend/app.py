"""What nginx does for the real SPA: fallback routing, immutable assets, 404 for missing ones."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from reference import faults

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


def _not_found() -> Response:
    return PlainTextResponse("Not Found", status_code=404,
                             headers={"X-Content-Type-Options": "nosniff"})


def build_app() -> Starlette:
    assets = {p.name: p for p in (STATIC / "assets").iterdir() if p.is_file()}
    index = STATIC / "index.html"
    html_headers = dict(_HTML_HEADERS)
    if faults.active("spa-frameable"):
        del html_headers["X-Frame-Options"]  # Fault: any site may frame the app (clickjacking).
    if faults.active("spa-sniffable"):
        del html_headers["X-Content-Type-Options"]  # Fault: browsers may sniff the type.
    asset_headers = dict(_ASSET_HEADERS)
    if faults.active("mutable-assets"):
        # Fault: browsers revalidate hashed files that can never change.
        asset_headers["Cache-Control"] = "max-age=3600"

    async def page(request: Request) -> Response:
        path = request.url.path
        if path.startswith("/assets/"):
            # Never answer a missing asset with the SPA: a stale hashed name must 404.
            asset = assets.get(path.removeprefix("/assets/"))
            if asset is None and not faults.active("asset-fallback"):
                return _not_found()
            if asset is not None:
                return FileResponse(asset, headers=asset_headers)
        elif path not in ("/", "/index.html") and faults.active("spa-fallback-off"):
            return _not_found()  # Fault: deep links and reloads on app routes break.
        return FileResponse(index, media_type="text/html", headers=html_headers)

    return Starlette(routes=[Route("/{path:path}", page, methods=["GET", "HEAD"])])
