"""Calls from the BFF to the backend, authenticated with a short-lived HS256 JWT."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import httpx

from reference import signing
from reference.bff.sessions import Session
from reference.dialect_schema import arg_type, input_type

REACH_TIMEOUT_S = 2.0
USER_FIELDS = "id githubId githubLogin displayName avatarUrl email createdAt updatedAt " \
    "settings { spotifyPreview allowFriendInvites }"


class Backend:
    def __init__(self, graphql_url: str, jwt_secret: str) -> None:
        """`graphql_url`: the backend's GraphQL endpoint, as BACKEND_URL names it in a pod."""
        self._secret = jwt_secret
        self.url = graphql_url
        self.client = httpx.AsyncClient(timeout=30.0, trust_env=False)

    def token_for(self, session: Session | None) -> str | None:
        user = session.user if session else None
        if session is None or user is None:
            return None
        active = session.data.get("activeTenantId")
        role = next((t.get("role") for t in session.data.get("availableTenants") or []
                     if t.get("tenantId") == active), None)
        claims = {"sub": user["id"], "username": user.get("githubLogin"),
                  "githubLogin": user.get("githubLogin"), "tenantId": active, "tenantRole": role}
        return signing.jwt_encode(claims, self._secret)

    def service_token(self) -> str:
        return signing.jwt_encode({"sub": "bff", "svc": "bff"}, self._secret, ttl_s=60)

    async def wait_until_it_answers(self, reached: asyncio.Event, log: logging.Logger) -> None:
        """Set `reached` once the backend answers at all (any HTTP status will do)."""
        said = None
        while True:
            try:
                await self.client.post(self.url, json={"query": "{ __typename }"},
                                       headers={"content-type": "application/json"},
                                       timeout=REACH_TIMEOUT_S)
                reached.set()
                return
            except httpx.HTTPError as exc:
                if type(exc).__name__ != said:  # once per kind of failure, not per attempt
                    said = type(exc).__name__
                    log.warning("backend %s not reachable yet: %s", self.url, said)
            await asyncio.sleep(0.5)

    async def graphql(self, body: dict[str, Any], token: str | None) -> httpx.Response:
        # A client's own Authorization header is never forwarded: only our token goes out.
        headers = {"content-type": "application/json"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        return await self.client.post(self.url, json=body, headers=headers)

    async def tenants_of(self, session: Session) -> list[dict[str, Any]] | None:
        """The user's current tenants and roles, fresh from the registry; None if unknown."""
        user = session.user
        if user is None:
            return None
        query = (f"query($id: {arg_type('userTenants', 'userId')}) "
                 "{ userTenants(userId: $id) { id name type role } }")
        try:
            resp = await self.graphql({"query": query, "variables": {"id": user["id"]}},
                                      self.token_for(session))
            data = resp.json().get("data") or {}
        except (httpx.HTTPError, ValueError):
            return None
        tenants = data.get("userTenants")
        return tenants if isinstance(tenants, list) else None

    async def upsert_user(self, account: dict[str, Any]) -> dict[str, Any] | None:
        """The registry's user for a GitHub account, created (with its personal tenant) on the
        first sign-in; the BFF asks as itself, for nobody is signed in yet."""
        mutation = (f"mutation($i: {input_type('upsertUser')}!) "
                    f"{{ upsertUser(input: $i) {{ {USER_FIELDS} }} }}")
        variables = {"i": {"githubId": str(account["id"]), "githubLogin": account["login"],
                           "displayName": account.get("name") or account["login"],
                           "avatarUrl": account.get("avatar_url"),
                           "email": account.get("email")}}
        try:
            resp = await self.graphql({"query": mutation, "variables": variables},
                                      self.service_token())
            user = (resp.json().get("data") or {}).get("upsertUser")
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        return user if isinstance(user, dict) and user.get("id") else None

    async def close(self) -> None:
        await self.client.aclose()
