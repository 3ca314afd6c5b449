"""POST /webhook/github: HMAC-SHA256 over the raw body, then the backend records the event."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference import dialects, faults
from reference.bff.upstream import Backend
from reference.dialect_schema import input_type


def _installation_call(action: str, installation: dict[str, Any]) -> dict[str, Any]:
    """The backend call that records an installation event, in this schema's input shape."""
    account = installation.get("account") or {}
    event: dict[str, Any]
    if dialects.active("webhook-input-shape"):
        event = {"action": action, "installation": {
            "id": int(installation["id"]), "account": {
                "id": str(account.get("id", "")), "login": str(account.get("login") or ""),
                "type": str(account.get("type") or "")}}}
    else:
        event = {"action": action, "installationId": int(installation["id"]),
                 "accountLogin": account.get("login"), "accountId": str(account.get("id", "")),
                 "accountType": account.get("type")}
    query = (f"mutation($i: {input_type('handleGitHubInstallationWebhook')}!) "
             "{ handleGitHubInstallationWebhook(input: $i) { success } }")
    return {"query": query, "variables": {"i": event}}


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
            await backend.graphql(_installation_call(str(payload.get("action", "")),
                                                     installation), backend.service_token())
        return JSONResponse({"ok": True, "event": event})

    return [Route("/webhook/github", github, methods=["POST"])]
