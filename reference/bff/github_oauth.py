"""The BFF's side of GitHub's OAuth web flow: the authorize URL, the code exchange, the account.

Where GitHub lives comes from the environment, so the local target can point the BFF at its
stand-in (reference.github_stand_in); without it the BFF makes no outbound call at all.
"""

from __future__ import annotations

import os
from typing import Any

import httpx

GITHUB_WEB = "https://github.com"
CLIENT_ID = "Iv1.vinylvaultlocal"  # not a secret: every authorize URL shows it
WEB_ENV, API_ENV = "VV_GITHUB_WEB_URL", "VV_GITHUB_API_URL"


class GitHubOAuth:
    def __init__(self, client_id: str, client_secret: str | None) -> None:
        self.client_id = client_id
        self._secret = client_secret
        self.web_url = os.environ.get(WEB_ENV, GITHUB_WEB).rstrip("/")
        api_url = os.environ.get(API_ENV)
        self._client = (httpx.AsyncClient(base_url=api_url, timeout=10.0, trust_env=False)
                        if api_url and client_secret else None)

    @property
    def authorize_url(self) -> str:
        return f"{self.web_url}/login/oauth/authorize"

    @property
    def reachable(self) -> bool:
        """Whether this BFF may exchange codes at all (the reference is offline otherwise)."""
        return self._client is not None

    async def exchange(self, code: str, redirect_uri: str) -> str | None:
        """The access token for `code`, or None when GitHub refuses it."""
        if self._client is None:
            return None
        try:
            resp = await self._client.post(
                f"{self.web_url}/login/oauth/access_token",
                data={"client_id": self.client_id, "client_secret": self._secret,
                      "code": code, "redirect_uri": redirect_uri},
                headers={"accept": "application/json"})
            token = resp.json().get("access_token")
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        return token if isinstance(token, str) and token else None

    async def account(self, token: str) -> dict[str, Any] | None:
        """The signed-in account: GitHub's `/user`, with the primary email if it hides it."""
        if self._client is None:
            return None
        headers = {"authorization": f"Bearer {token}", "accept": "application/vnd.github+json"}
        try:
            user = (await self._client.get("/user", headers=headers)).json()
            if isinstance(user, dict) and not user.get("email"):
                emails = (await self._client.get("/user/emails", headers=headers)).json()
                user["email"] = next((e.get("email") for e in emails if e.get("primary")), None)
        except (httpx.HTTPError, ValueError, AttributeError, TypeError):
            return None
        return user if isinstance(user, dict) and user.get("id") and user.get("login") else None

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
