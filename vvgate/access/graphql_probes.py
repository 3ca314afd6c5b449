"""Bounded GraphQL abuse probes (contract §6), built from the target's schema.

Each probe is one request of fixed size, just past a bound (16 aliases or directives where 15
are allowed, a nesting of 12 where 10 are, one field more than a declared cost limit), so the
gate never needs a large request to show a missing bound. A probe is judged by whether the
server executed it: an executed request answers a `data` object, one refused before execution
does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import httpx
from graphql import (
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    get_named_type,
    is_leaf_type,
    is_required_argument,
)

from vvgate.access.https_client import json_object

BOUND = 15
PAST_BOUND = BOUND + 1
MAX_DEPTH = 10
PROBE_DEPTH = MAX_DEPTH + 2  # past the bound however a limiter counts the root level
# The contract's public scalar field: the fallback when no schema is given.
PUBLIC_SCALAR = "notificationCount"
# What a GraphQL IDE page carries (GraphiQL, Playground, Apollo Sandbox or Explorer, Altair).
IDE_MARKERS = ("graphiql", "graphql-playground", "graphqlplayground", "embeddable-sandbox",
               "embeddablesandbox", "embeddable-explorer", "altair", "graphql-voyager")
# Top-level `extensions` keys that expose timings, plans or debugging output.
TRACE_KEYS = ("tracing", "ftv1", "debug", "timing", "timings", "queryplan")
SUGGESTION = re.compile(r"did you mean", re.IGNORECASE)


def public_scalar(schema: GraphQLSchema | None) -> str:
    """A root query field that takes no required argument and returns a scalar."""
    root = schema.query_type if schema is not None else None
    if root is None:
        return PUBLIC_SCALAR
    candidates = [name for name, f in root.fields.items()
                  if is_leaf_type(get_named_type(f.type))
                  and not any(is_required_argument(a) for a in f.args.values())]
    if PUBLIC_SCALAR in candidates or not candidates:
        return PUBLIC_SCALAR
    return str(candidates[0])


def aliases_document(scalar: str) -> str:
    return "{ " + " ".join(f"a{i}: {scalar}" for i in range(PAST_BOUND)) + " }"


def directives_document(scalar: str) -> str:
    # One field, asked for again and again: the copies merge, so only the directives count.
    return "{ " + " ".join(f"{scalar} @include(if: true)" for _ in range(PAST_BOUND)) + " }"


def cost_document(scalar: str, max_cost: int) -> str:
    """Copies of one scalar field, one more than `max_cost`: every cost model counts at least
    1 per field, so this is past the limit however the server weighs it. The copies merge,
    so a server that executes it does little work: the probe shows the limit, not a load."""
    return "{ " + " ".join([scalar] * (max_cost + 1)) + " }"


def typo_document(schema: GraphQLSchema | None, scalar: str) -> str | None:
    """A query of a plain typo of a real field, which graphql-js would answer with a
    suggestion; None when dropping the last letter names another real field."""
    typo = scalar[:-1]
    root = schema.query_type if schema is not None else None
    if root is not None and typo in root.fields:
        return None
    return "{ " + typo + " }"


def _chain(schema: GraphQLSchema, type_name: str, remaining: int,
           memo: dict[tuple[str, int], list[str] | None]) -> list[str] | None:
    if remaining == 0:
        return []
    key = (type_name, remaining)
    if key in memo:
        return memo[key]
    memo[key] = None
    node = schema.get_type(type_name)
    if isinstance(node, GraphQLObjectType | GraphQLInterfaceType):
        for name, f in node.fields.items():
            inner = get_named_type(f.type)
            if any(is_required_argument(a) for a in f.args.values()):
                continue
            if isinstance(inner, GraphQLObjectType | GraphQLInterfaceType):
                rest = _chain(schema, inner.name, remaining - 1, memo)
                if rest is not None:
                    memo[key] = [name, *rest]
                    break
    return memo[key]


def depth_document(schema: GraphQLSchema, depth: int) -> str | None:
    """Object fields nested `depth` deep (the innermost asks `__typename`), through a cycle of
    the schema's types where it has one (a user's friends' friends...); None when no path of
    fields without required arguments goes that deep."""
    if schema.query_type is None:
        return None
    chain = _chain(schema, schema.query_type.name, depth - 1, {})
    if chain is None:
        return None
    return "{ " + " { ".join(chain) + " { __typename" + " }" * len(chain) + " }"


def deepest_probe(schema: GraphQLSchema) -> tuple[str, int] | None:
    """The deepest probe past the depth bound the schema allows, up to PROBE_DEPTH; None when
    no request can nest past the bound at all (the types themselves bound it)."""
    for depth in range(PROBE_DEPTH, MAX_DEPTH, -1):
        document = depth_document(schema, depth)
        if document is not None:
            return document, depth
    return None


def executed(response: httpx.Response) -> bool:
    """The server ran the operation: its answer holds a `data` object."""
    body = json_object(response)
    return body is not None and isinstance(body.get("data"), dict)


def trace_keys(response: httpx.Response) -> list[str]:
    body = json_object(response) or {}
    extensions = body.get("extensions")
    if not isinstance(extensions, dict):
        return []
    return [k for k in extensions if str(k).lower() in TRACE_KEYS]


def suggestions(response: httpx.Response) -> list[str]:
    body = json_object(response) or {}
    errors = body.get("errors") if isinstance(body.get("errors"), list) else []
    return [str(e.get("message")) for e in errors or []
            if isinstance(e, dict) and SUGGESTION.search(str(e.get("message", "")))]


_REMAINING = re.compile(r"remaining\s*=\s*(\d+)", re.IGNORECASE)


@dataclass
class ProbeBudget:
    """The probes' share of the /graphql rate-limit window: a fixed number of requests, and
    none after a 429 or once the window runs low (other gates and users need it too)."""

    max_probes: int
    reserve: int
    sent: int = 0
    stopped: str | None = field(default=None)

    def allow(self) -> str | None:
        """Why no further probe may be sent, or None."""
        if self.stopped:
            return self.stopped
        if self.sent >= self.max_probes:
            return f"the gate's {self.max_probes} GraphQL probes are spent"
        self.sent += 1
        return None

    def observe(self, response: httpx.Response) -> None:
        if response.status_code == 429:
            self.stopped = "the target answered 429 (rate limit); no further probes are sent"
            return
        header = response.headers.get("ratelimit") or response.headers.get("ratelimit-remaining")
        found = _REMAINING.search(header or "") or re.fullmatch(r"\s*(\d+)\s*", header or "")
        if found and int(found.group(1)) <= self.reserve:
            self.stopped = (f"the /graphql rate-limit window has {found.group(1)} requests "
                            f"left (reserve {self.reserve}); no further probes are sent")
