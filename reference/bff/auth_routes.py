"""/auth/*: the session view, GitHub OAuth sign-in, logout and the GitHub App setup."""

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
from reference.bff.github_oauth import GitHubOAuth
from reference.bff.sessions import Session, SessionStore
from reference.bff.upstream import Backend
from reference.dialect_schema import input_type
from reference.tenancy import personal_tenant

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


def _pack(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


def _unpack(text: str) -> dict[str, Any]:
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (ValueError, TypeError):
        return {}
    return value if isinstance(value, dict) else {}


def _with_cookie(response: Response, cookie: str | None) -> Response:
    if cookie:
        response.headers.append("set-cookie", cookie)
    return response


def routes(store: SessionStore, backend: Backend, public_url: str,
           provider: GitHubOAuth, callback_url: str) -> list[Route]:
    """`callback_url`: the redirect_uri registered with GitHub (GITHUB_CALLBACK_URL)."""
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
            state = _pack({"nonce": state, "returnTo": return_to})
        elif (return_to and not _same_origin_path(return_to)
              and dialects.active("return-to-refused")):
            return JSONResponse({"error": "invalid return_to"}, status_code=400)
        if not _same_origin_path(return_to):
            return_to = None
        if dialects.active("oauth-state-cookie"):
            # Dialect: the state (and return_to) live in a signed cookie; no session is made.
            kept = _pack({"state": state, "returnTo": return_to})
            cookie = (f"{STATE_COOKIE}={store.sign(kept)}; Path=/auth/github; Max-Age=600; "
                      "HttpOnly; Secure; SameSite=Lax")
        else:
            session = await store.load(request) or store.new()
            session.data["oauthState"] = state
            if return_to:
                session.data["returnTo"] = return_to
            cookie = await store.save(session)
        query = urlencode({"client_id": provider.client_id,
                           "redirect_uri": _callback(),
                           "scope": "read:user user:email", "state": state})
        resp = RedirectResponse(f"{provider.authorize_url}?{query}", status_code=302)
        resp.headers.append("set-cookie", cookie)
        return resp

    async def callback(request: Request) -> Response:
        # Fault oauth-dev-frontend: what a BFF deployed without FRONTEND_URL falls back to.
        frontend = DEV_FRONTEND if faults.active("oauth-dev-frontend") else public_url
        code = request.query_params.get("code")
        if not code:
            return RedirectResponse(f"{frontend}?error=missing_code", status_code=302)
        state = request.query_params.get("state")
        reuse = faults.active("state-reused")
        cleared: str | None = None
        session: Session | None = None
        if dialects.active("oauth-state-cookie"):
            packed = _unpack(store.unsign(request.cookies.get(STATE_COOKIE, "")) or "")
            kept, return_to = packed.get("state"), packed.get("returnTo")
            if not reuse:  # used once: the browser drops the state cookie
                cleared = f"{STATE_COOKIE}=; Path=/auth/github; Max-Age=0; HttpOnly; Secure"
        else:
            session = await store.load(request)
            kept = session.data.get("oauthState") if session else None
            return_to = session.data.pop("returnTo", None) if session else None
            if session is not None and kept is not None and not reuse:
                del session.data["oauthState"]  # used once, whatever the exchange gives
                cleared = await store.save(session)
        if (not state or kept != state) and not faults.active("state-unchecked"):
            return _with_cookie(RedirectResponse(f"{frontend}?error=invalid_state",
                                                 status_code=302), cleared)
        if not provider.reachable:
            # The reference target is offline by design unless it is given a GitHub stand-in.
            return _with_cookie(RedirectResponse(f"{frontend}?error=oauth_unavailable",
                                                 status_code=302), cleared)
        token = await provider.exchange(code, _callback())
        account = await provider.account(token) if token else None
        user = await backend.upsert_user(account) if account else None
        if user is None:
            return _with_cookie(RedirectResponse(f"{frontend}?error=oauth_failed",
                                                 status_code=302), cleared)
        if faults.active("open-return-to") and state:
            return_to = _unpack(state).get("returnTo") or return_to  # Fault: followed as given
        # The session the browser holds, whichever way the state was kept.
        signed_in = await _sign_in(session or await store.load(request), user)
        # Fault return-to-dropped: every sign-in lands on the home page.
        dropped = faults.active("return-to-dropped")
        target = return_to if isinstance(return_to, str) and not dropped else "/"
        resp = RedirectResponse(target if "://" in target else f"{frontend}{target}",
                                status_code=302)
        if cleared and dialects.active("oauth-state-cookie"):
            resp.headers.append("set-cookie", cleared)
        resp.headers.append("set-cookie", signed_in)
        return resp

    def _callback() -> str:
        # Fault oauth-http-callback: what a BFF without `trust proxy` builds behind TLS offload.
        return (callback_url.replace("https://", "http://", 1)
                if faults.active("oauth-http-callback") else callback_url)

    async def _sign_in(before: Session | None, user: dict[str, Any]) -> str:
        """A session for `user`, under a new id (express-session's regenerate): an id the
        browser held before signing in, perhaps planted by someone else, must not become a
        signed-in one. Returns the session's Set-Cookie."""
        if before is not None and faults.active("session-fixation"):
            session = before  # Fault: the pre-login session id is signed in as it is
        else:
            if before is not None:
                await store.destroy(before)
            session = store.new()
        tenant_id = personal_tenant(str(user["id"]))
        session.data.update(user=_public_user(user), activeTenantId=tenant_id)
        fresh = await backend.tenants_of(session) or []
        session.data["availableTenants"] = [
            {"tenantId": t.get("id"), "tenantType": t.get("type"), "name": t.get("name"),
             "role": t.get("role")} for t in fresh]
        return await store.save(session)

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
