"""The backend's HTTP surface: /health and /graphql behind the BFF's JWT."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import AsyncIterator
from typing import Any

from graphql import ExecutionResult, GraphQLSchema, execute
from pymongo import MongoClient
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reference import faults, gqlhttp, signing
from reference.backend import dialect_data
from reference.backend.context import Context
from reference.backend.resolvers import build_schema
from reference.readiness import set_up_then_ready
from reference.runtime import Runtime
from reference.tenancy import REGISTRY_DB, ensure_registry_indexes

log = logging.getLogger("vinylvault.backend")


def _claims(request: Request, secret: str) -> dict[str, Any] | Response | None:
    header = request.headers.get("authorization", "")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return JSONResponse(gqlhttp.error_body("Invalid authorization header",
                                               "UNAUTHENTICATED"), status_code=401)
    try:
        return signing.jwt_decode(token.strip(), secret)
    except signing.InvalidTokenError:
        return JSONResponse(gqlhttp.error_body("Unauthorized: invalid or expired token",
                                               "UNAUTHENTICATED"), status_code=401)


def _set_up(registry: Any) -> None:
    ensure_registry_indexes(registry)
    dialect_data.prepare_registry(registry)


def build_app(rt: Runtime) -> Starlette:
    schema: GraphQLSchema = build_schema()
    jwt_secret = rt.secret("JWT_SECRET")

    ready = asyncio.Event()
    client: MongoClient[Any] = MongoClient(
        rt.secret("MONGODB_BACKEND_URI"), tz_aware=True, serverSelectionTimeoutMS=3000,
        connect=False,
    )
    # A pod names the tenant databases' server apart (MONGODB_URI_BASE); the process target
    # keeps registry and tenants on its one URI.
    tenant_uri = rt.secrets.get("MONGODB_TENANT_URI")
    tenants: MongoClient[Any] | None = None
    if tenant_uri:
        tenants = MongoClient(tenant_uri, tz_aware=True, serverSelectionTimeoutMS=3000,
                              connect=False)

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(set_up_then_ready(
            lambda: _set_up(client[REGISTRY_DB]), "registry", ready, log))
        try:
            yield
        finally:
            task.cancel()
            client.close()
            if tenants is not None:
                tenants.close()

    async def health(_: Request) -> Response:
        now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        return JSONResponse({"status": "ok", "service": "backend", "timestamp": now})

    async def readiness(_: Request) -> Response:
        if ready.is_set():
            return JSONResponse({"status": "ok"})
        return JSONResponse({"status": "starting"}, status_code=503)

    async def graphql(request: Request) -> Response:
        # Apollo's default outside production: introspection on (a pod without NODE_ENV).
        prepared = await gqlhttp.prepare(request, schema,
                                         rt.development or faults.active("introspection-on"))
        if isinstance(prepared, Response):
            return prepared
        claims = _claims(request, jwt_secret)
        if isinstance(claims, Response):
            return claims
        ctx = Context(client, claims, tenants)

        def run() -> ExecutionResult:
            result = execute(schema, prepared.document, context_value=ctx,
                             variable_values=prepared.variables,
                             operation_name=prepared.operation_name)
            assert isinstance(result, ExecutionResult)
            return result

        body, status = gqlhttp.result_response(await run_in_threadpool(run))
        return JSONResponse(body, status_code=status)

    return Starlette(
        routes=[Route("/health", health), Route("/ready", readiness),
                Route("/graphql", graphql, methods=["GET", "POST"])],
        lifespan=lifespan,
    )
