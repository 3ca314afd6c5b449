"""Contract operations over HTTPS: built from the target's schema, judged by what came back.

A request the server never executed (rejected in validation, rate-limited, a 5xx) proves
nothing about the property a check is after, so `call` stops the check as inconclusive
with the request and response as its evidence, never as a pass or a defect. A refusal is
an answer: contract §5 says what it looks like.
"""

from __future__ import annotations

from typing import Any

import httpx

from vvgate.access.graphql_ops import (
    CONTRACT_KINDS,
    FALLBACK,
    not_executed,
    parse,
    refusal_reason,
    shape_fixes,
)
from vvgate.access.https_client import TargetHttp
from vvgate.access.operation_builder import OperationMissing, build, root_kind
from vvgate.access.target_schema import TargetSchema
from vvgate.gates.inconclusive import inconclusive


class Gql:
    def __init__(self, http: TargetHttp, schema: TargetSchema,
                 shapes: dict[str, dict[str, Any]]) -> None:
        self.http = http
        self.schema = schema
        # fallback shapes adapted to the target's validation errors, once per run
        self.shapes = shapes

    def kind(self, field: str) -> str:
        found = root_kind(self.schema.schema, field) if self.schema.schema else None
        return found or CONTRACT_KINDS.get(field, "query")

    def call(self, field: str, values: dict[str, Any] | None = None, *,
             cookie: str | None = None, headers: dict[str, str] | None = None,
             ) -> httpx.Response:
        """Run one operation with the check's `values` (by the contract's argument and input
        field names); returns the executed answer, refusal or not."""
        if self.schema.schema is not None:
            try:
                built = build(self.schema.schema, field, values)
            except OperationMissing:
                inconclusive(f"the target's schema ({self.schema.source}) has no "
                             f"{CONTRACT_KINDS.get(field, 'operation')} {field}, which the "
                             "check needs; there is nothing to call")
            response = self.http.graphql(built.document, built.variables, cookie=cookie,
                                         headers=headers)
        else:
            response = self._fallback(field, values, cookie, headers)
        if refusal_reason(response, field) is None:
            problem = not_executed(response)
            if problem is not None:
                inconclusive(f"{self.kind(field)} {field}: {problem}; a request the server "
                             "never executed proves nothing either way")
        return response

    def _fallback(self, field: str, values: dict[str, Any] | None, cookie: str | None,
                  headers: dict[str, str] | None) -> httpx.Response:
        shape = FALLBACK.get(field)
        if shape is None:
            inconclusive(f"no schema was given and contract §5 names no operation {field}")
        adapted = self.shapes.get(field, {})
        response = self.http.graphql(shape.document(values, **adapted), cookie=cookie,
                                     headers=headers)
        for _ in range(2):
            fix = shape_fixes(parse(response))
            if fix is None or all(adapted.get(k) == v for k, v in fix.items()):
                break
            adapted = {**adapted, **fix}
            response = self.http.graphql(shape.document(values, **adapted), cookie=cookie,
                                         headers=headers)
        self.shapes[field] = adapted
        return response

    def raw(self, query: str, *, cookie: str | None = None) -> httpx.Response:
        """A hand-written document, for checks about the GraphQL endpoint itself; the answer
        is returned as it is, unless the target rate-limited it."""
        response = self.http.graphql(query, cookie=cookie)
        if response.status_code == 429:
            inconclusive(f"the target rate-limited the suite (HTTP 429 on /graphql, RateLimit: "
                         f"{response.headers.get('ratelimit')!r}); wait for the window to "
                         "reset or select fewer gates")
        return response
