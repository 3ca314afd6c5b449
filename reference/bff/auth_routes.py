"""/auth/*: the session view and the GitHub OAuth entry points (no outbound calls)."""

from __future__ import annotations

import base64
import itertools
import json
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from reference import dialects, faults
from reference.bff.sessions import Session, SessionStore
from reference.bff.upstream import Backend
from reference.dialect_schema import input_type

AUTHORIZE_URL = "https://github.com/login/oauth/authorize"
DEV_FRONTEND = "http://localhost:5173"  # the Vite dev server
STATE_COOKIE = "vv_oauth_state"


def _public_user(user: dict[str, Any]) -> dict[str, Any]:
    keys = ("id", "githubId", "githubLogin", "displayName", "avatarUrl", "email", "settings",
            "createdAt", "updatedAt")
    return {k: user.get(k) for k in keys}


def _tenant_view(t: dict[str, Any]) -> dict[str, Any]:
    return {"id": t.get("id") or t.get("tenantId"), "name": t.get("name"),
            "type": t.get("type") or t.get("tenantType"), "role": t.get("role")}


_COUNTER = itertools.count()


def _new_state() -> str:
    if faults.active("predictable-state"):
        # Fault: a state from the clock and a counter, which anyone can guess.
        return f"{int(time.time())}{next(_COUNTER) % 10000:04d}"
    return secrets.token_urlsafe(16)


def _same_origin_path(return_to: str | None) -> bool:
    """Only a path on this origin: not `//host`, not `/\\host` (browsers read `\\` as `/`)."""
    return bool(return_to and return_to.startswith("/") and not return_to.startswith("//")
                and "\\" not in return_to)


def routes(store: SessionStore, backend: Backend, public_url: str, client_id: str) -> list[Route]:
    async def me(request: Request) -> Response:
        session = await store.load(request)
        user = session.user if session else None
        if session is None or user is None:
            resp = JSONResponse({"user": None, "availableTenants": [], "activeTenant": None})
            if session is None and faults.active("session-for-everyone"):
                # Fault: a stored session per visitor, which lets anyone fill the store.
                resp.headers.append("set-cookie", await store.save(store.new()))
            return resp
        fresh = await backend.tenants_of(session)
        tenants = [_tenant_view(t) for t in (
            fresh if fresh is not None else session.data.get("availableTenants") or [])]
        active_id = session.data.get("activeTenantId")
        active = next((t for t in tenants if t["id"] == active_id), None)
        return JSONResponse({"user": _public_user(user), "availableTenants": tenants,
                             "activeTenant": active})

    async def github(request: Request) -> Response:
        state = _new_state()
        return_to = request.query_params.get("return_to")
        if faults.active("open-return-to") and return_to:
            # Fault: return_to packed into the state as given, for the callback to follow.
            state = base64.urlsafe_b64encode(json.dumps(
                {"nonce": state, "returnTo": return_to}).encode()).decode().rstrip("=")
        if not _same_origin_path(return_to):
            return_to = None
        if dialects.active("oauth-state-cookie"):
            # Dialect: the state lives in a signed cookie of its own; no session is made.
            cookie = (f"{STATE_COOKIE}={store.sign(state)}; Path=/auth/github; Max-Age=600; "
                      "HttpOnly; Secure; SameSite=Lax")
        else:
            session = await store.load(request) or store.new()
            session.data["oauthState"] = state
            if return_to:
                session.data["returnTo"] = return_to
            cookie = await store.save(session)
        # Fault oauth-http-callback: what a BFF without `trust proxy` builds behind TLS offload.
        callback_base = (public_url.replace("https://", "http://", 1)
                         if faults.active("oauth-http-callback") else public_url)
        query = urlencode({"client_id": client_id,
                           "redirect_uri": f"{callback_base}/auth/github/callback",
                           "scope": "read:user user:email", "state": state})
        resp = RedirectResponse(f"{AUTHORIZE_URL}?{query}", status_code=302)
        resp.headers.append("set-cookie", cookie)
        return resp

    async def callback(request: Request) -> Response:
        # Fault oauth-dev-frontend: what a BFF deployed without FRONTEND_URL falls back to.
        frontend = DEV_FRONTEND if faults.active("oauth-dev-frontend") else public_url
        if not request.query_params.get("code"):
            return RedirectResponse(f"{frontend}?error=missing_code", status_code=302)
        state = request.query_params.get("state")
        reuse = faults.active("state-reused")
        cleared: str | None = None
        if dialects.active("oauth-state-cookie"):
            kept = store.unsign(request.cookies.get(STATE_COOKIE, ""))
            if not reuse:  # used once: the browser drops the state cookie
                cleared = f"{STATE_COOKIE}=; Path=/auth/github; Max-Age=0; HttpOnly; Secure"
        else:
            session = await store.load(request)
            kept = session.data.get("oauthState") if session else None
            if session is not None and kept is not None and not reuse:
                del session.data["oauthState"]  # used once, whatever the exchange gives
                cleared = await store.save(session)
        if (not state or kept != state) and not faults.active("state-unchecked"):
            resp = RedirectResponse(f"{frontend}?error=invalid_state", status_code=302)
        else:
            # Exchanging the code needs github.com; the reference target is offline by design.
            resp = RedirectResponse(f"{frontend}?error=oauth_unavailable", status_code=302)
        if cleared:
            resp.headers.append("set-cookie", cleared)
        return resp

    async def logout(request: Request) -> Response:
        session = await store.load(request)
        resp = JSONResponse({"success": True})
        resp.headers.append("set-cookie", await store.destroy(session))
        return resp

    async def setup(request: Request) -> Response:
        installation = request.query_params.get("installation_id", "")
        session: Session | None = await store.load(request)
        if session is None or session.user is None:
            if faults.active("setup-skips-login"):
                # Fault: the caller is told the setup worked without ever signing in.
                return RedirectResponse(f"{public_url}?installation=complete", status_code=302)
            back = f"/auth/setup?{urlencode({'installation_id': installation})}"
            return RedirectResponse(f"/auth/github?{urlencode({'return_to': back})}",
                                    status_code=302)
        if not installation.isdigit():
            return RedirectResponse(f"{public_url}?error=invalid_installation", status_code=302)
        mutation = (f"mutation($i: {input_type('completeInstallationSetup')}!) "
                    "{ completeInstallationSetup(input: $i) { success } }")
        action = request.query_params.get("setup_action", "install")
        shaped = dialects.active("webhook-input-shape")
        variables = {"i": {"userId": session.user["id"],
                           "installationId": installation if shaped else int(installation),
                           "setupAction": action.upper() if shaped else action}}
        await backend.graphql({"query": mutation, "variables": variables},
                              backend.token_for(session))
        return RedirectResponse(f"{public_url}?installation=complete", status_code=302)

    return [
        Route("/auth/me", me),
        Route("/auth/github", github),
        Route("/auth/github/callback", callback),
        Route("/auth/logout", logout, methods=["POST"]),
        Route("/auth/setup", setup),
    ]
