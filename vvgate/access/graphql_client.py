"""Contract operations over HTTPS, each one's shape adapted to the target's schema once per run."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from vvgate.access.graphql_ops import Operation, parse, shape_fixes
from vvgate.access.https_client import TargetHttp


class Gql:
    """Runs contract operations, adapting each one's shape to the schema once per run."""

    def __init__(self, http: TargetHttp, shapes: dict[str, dict[str, Any]]) -> None:
        self.http = http
        self.shapes = shapes

    def call(self, op: Operation, values: dict[str, str] | None = None, *,
             cookie: str | None = None, headers: dict[str, str] | None = None) -> httpx.Response:
        shape = self.shapes.get(op.field, {})
        response = self.http.graphql(op.document(values, **shape), cookie=cookie, headers=headers)
        for _ in range(2):
            fix = shape_fixes(parse(response), op)
            if fix is None or all(shape.get(k) == v for k, v in fix.items()):
                break
            shape = {**shape, **fix}
            response = self.http.graphql(op.document(values, **shape), cookie=cookie,
                                         headers=headers)
        self.shapes[op.field] = shape
        _refuse_rate_limited(response)
        return response

    def raw(self, query: str, *, cookie: str | None = None) -> httpx.Response:
        response = self.http.graphql(query, cookie=cookie)
        _refuse_rate_limited(response)
        return response


def _refuse_rate_limited(response: httpx.Response) -> None:
    """A 429 says nothing about the property under test: stop the check with the real cause."""
    if response.status_code == 429:
        pytest.fail(
            f"the target rate-limited the suite (HTTP 429 on {response.request.url.path}, "
            f"RateLimit: {response.headers.get('ratelimit')!r}); wait for the window to reset "
            "or select fewer gates", pytrace=False)
