"""GitHub's OAuth web flow and the two REST calls a sign-in makes, served on loopback.

This is a mock, and deliberately the only one: github.com is a true boundary the local target
cannot reach, so without it no local run could sign in the way a real user does. It keeps to
GitHub's documented behaviour where the BFF can observe it:

- `GET /login/oauth/authorize` checks `client_id` and the registered callback URL, then sends
  the browser back with `code` and the unchanged `state`. There is no consent page: it signs
  in the account the browser names in `login` (GitHub's own account hint), so a verifier
  chooses which account signs in.
- `POST /login/oauth/access_token` exchanges a code once, for the client that was issued it
  and with that client's secret; a bad code is a 200 with `error=bad_verification_code`.
- `GET /user` and `GET /user/emails` answer for the token's account.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

from reference.bff.github_oauth import CLIENT_ID  # the client registered with this stand-in
from reference.runtime import Runtime

DEFAULT_LOGIN = "vinylvault-local-user"
CODE_TTL_S = 600  # GitHub's codes expire after ten minutes
_LOGIN = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?$")


@dataclass(frozen=True)
class Grant:
    login: str
    redirect_uri: str
    issued: float


def account(login: str) -> dict[str, object]:
    """The account behind `login`, with the same numeric id on every sign-in."""
    number = int(hashlib.sha256(login.lower().encode()).hexdigest()[:7], 16)
    return {"id": 800_000_000 + number, "login": login, "name": f"Local user {login}",
            "avatar_url": f"https://avatars.githubusercontent.com/u/{800_000_000 + number}",
            "email": f"{login}@users.noreply.github.com", "type": "User"}


def build_app(rt: Runtime) -> Starlette:
    client_secret = rt.secret("GITHUB_CLIENT_SECRET")
    callback = f"{rt.public_url}/auth/github/callback"
    codes: dict[str, Grant] = {}
    tokens: dict[str, str] = {}

    async def authorize(request: Request) -> Response:
        q = request.query_params
        if q.get("client_id") != CLIENT_ID:
            return PlainTextResponse("unknown client_id", status_code=404)
        redirect_uri = q.get("redirect_uri") or callback
        if redirect_uri != callback:
            # GitHub refuses a callback other than the registered one, on its own page.
            return PlainTextResponse("The redirect_uri is not associated with this application.",
                                     status_code=400)
        login = q.get("login") or DEFAULT_LOGIN
        if not _LOGIN.fullmatch(login):
            return PlainTextResponse("not a GitHub login", status_code=400)
        code = secrets.token_hex(10)
        codes[code] = Grant(login, redirect_uri, time.monotonic())
        back = {"code": code, **({"state": q["state"]} if "state" in q else {})}
        return RedirectResponse(f"{redirect_uri}?{urlencode(back)}", status_code=302)

    async def access_token(request: Request) -> Response:
        body = await request.body()
        if "json" in request.headers.get("content-type", ""):
            form = json.loads(body or b"{}")
        else:  # form-encoded, as most OAuth clients send it
            form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        grant = codes.pop(str(form.get("code", "")), None)
        if form.get("client_id") != CLIENT_ID or form.get("client_secret") != client_secret:
            return JSONResponse({"error": "incorrect_client_credentials"})
        if grant is None or time.monotonic() - grant.issued > CODE_TTL_S or (
                form.get("redirect_uri") not in (None, grant.redirect_uri)):
            return JSONResponse({"error": "bad_verification_code",
                                 "error_description": "The code passed is incorrect or expired."})
        token = f"gho_{secrets.token_hex(18)}"
        tokens[token] = grant.login
        return JSONResponse({"access_token": token, "token_type": "bearer",
                             "scope": "read:user,user:email"})

    def _login_of(request: Request) -> str | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        return tokens.get(token) if scheme.lower() in ("bearer", "token") else None

    async def user(request: Request) -> Response:
        login = _login_of(request)
        if login is None:
            return JSONResponse({"message": "Requires authentication"}, status_code=401)
        return JSONResponse(account(login))

    async def emails(request: Request) -> Response:
        login = _login_of(request)
        if login is None:
            return JSONResponse({"message": "Requires authentication"}, status_code=401)
        return JSONResponse([{"email": account(login)["email"], "primary": True,
                              "verified": True, "visibility": "private"}])

    async def health(_: Request) -> Response:
        return JSONResponse({"status": "ok", "stands_in_for": "github.com"})

    return Starlette(routes=[
        Route("/login/oauth/authorize", authorize),
        Route("/login/oauth/access_token", access_token, methods=["POST"]),
        Route("/user", user),
        Route("/user/emails", emails),
        Route("/health", health),
    ])
