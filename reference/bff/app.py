"""The BFF application: routes, security middleware, Mongo session store, readiness."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from pymongo import MongoClient
from starlette.applications import Starlette
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference import dialects, faults
from reference.bff import auth_routes, graphql, webhook
from reference.bff.github_oauth import CLIENT_ID, GitHubOAuth
from reference.bff.security import SecurityMiddleware
from reference.bff.sessions import COOKIE_NAME, SessionStore
from reference.bff.upstream import Backend
from reference.readiness import set_up_then_ready
from reference.runtime import Runtime
from reference.tenancy import SESSION_DB, ensure_session_indexes

log = logging.getLogger("vinylvault.bff")


def rolling(store: SessionStore) -> Any:
    """Dialect rolling-sessions: an answer to a signed-in caller sets the cookie again, with
    the session extended, unless the route itself set (or cleared) it."""
    async def dispatch(request: Request, call_next: Any) -> Response:
        before = await store.load(request)
        response: Response = await call_next(request)
        sets = any(v.startswith(f"{COOKIE_NAME}=") for k, v in response.headers.items()
                   if k == "set-cookie")
        if before is not None and before.user is not None and not sets:
            current = await store.load(request)  # the route may have ended it
            if current is not None:
                response.headers.append("set-cookie", await store.renew(current))
        return response
    return dispatch


def build_app(rt: Runtime) -> Starlette:
    client: MongoClient[Any] = MongoClient(
        rt.secret("MONGODB_BFF_URI"), tz_aware=True, serverSelectionTimeoutMS=3000,
        connect=False,
    )
    store = SessionStore(client[SESSION_DB].sessions, rt.secret("SESSION_SECRET"))
    backend = Backend(rt.backend_url, rt.secret("JWT_SECRET"))
    # A pod names its OAuth app (GITHUB_CLIENT_ID); the process target's stand-in knows ours.
    github = GitHubOAuth(rt.secrets.get("GITHUB_CLIENT_ID") or CLIENT_ID,
                         rt.secrets.get("GITHUB_CLIENT_SECRET"))
    ready = asyncio.Event()  # the session store is set up
    # The backend has answered once: a BFF that never reached it cannot serve GraphQL, so it
    # is not ready yet (a NetworkPolicy that blocks the flow keeps its pods out of Service);
    # once it has, later backend outages do not take the BFF out (no cascade).
    reached = asyncio.Event()

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(set_up_then_ready(
                     lambda: ensure_session_indexes(client[SESSION_DB]), "session store",
                     ready, log)),
                 asyncio.create_task(backend.wait_until_it_answers(reached, log))]
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await backend.close()
            await github.close()
            client.close()

    started = time.monotonic()

    async def health(_: Request) -> Response:
        if faults.active("health-shape"):
            return JSONResponse({"status": "ok"})  # Fault: the contract's timestamp is missing.
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        body: dict[str, Any] = {"status": "ok", "timestamp": now}
        if dialects.active("health-details"):
            body |= {"version": "1.4.2", "uptimeSeconds": round(time.monotonic() - started),
                     "checks": {"mongodb": "ok" if ready.is_set() else "starting"}}
        return JSONResponse(body)

    async def readiness(_: Request) -> Response:
        if ready.is_set() and reached.is_set():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "starting"}, status_code=503)

    routes = [
        Route("/health", health),
        Route("/ready", readiness),
        *auth_routes.routes(store, backend, rt.public_url, github, rt.callback_url),
        *webhook.routes(rt.secret("GITHUB_APP_WEBHOOK_SECRET"), backend),
        *graphql.routes(store, backend, introspection=rt.development),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    if dialects.active("rolling-sessions"):
        app.add_middleware(BaseHTTPMiddleware, dispatch=rolling(store))
    app.add_middleware(SecurityMiddleware, frontend_url=rt.public_url)
    return app
