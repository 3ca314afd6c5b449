"""The public /graphql: Apollo-like checks here, switchTenant here, the rest on the backend."""

from __future__ import annotations

import inspect
import json
from typing import Any

import httpx
from ariadne import MutationType, QueryType, make_executable_schema
from graphql import ExecutionResult, FieldNode, GraphQLError, GraphQLResolveInfo, execute
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from reference import faults, gqlhttp
from reference.bff.sessions import Session, SessionStore
from reference.bff.upstream import Backend
from reference.dialect_schema import served_sdl

LOCAL_FIELDS = {"switchTenant"}


class _Ctx:
    def __init__(self, session: Session | None, store: SessionStore, backend: Backend) -> None:
        self.session = session
        self.store = store
        self.backend = backend
        self.set_cookie: str | None = None


mutation = MutationType()


@mutation.field("switchTenant")
async def _switch_tenant(_: Any, info: GraphQLResolveInfo[_Ctx], tenantId: str) -> dict[str, Any]:
    ctx: _Ctx = info.context
    session = ctx.session
    if session is None or session.user is None:
        raise GraphQLError("Not authenticated", extensions={"code": "UNAUTHENTICATED"})
    # Ask the registry, not the session: a role removed since login must not count.
    tenants = await ctx.backend.tenants_of(session)
    if tenants is None:
        raise GraphQLError("Could not verify tenant membership",
                           extensions={"code": "INTERNAL_SERVER_ERROR"})
    target = next((t for t in tenants if t.get("id") == tenantId), None)
    if target is None and faults.active("switch-any-tenant"):
        # Fault: any tenant id is taken at its word, role or not.
        kind = "ORGANIZATION" if tenantId.startswith("org_") else "USER"
        target = {"id": tenantId, "name": tenantId, "type": kind, "role": None}
    if target is None:
        raise GraphQLError("You have no role in this tenant", extensions={"code": "FORBIDDEN"})
    session.data["activeTenantId"] = tenantId
    session.data["availableTenants"] = [
        {"tenantId": t["id"], "tenantType": t["type"], "name": t["name"], "role": t["role"]}
        for t in tenants
    ]
    ctx.set_cookie = await ctx.store.save(session)
    return {"id": target["id"], "tenantId": target["id"], "name": target["name"],
            "type": target["type"], "role": target["role"]}


LOCAL_SCHEMA = make_executable_schema(served_sdl(), QueryType(), mutation)


def _root_fields(prepared: gqlhttp.Prepared) -> set[str]:
    return {s.name.value for s in prepared.operation.selection_set.selections
            if isinstance(s, FieldNode)}


def routes(store: SessionStore, backend: Backend, introspection: bool = False) -> list[Route]:
    """`introspection`: Apollo's default outside production (a pod without NODE_ENV)."""
    async def graphql(request: Request) -> Response:
        if (faults.active("graphql-ide") and request.method == "GET"
                and "text/html" in request.headers.get("accept", "")):
            # Fault: a development landing page, an IDE that explores the API for anyone.
            return HTMLResponse(_GRAPHIQL)
        if faults.active("batching-on"):
            batch = await _batch(request)
            if batch is not None:
                return await _run_batch(batch, backend.token_for(await store.load(request)),
                                        backend)
        prepared = await gqlhttp.prepare(
            request, LOCAL_SCHEMA, introspection or faults.active("introspection-on"),
            csrf_prevention=not faults.active("csrf-off"),
            plain_text_json=faults.active("graphql-accepts-text-plain"))
        if isinstance(prepared, Response):
            return prepared
        session = await store.load(request)
        fields = _root_fields(prepared)
        if fields & LOCAL_FIELDS:
            if fields - LOCAL_FIELDS:
                return JSONResponse(gqlhttp.error_body(
                    "switchTenant must be the only field of its operation", "BAD_USER_INPUT"))
            return await _run_local(prepared, _Ctx(session, store, backend))
        body = {"query": prepared.query, "variables": prepared.variables,
                "operationName": prepared.operation_name}
        token = backend.token_for(session)
        if token is None and faults.active("bearer-forwarded"):
            # Fault: a caller without a session may bring its own backend token.
            scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
            token = bearer.strip() if scheme.lower() == "bearer" and bearer.strip() else None
        try:
            upstream = await backend.graphql(body, token)
        except httpx.HTTPError:
            return JSONResponse(gqlhttp.error_body("Backend unavailable", "INTERNAL_SERVER_ERROR"),
                                status_code=502)
        return Response(_traced(upstream.content), status_code=upstream.status_code,
                        media_type="application/json")

    return [Route("/graphql", graphql, methods=["GET", "POST"])]


_GRAPHIQL = ("<!doctype html><html><head><title>GraphiQL</title>"
             '<link rel="stylesheet" href="https://unpkg.com/graphiql/graphiql.min.css" />'
             '</head><body><div id="graphiql">Loading…</div></body></html>')


def _traced(content: bytes) -> bytes:
    """Fault graphql-tracing: apollo-tracing timings on every answer."""
    if not faults.active("graphql-tracing"):
        return content
    try:
        body = json.loads(content)
    except ValueError:
        return content
    if isinstance(body, dict):
        body.setdefault("extensions", {})["tracing"] = {
            "version": 1, "startTime": "2026-01-01T00:00:00.000Z",
            "endTime": "2026-01-01T00:00:00.004Z", "duration": 4000000,
            "execution": {"resolvers": []}}
    return json.dumps(body).encode()


async def _batch(request: Request) -> list[dict[str, Any]] | None:
    """The operations of a JSON array body, or None when the body is not a batch."""
    if request.method != "POST":
        return None
    try:
        body = json.loads(await request.body())  # Starlette caches it for prepare()
    except ValueError:
        return None
    if not isinstance(body, list) or not all(isinstance(op, dict) for op in body):
        return None
    return body


async def _run_batch(batch: list[dict[str, Any]], token: str | None,
                     backend: Backend) -> Response:
    # Fault batching-on: each element runs as if it had been sent alone, which multiplies what
    # one request (and one rate-limit hit) can do.
    results: list[Any] = []
    for op in batch:
        try:
            results.append((await backend.graphql(op, token)).json())
        except (httpx.HTTPError, ValueError):
            results.append(gqlhttp.error_body("Backend unavailable", "INTERNAL_SERVER_ERROR"))
    return JSONResponse(results)


async def _run_local(prepared: gqlhttp.Prepared, ctx: _Ctx) -> Response:
    result = execute(LOCAL_SCHEMA, prepared.document, context_value=ctx,
                     variable_values=prepared.variables, operation_name=prepared.operation_name)
    if inspect.isawaitable(result):
        result = await result
    assert isinstance(result, ExecutionResult)
    body, status = gqlhttp.result_response(result)
    resp = JSONResponse(body, status_code=status)
    if ctx.set_cookie:
        resp.headers.append("set-cookie", ctx.set_cookie)
    return resp
