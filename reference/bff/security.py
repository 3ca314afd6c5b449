"""helmet-equivalent headers, fixed-origin CORS and per-IP rate limits, as ASGI middleware."""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from reference import faults

WINDOW_S = 15 * 60

_HELMET = {
    "content-security-policy": (
        "default-src 'self';base-uri 'self';font-src 'self' https: data:;"
        "form-action 'self';frame-ancestors 'self';img-src 'self' data:;object-src 'none';"
        "script-src 'self';script-src-attr 'none';style-src 'self' https: 'unsafe-inline';"
        "upgrade-insecure-requests"
    ),
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "origin-agent-cluster": "?1",
    "referrer-policy": "no-referrer",
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-dns-prefetch-control": "off",
    "x-download-options": "noopen",
    "x-frame-options": "SAMEORIGIN",
    "x-permitted-cross-domain-policies": "none",
    "x-xss-protection": "0",
}


def client_ip(scope: Scope) -> str:
    """`trust proxy 1`: the address the one trusted proxy (Traefik) saw, else the peer."""
    forwarded = Headers(scope=scope).get("x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[-1].strip()
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


@dataclass(frozen=True)
class Limit:
    name: str
    limit: int


def limit_for(path: str) -> Limit | None:
    if path == "/auth/me":
        return Limit("me", 1000)
    if path == "/auth" or path.startswith("/auth/"):
        return Limit("auth", 100)
    if path == "/graphql":
        # Fault loose-graphql-limit: a tenfold limit, which makes the API easy to scrape.
        return Limit("graphql", 4000 if faults.active("loose-graphql-limit") else 400)
    return None  # /health, /ready, /webhook: unlimited


class RateLimiter:
    """Fixed 15-minute windows per (limit, client IP), like express-rate-limit's MemoryStore."""

    def __init__(self) -> None:
        self._hits: dict[tuple[str, str], tuple[float, int]] = {}

    def hit(self, limit: Limit, ip: str) -> tuple[int, int]:
        """(used, seconds until reset) after counting this request."""
        now = time.monotonic()
        start, used = self._hits.get((limit.name, ip), (now, 0))
        if now - start >= WINDOW_S:
            start, used = now, 0
        used += 1
        self._hits[(limit.name, ip)] = (start, used)
        if len(self._hits) > 100_000:  # bound memory under a flood of source addresses
            self._hits = {k: v for k, v in self._hits.items() if now - v[0] < WINDOW_S}
        return used, max(0, min(WINDOW_S, math.ceil(start + WINDOW_S - now)))


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, frontend_url: str) -> None:
        self.app = app
        self.frontend_url = frontend_url
        self.limiter = RateLimiter()

    def _headers(self, request_headers: Headers) -> dict[str, str]:
        out = dict(_HELMET)
        if faults.active("no-hsts"):
            del out["strict-transport-security"]
        if faults.active("powered-by"):
            out["x-powered-by"] = "Express"
        # One helmet header each, so every header check is shown to fail on its own.
        for fault, header in (("no-csp", "content-security-policy"),
                              ("no-nosniff", "x-content-type-options"),
                              ("no-coop", "cross-origin-opener-policy"),
                              ("no-corp", "cross-origin-resource-policy")):
            if faults.active(fault):
                del out[header]
        if faults.active("frameable"):
            # Both framing defences go: X-Frame-Options and CSP frame-ancestors.
            del out["x-frame-options"]
            if "content-security-policy" in out:  # no-csp may have removed it already
                out["content-security-policy"] = ";".join(
                    d for d in out["content-security-policy"].split(";")
                    if not d.startswith("frame-ancestors"))
        if faults.active("referrer-leak"):
            out["referrer-policy"] = "unsafe-url"
        if faults.active("weak-csp") and "content-security-policy" in out:
            # Fault: a policy that is there but allows any script, inline and eval included.
            out["content-security-policy"] = "default-src * 'unsafe-inline' 'unsafe-eval'"
        origin = request_headers.get("origin")
        # Fault cors-reflect: trust whatever Origin the request names.
        allowed = origin if faults.active("cors-reflect") and origin else self.frontend_url
        out["access-control-allow-origin"] = allowed
        if not faults.active("cors-no-credentials"):  # Fault: the SPA's fetches lose cookies.
            out["access-control-allow-credentials"] = "true"
        out["vary"] = "Origin"
        return out

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_headers = Headers(scope=scope)
        extra = self._headers(request_headers)
        if scope["method"] == "OPTIONS" and request_headers.get("access-control-request-method"):
            extra["access-control-allow-methods"] = "GET,HEAD,PUT,PATCH,POST,DELETE"
            requested = request_headers.get("access-control-request-headers")
            if requested:
                extra["access-control-allow-headers"] = requested
            await _send_plain(send, 204, b"", extra)
            return
        limit = limit_for(scope["path"])
        if limit is not None:
            used, reset = self.limiter.hit(limit, client_ip(scope))
            # Fault no-ratelimit-headers: the limit holds, but clients cannot see it coming.
            if not faults.active("no-ratelimit-headers"):
                extra["ratelimit-policy"] = f"{limit.limit};w={WINDOW_S}"
                extra["ratelimit"] = (
                    f"limit={limit.limit}, remaining={max(0, limit.limit - used)}, reset={reset}"
                )
            if used > limit.limit:
                extra["retry-after"] = str(reset)
                body = json.dumps({"error": "Too many requests, please try again later."})
                await _send_plain(send, 429, body.encode(), extra, "application/json")
                return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for key, value in _for_response(extra, scope["path"], message["status"]).items():
                    if key == "vary" and "vary" in headers:
                        headers["vary"] = headers["vary"] + ", Origin"
                    else:
                        headers[key] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _for_response(extra: dict[str, str], path: str, status: int) -> dict[str, str]:
    """The headers one answer gets; the faults here break only some classes of answer."""
    out = dict(extra)
    if faults.active("graphql-no-hsts") and path == "/graphql":
        out.pop("strict-transport-security", None)  # Fault: HSTS on every route but the API's.
    if faults.active("bare-errors") and status >= 400:
        # Fault: an error handler that answers before helmet: CORS and limits only.
        out = {k: v for k, v in out.items() if k not in _HELMET}
    return out


async def _send_plain(send: Send, status: int, body: bytes, headers: dict[str, str],
                      content_type: str = "text/plain; charset=utf-8") -> None:
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    raw.append((b"content-length", str(len(body)).encode()))
    if body:
        raw.append((b"content-type", content_type.encode()))
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
