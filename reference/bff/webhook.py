"""POST /webhook/github: HMAC-SHA256 over the raw body, then the backend records the event."""

from __future__ import annotations

import hashlib
import hmac
import json

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference import faults
from reference.bff.upstream import Backend

_INSTALLATION_MUTATION = (
    "mutation($i: InstallationWebhookInput!) "
    "{ handleGitHubInstallationWebhook(input: $i) { success } }"
)


def valid_signature(secret: str, body: bytes, header: str | None) -> bool:
    if faults.active("unsigned-webhook"):
        return True  # Fault: anyone can post events.
    if not header or not header.startswith("sha256="):
        return False
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected.encode(), header.encode())


def routes(secret: str, backend: Backend) -> list[Route]:
    async def github(request: Request) -> Response:
        body = await request.body()
        if not valid_signature(secret, body, request.headers.get("x-hub-signature-256")):
            return JSONResponse({"error": "Invalid signature"}, status_code=401)
        try:
            payload = json.loads(body)
        except ValueError:
            return JSONResponse({"error": "Invalid JSON"}, status_code=400)
        event = request.headers.get("x-github-event", "")
        installation = payload.get("installation") if isinstance(payload, dict) else None
        if event == "installation" and isinstance(installation, dict) and "id" in installation:
            account = installation.get("account") or {}
            variables = {"i": {"action": str(payload.get("action", "")),
                               "installationId": int(installation["id"]),
                               "accountLogin": account.get("login"),
                               "accountId": str(account.get("id", "")),
                               "accountType": account.get("type")}}
            await backend.graphql({"query": _INSTALLATION_MUTATION, "variables": variables},
                                  backend.service_token())
        return JSONResponse({"ok": True, "event": event})

    return [Route("/webhook/github", github, methods=["POST"])]
