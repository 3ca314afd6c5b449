"""What nginx does for the real SPA: fallback routing, immutable assets, 404 for missing ones."""

from __future__ import annotations

from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import Route

from reference import faults

STATIC = Path(__file__).parent / "static"
# What every answer carries (nginx `add_header ... always` at server level).
_EVERY = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}
_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:;"
        " connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self';"
        " frame-ancestors 'none'")
_HTML_HEADERS = {**_EVERY, "Content-Security-Policy": _CSP, "Cache-Control": "no-cache"}
_ASSET_HEADERS = {**_EVERY, "Cache-Control": "public, max-age=31536000, immutable"}


def build_app() -> Starlette:
    assets = {p.name: p for p in (STATIC / "assets").iterdir() if p.is_file()}
    index = STATIC / "index.html"
    html_headers = dict(_HTML_HEADERS)
    if faults.active("spa-frameable"):
        # Fault: any site may frame the app (clickjacking).
        del html_headers["X-Frame-Options"]
        html_headers["Content-Security-Policy"] = _CSP.replace("; frame-ancestors 'none'", "")
    if faults.active("spa-sniffable"):
        del html_headers["X-Content-Type-Options"]  # Fault: browsers may sniff the type.
    if faults.active("spa-no-csp"):
        del html_headers["Content-Security-Policy"]  # Fault: nothing limits injected scripts.
    asset_headers = dict(_ASSET_HEADERS)
    missing_headers = dict(_EVERY)
    if faults.active("bare-assets"):
        # Fault: nginx's add_header inheritance: a location with its own add_header (the
        # cache header) drops the server-level ones, on assets and their 404 alike.
        asset_headers = {"Cache-Control": asset_headers["Cache-Control"]}
        missing_headers = {}
    if faults.active("mutable-assets"):
        # Fault: browsers revalidate hashed files that can never change.
        asset_headers["Cache-Control"] = "max-age=3600"
    if faults.active("server-banner"):
        # Fault: server_tokens on: every answer names the server and its version.
        for headers in (html_headers, asset_headers, missing_headers):
            headers["Server"] = "nginx/1.25.3"

    def _not_found() -> Response:
        return PlainTextResponse("Not Found", status_code=404, headers=missing_headers)

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
