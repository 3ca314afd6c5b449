"""GraphQL refuses what production must (contract §2, §6): introspection, field suggestions,
an IDE, trace extensions, cross-site and batched requests, mutations over GET, stack traces,
and requests past the bounds on aliases, directives, depth and, where the profile declares
one, cost.

The abuse probes are few and of fixed size (vvgate/access/graphql_probes.py), built from the
target's schema, and count against the /graphql rate-limit window: after a 429, or once the
window runs low, the rest are inconclusive rather than sent.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Any

import httpx
import pytest

from vvgate.access import graphql_probes as probes
from vvgate.access.graphql_client import Gql
from vvgate.access.graphql_ops import error_messages, field_value, parse
from vvgate.access.https_client import TargetHttp
from vvgate.access.target_schema import TargetSchema
from vvgate.gates.inconclusive import inconclusive
from vvgate.report.evidence import Evidence
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("graphql"), pytest.mark.plan("1.6")]

# Every probe below is one request; the reserve leaves the window to the other gates.
PROBES = 10
RESERVE = 50
PREFLIGHT = {"apollo-require-preflight": "true"}


@pytest.fixture(scope="module")
def budget() -> probes.ProbeBudget:
    return probes.ProbeBudget(max_probes=PROBES, reserve=RESERVE)


def _send(http: TargetHttp, budget: probes.ProbeBudget, method: str, path: str,
          **kwargs: Any) -> httpx.Response:
    refused = budget.allow()
    if refused:
        inconclusive(refused)
    response = http.request(method, path, **kwargs)
    budget.observe(response)
    if response.status_code == 429:
        inconclusive(f"{method} {path} met the rate limit (429): the probe was not judged")
    return response


def _post(http: TargetHttp, budget: probes.ProbeBudget, query: str,
          headers: dict[str, str] | None = None) -> httpx.Response:
    return _send(http, budget, "POST", "/graphql", content=json.dumps({"query": query}),
                 headers={"Content-Type": "application/json", **(headers or {})})


def _scalar(target_schema: TargetSchema) -> str:
    return probes.public_scalar(target_schema.schema)


def _answer(response: httpx.Response) -> str:
    return f"HTTP {response.status_code}: {response.text[:240]}"


def test_a_plain_query_is_answered(http: TargetHttp, budget: probes.ProbeBudget,
                                   target_schema: TargetSchema) -> None:
    """The control: the probes' own field executes, so a refusal below is the bound's. When it
    does not, the probes cannot tell a bound from a broken field: not verified."""
    response = _post(http, budget, "{ " + _scalar(target_schema) + " }")
    if not probes.executed(response):
        inconclusive(f"control: {{ {_scalar(target_schema)} }} was not executed, so a refused "
                     f"probe would prove nothing: {_answer(response)}")


@pytest.mark.parametrize("bound", ["aliases", "directives"])
def test_requests_past_a_bound_are_refused_before_execution(
        http: TargetHttp, budget: probes.ProbeBudget, target_schema: TargetSchema,
        bound: str) -> None:
    scalar = _scalar(target_schema)
    document = (probes.aliases_document(scalar) if bound == "aliases"
                else probes.directives_document(scalar))
    response = _post(http, budget, document)
    assert not probes.executed(response), (
        f"a request with {probes.PAST_BOUND} {bound} (the bound is {probes.BOUND}) was "
        f"executed; one rate-limited request fans out without limit: {_answer(response)}")


def test_requests_past_the_depth_bound_are_refused_before_execution(
        http: TargetHttp, budget: probes.ProbeBudget, target_schema: TargetSchema,
        evidence: Evidence) -> None:
    schema = target_schema.schema
    if schema is None:
        inconclusive("a request past the depth bound is built from the target's schema, and "
                     "this run has none (graphql.schema in the profile, or --app-repo)")
    probe = probes.deepest_probe(schema)
    if probe is None:
        # Verified from the schema: no path of its types nests past the bound.
        evidence.text("depth", f"no path of fields in {target_schema.source} nests deeper "
                               f"than {probes.MAX_DEPTH}: the types bound every request")
        return
    document, depth = probe
    response = _post(http, budget, document)
    assert not probes.executed(response), (
        f"a request nested {depth} deep (the bound is {probes.MAX_DEPTH}) was executed: "
        f"{_answer(response)}")


def test_a_request_past_the_cost_limit_is_refused_before_execution(
        http: TargetHttp, budget: probes.ProbeBudget, target_schema: TargetSchema,
        profile: Profile) -> None:
    max_cost = profile.graphql.max_cost if profile.graphql else None
    if max_cost is None:
        pytest.skip("the profile declares no cost limit (graphql.max_cost): the contract asks "
                    "for one only where the server has one")
    scalar = _scalar(target_schema)
    response = _post(http, budget, probes.cost_document(scalar, max_cost))
    assert not probes.executed(response), (
        f"a request of {max_cost + 1} copies of {scalar} (cost at least {max_cost + 1}; the "
        f"profile's limit is {max_cost}) was executed: the cost limit is not applied: "
        f"{_answer(response)}")


@pytest.mark.plan("1.2")
def test_validation_errors_suggest_no_field_names(http: TargetHttp, budget: probes.ProbeBudget,
                                                  target_schema: TargetSchema) -> None:
    document = probes.typo_document(target_schema.schema, _scalar(target_schema))
    if document is None:
        inconclusive("the typo of the probe's field is itself a field of the schema")
    response = _post(http, budget, document)
    if not error_messages(response):
        inconclusive(f"the typo {document} got no error to read: {_answer(response)}")
    found = probes.suggestions(response)
    assert not found, (
        f"a typo is answered with a suggestion, which tells the schema that introspection "
        f"hides: {found[0][:200]}")


def test_no_ide_is_served_on_get(http: TargetHttp, budget: probes.ProbeBudget) -> None:
    response = _send(http, budget, "GET", "/graphql", headers={"Accept": "text/html"})
    page = response.text.lower()
    found = [m for m in probes.IDE_MARKERS if m in page]
    assert not found, (
        f"GET /graphql (Accept: text/html) serves a GraphQL IDE ({', '.join(found)}), "
        f"HTTP {response.status_code}")


def test_answers_carry_no_trace_or_debug_extensions(http: TargetHttp,
                                                    budget: probes.ProbeBudget,
                                                    target_schema: TargetSchema) -> None:
    # The header asks Apollo's inline trace plugin for a federated trace (ftv1).
    response = _post(http, budget, "{ " + _scalar(target_schema) + " }",
                     headers={"apollo-federation-include-trace": "ftv1"})
    found = probes.trace_keys(response)
    assert not found, f"the answer carries extensions {found}: timings and internals leak"


def test_mutations_are_never_executed_over_get(http: TargetHttp, budget: probes.ProbeBudget,
                                               target_schema: TargetSchema) -> None:
    schema = target_schema.schema
    if schema is not None and schema.mutation_type is None:
        inconclusive(f"the target's schema ({target_schema.source}) has no mutations")
    # `__typename` on the mutation root changes nothing, yet is a mutation operation; the
    # preflight header gets it past CSRF prevention, so only the GET rule can refuse it.
    query = urllib.parse.urlencode({"query": "mutation { __typename }"})
    response = _send(http, budget, "GET", f"/graphql?{query}", headers=PREFLIGHT)
    assert not probes.executed(response), (
        f"a mutation sent by GET was executed: {_answer(response)}")


def test_a_form_encoded_post_is_refused(http: TargetHttp, budget: probes.ProbeBudget,
                                        target_schema: TargetSchema) -> None:
    # A page on any site can submit a form cross-site without a preflight.
    body = urllib.parse.urlencode({"query": "{ " + _scalar(target_schema) + " }"})
    response = _send(http, budget, "POST", "/graphql", content=body,
                     headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert not probes.executed(response) and response.status_code >= 400, (
        f"a form-encoded POST to /graphql was not refused: {_answer(response)}")


@pytest.mark.plan("1.2")
def test_introspection_is_refused(gql: Gql) -> None:
    response = gql.raw("{ __schema { queryType { name } } }")
    schema = field_value(response, "__schema")
    assert schema is None, "introspection (__schema) is answered; it must be off in production"
    assert response.status_code == 400 or error_messages(response), (
        f"introspection gave HTTP {response.status_code} without an error")


def test_csrf_get_without_preflight_header_is_refused(http: TargetHttp) -> None:
    response = http.get("/graphql", params={"query": "{ notificationCount }"})
    assert response.status_code == 400, (
        f"GET /graphql without a preflight header answered {response.status_code}; Apollo's "
        "CSRF prevention refuses it with 400")


def test_csrf_simple_post_is_refused(http: TargetHttp) -> None:
    # A text/plain POST is a "simple" request a foreign page can send without a preflight.
    response = http.post("/graphql", content='{"query":"{ notificationCount }"}',
                         headers={"Content-Type": "text/plain"})
    assert response.status_code == 400, (
        f"a text/plain POST to /graphql answered {response.status_code}; Apollo's CSRF "
        "prevention refuses it with 400")


def test_batched_body_is_refused(http: TargetHttp) -> None:
    response = http.post("/graphql", content='[{"query":"{ notificationCount }"},'
                                             '{"query":"{ notificationCount }"}]',
                         headers={"Content-Type": "application/json"})
    assert response.status_code == 400, f"a batched body answered {response.status_code}"


@pytest.mark.parametrize("kind", ["validation", "execution"])
def test_errors_carry_no_stack_traces(gql: Gql, kind: str) -> None:
    # Apollo includes stack traces unless it runs in production mode, which also
    # governs introspection and other development conveniences. The execution probe is an
    # anonymous call of a protected operation, which must answer with an error.
    response = (gql.raw("{ vvgateNoSuchField }") if kind == "validation"
                else gql.call("records", {"first": 1}))
    errors = parse(response).get("errors") or []
    assert errors, f"the {kind} probe got no error (HTTP {response.status_code})"
    traced = [e for e in errors if "stacktrace" in json.dumps(e.get("extensions") or {}).lower()]
    assert not traced, (
        f"{kind} errors include stack traces: the server is not in production mode")
