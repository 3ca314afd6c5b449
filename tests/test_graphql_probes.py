"""The GraphQL abuse probes offline: built from a schema, just past each bound, judged by
execution, and held to their share of the rate-limit window."""

from __future__ import annotations

import httpx
from graphql import build_schema, parse

from reference import gqlbounds
from vvgate.access import graphql_probes as probes

CYCLIC = build_schema("""
type Query { viewer: User  notificationCount: Int!  user(id: ID!): User }
type User { id: ID!  name: String  friends: [User!]!  settings: Settings }
type Settings { theme: String }
""")
ACYCLIC = build_schema("""
type Query { records(first: Int): Conn  count: Int }
type Conn { edges: [Edge!]! }  type Edge { node: Rec }  type Rec { id: ID! }
""")


def _depth(document: str) -> int:
    deepest = depth = 0
    for char in document:
        depth += {"{": 1, "}": -1}.get(char, 0)
        deepest = max(deepest, depth)
    return deepest


def test_documents_are_valid_and_just_past_their_bound() -> None:
    scalar = probes.public_scalar(CYCLIC)
    assert scalar == "notificationCount"
    aliases = parse(probes.aliases_document(scalar))
    assert len(aliases.definitions[0].selection_set.selections) == probes.BOUND + 1  # type: ignore[attr-defined]
    assert probes.directives_document(scalar).count("@include") == probes.BOUND + 1
    probe = probes.deepest_probe(CYCLIC)
    assert probe is not None
    document, depth = probe
    parse(document)
    # fields nested PROBE_DEPTH deep: one brace pair per level of fields
    assert depth == probes.PROBE_DEPTH and _depth(document) == probes.PROBE_DEPTH
    assert document.startswith("{ viewer { friends { friends")


def test_without_a_deep_path_the_schema_bounds_depth() -> None:
    assert probes.deepest_probe(ACYCLIC) is None
    # a field with a required argument is no step of a probe
    assert probes.depth_document(ACYCLIC, 3) == "{ records { edges { __typename } } }"
    assert probes.public_scalar(ACYCLIC) == "count"
    assert probes.typo_document(ACYCLIC, "count") == "{ coun }"
    assert probes.public_scalar(None) == probes.PUBLIC_SCALAR


def _answer(status: int, body: object, **headers: str) -> httpx.Response:
    return httpx.Response(status, json=body, headers=headers)


def test_executed_means_a_data_object_came_back() -> None:
    assert probes.executed(_answer(200, {"data": {"a0": 0}}))
    assert probes.executed(_answer(200, {"data": {"viewer": None}, "errors": [{"message": "x"}]}))
    assert not probes.executed(_answer(400, {"errors": [{"message": "Aliases limit"}]}))
    assert not probes.executed(_answer(200, {"data": None, "errors": [{"message": "x"}]}))
    assert not probes.executed(httpx.Response(405, text="Method Not Allowed"))


def test_suggestions_and_trace_extensions_are_read_from_the_answer() -> None:
    typo = _answer(400, {"errors": [{"message": "Cannot query field 'coun' on type 'Query'. "
                                                "Did you mean 'count'?"}]})
    assert probes.suggestions(typo) and not probes.suggestions(
        _answer(400, {"errors": [{"message": "Cannot query field 'coun' on type 'Query'."}]}))
    traced = _answer(200, {"data": {}, "extensions": {"tracing": {}, "cost": 1}})
    assert probes.trace_keys(traced) == ["tracing"]


def test_the_budget_stops_at_a_429_the_reserve_or_its_count() -> None:
    budget = probes.ProbeBudget(max_probes=3, reserve=50)
    assert budget.allow() is None
    budget.observe(_answer(200, {}, RateLimit="limit=400, remaining=120, reset=900"))
    assert budget.allow() is None
    budget.observe(_answer(200, {}, RateLimit="limit=400, remaining=50, reset=900"))
    assert budget.allow() is not None and "50 requests left" in str(budget.stopped)
    spent = probes.ProbeBudget(max_probes=1, reserve=0)
    assert spent.allow() is None and "spent" in str(spent.allow())
    limited = probes.ProbeBudget(max_probes=5, reserve=0)
    limited.observe(_answer(429, {}))
    assert "429" in str(limited.allow())
    # draft-6 style: a bare RateLimit-Remaining count
    legacy = probes.ProbeBudget(max_probes=5, reserve=10)
    legacy.observe(_answer(200, {}, **{"RateLimit-Remaining": "7"}))
    assert legacy.allow() is not None


def test_the_cost_probe_is_one_field_past_the_limit() -> None:
    document = parse(probes.cost_document("count", 40))
    fields = document.definitions[0].selection_set.selections  # type: ignore[attr-defined]
    assert len(fields) == 41 and {f.name.value for f in fields} == {"count"}
    # The reference's graphql-armor cost model refuses it at its own limit, not a plain query.
    assert gqlbounds.beyond_bounds(parse(probes.cost_document("count", gqlbounds.MAX_COST)))
    assert gqlbounds.beyond_bounds(parse("{ viewer { friends { id } } count }")) is None
