"""Requests are built from the target's schema, and answers are read for what they prove.

The schemas here are written for the tests: shapes a correct deployment may have, not the
reference's. Nothing here talks to a server.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import build_schema, parse, validate

from vvgate.access.graphql_ops import (
    find_id,
    not_executed,
    payload_errors,
    refusal_reason,
)
from vvgate.access.operation_builder import OperationMissing, build
from vvgate.access.schema_source import build as build_from_files
from vvgate.access.schema_source import find_in_checkout, merge
from vvgate.errors import ConfigError

SDL = """
scalar DateTime
scalar ObjectID
enum Condition { MINT GOOD POOR }
enum Role { ADMIN MEMBER VIEWER }
type Query {
  record(id: ID!): RecordResult!
  records(first: Int!, filter: Where): Connection!
  user(id: ObjectID!): User
  notificationCount: Int!
}
type Mutation {
  createRecord(input: RecordInput!): Payload!
  deleteRecord(input: RecordRef!): DeletePayload!
  addUserToTenant(userId: ObjectID!, tenantId: ID!, role: Role!): Tenant!
  handleGitHubInstallationWebhook(input: Event!): Boolean!
  tagAll(tags: [String!]!): Boolean!
}
input Where { artist: String genre: String }
input RecordInput {
  releaseId: ID! notes: String condition: Condition! purchaseDate: DateTime! price: Float
}
input Event { action: String! installation: Ref! }
input Ref { id: Int! account: Account! }
input Account { id: String! login: String! }
type Payload { record: Record errors: [String!]! }
input RecordRef { id: ID! }
type DeletePayload { deletedRecordId: ID errors: [String!]! }
type Record { id: ID! notes: String release: Release createdAt: DateTime }
type Release { id: ID! title: String owner: User }
type User { id: ObjectID! login: String! friends(first: Int!): [User!]! best: User }
type Tenant { id: ID! role: Role }
type NotFound { message: String! }
union RecordResult = Record | NotFound
type Edge { node: Record! }
type Connection { totalCount: Int! edges: [Edge!]! }
"""
SCHEMA = build_schema(SDL)


def _valid(document: str) -> None:
    errors = validate(SCHEMA, parse(document))
    assert not errors, [e.message for e in errors]


def test_inputs_take_the_schemas_types_and_fill_what_the_check_did_not_give() -> None:
    built = build(SCHEMA, "createRecord", {"releaseId": "r1", "notes": "n"})
    _valid(built.document)
    value = built.variables["input"]
    assert value["releaseId"] == "r1" and value["notes"] == "n"
    # required fields the contract never names get valid values of their own types
    assert value["condition"] == "MINT"
    assert value["purchaseDate"].startswith("2026-01-01")
    assert "price" not in value  # optional and not asked for: left out
    assert built.document.startswith("mutation vvgate_createRecord($input: RecordInput!)")


def test_payload_errors_declared_as_strings_are_selected_as_strings() -> None:
    built = build(SCHEMA, "createRecord", {"releaseId": "r1"})
    assert " errors " in built.document and "errors {" not in built.document
    assert "record { id notes" in built.document


def test_values_are_coerced_and_enums_matched() -> None:
    built = build(SCHEMA, "addUserToTenant", {"userId": "abc", "tenantId": "t", "role": "admin"})
    _valid(built.document)
    assert built.variables == {"userId": "abc", "tenantId": "t", "role": "ADMIN"}


def test_dotted_values_reach_nested_input_objects() -> None:
    built = build(SCHEMA, "handleGitHubInstallationWebhook",
                  {"action": "created", "installation.id": "42", "account.id": 7,
                   "account.login": "octo"})
    _valid(built.document)
    assert built.variables["input"] == {
        "action": "created", "installation": {"id": 42, "account": {"id": "7", "login": "octo"}}}


def test_required_arguments_without_a_value_get_one_and_lists_stay_lists() -> None:
    records = build(SCHEMA, "records")
    _valid(records.document)
    assert records.variables == {"first": 1}  # the optional filter is left out
    tagged = build(SCHEMA, "tagAll", {"tags": "one"})
    assert tagged.variables == {"tags": ["one"]}
    assert build(SCHEMA, "user").variables == {"id": "000000000000000000000000"}


def test_unions_are_selected_member_by_member() -> None:
    built = build(SCHEMA, "record", {"id": "x"})
    _valid(built.document)
    assert "__typename" in built.document
    assert "... on Record {" in built.document and "... on NotFound { message }" in built.document


def test_selections_skip_fields_with_required_arguments_and_stop_at_cycles() -> None:
    built = build(SCHEMA, "user", {"id": "x"})
    _valid(built.document)
    assert "friends" not in built.document
    assert "best" not in built.document  # User inside User: a cycle


def test_scalar_results_get_no_selection_and_unknown_fields_are_reported() -> None:
    built = build(SCHEMA, "notificationCount")
    assert built.document == "query vvgate_notificationCount { notificationCount }"
    with pytest.raises(OperationMissing):
        build(SCHEMA, "spotifyPreview")


# --------------------------------------------------------------------------- schema files


def test_a_stitched_schema_merges_field_by_field(tmp_path: Path) -> None:
    bff = tmp_path / "bff.graphql"
    bff.write_text("type Query { viewer: User }\ntype Mutation { switchTenant(tenantId: ID!): "
                   "Boolean! }\ntype User { id: ID! }\n")
    backend = tmp_path / "backend.graphqls"
    backend.write_text("type Query { records: Int! @cacheControl(maxAge: 5) }\n"
                       "type User { id: ID! login: String }\nenum Role { ADMIN }\n")
    schema = build_from_files([bff, backend], "two files")
    assert schema.query_type is not None and set(schema.query_type.fields) == {"viewer",
                                                                              "records"}
    assert set(schema.get_type("User").fields) == {"id", "login"}  # type: ignore[union-attr]


def test_unknown_directives_are_dropped_known_ones_kept() -> None:
    doc = merge([parse("type Query { a: Int @cacheControl(maxAge: 1) b: Int @deprecated }")])
    text = json.dumps(doc.to_dict())
    assert "cacheControl" not in text and "deprecated" in text


@pytest.mark.parametrize(("text", "expected"), [
    ("query { viewer { id } }", "holds operations, not a schema"),
    ("type Query { a: Int", "not GraphQL SDL"),
    ("type Mutation { a: Int }", "no Query type"),
])
def test_a_file_that_is_no_schema_is_a_configuration_error(tmp_path: Path, text: str,
                                                           expected: str) -> None:
    path = tmp_path / "schema.graphql"
    path.write_text(text)
    with pytest.raises(ConfigError, match=expected):
        build_from_files([path], path.name)


def test_an_application_checkout_yields_its_sdl_files_only(tmp_path: Path) -> None:
    (tmp_path / "packages" / "backend" / "src").mkdir(parents=True)
    (tmp_path / "packages" / "backend" / "src" / "schema.graphql").write_text(
        "type Query { a: Int }")
    (tmp_path / "packages" / "frontend").mkdir(parents=True)
    (tmp_path / "packages" / "frontend" / "queries.graphql").write_text("query Q { a }")
    (tmp_path / "node_modules" / "x").mkdir(parents=True)
    (tmp_path / "node_modules" / "x" / "schema.graphql").write_text("type Query { b: Int }")
    found = find_in_checkout(tmp_path)
    assert [p.relative_to(tmp_path).as_posix() for p in found] == [
        "packages/backend/src/schema.graphql"]


# --------------------------------------------------------------------------- answers


def _answer(status: int, body: Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return httpx.Response(status, content=content, headers=headers,
                          request=httpx.Request("POST", "https://t.test/graphql"))


@pytest.mark.parametrize(("response", "why"), [
    (_answer(400, {"errors": [{"message": 'Cannot query field "x" on type "Query".',
                               "extensions": {"code": "GRAPHQL_VALIDATION_FAILED"}}]}),
     "rejected before execution (HTTP 400)"),
    (_answer(200, {"errors": [{"message": 'Variable "$input" got invalid value'}]}),
     "has no data, so the request was never executed"),
    (_answer(429, {"errors": [{"message": "Too many requests"}]}, ratelimit="limit=400"),
     "rate-limited"),
    (_answer(502, {"errors": [{"message": "Backend unavailable"}]}), "failed with HTTP 502"),
    (_answer(200, b"<html>spa</html>"), "not JSON"),
])
def test_a_request_that_never_ran_is_told_apart(response: httpx.Response, why: str) -> None:
    assert refusal_reason(response, "records") is None
    problem = not_executed(response)
    assert problem is not None and why in problem


@pytest.mark.parametrize("response", [
    _answer(200, {"data": {"records": None},
                  "errors": [{"message": "Not authenticated",
                              "extensions": {"code": "UNAUTHENTICATED"}}]}),
    _answer(200, {"data": None, "errors": [{"message": "Access denied",
                                            "extensions": {"code": "FORBIDDEN"}}]}),
    _answer(200, {"data": {"records": None}, "errors": [{"message": "Unauthorized"}]}),
    _answer(401, {"errors": [{"message": "Not authenticated"}]}),
    # a server that refuses before execution: no data at all, but a refusal all the same
    _answer(200, {"errors": [{"message": "x", "extensions": {"code": "UNAUTHENTICATED"}}]}),
])
def test_refusals_in_every_form_the_contract_allows(response: httpx.Response) -> None:
    assert refusal_reason(response, "records") is not None


@pytest.mark.parametrize("response", [
    _answer(200, {"data": {"records": {"totalCount": 3}}}),
    _answer(200, {"data": {"records": None}, "errors": [{"message": "Record not found"}]}),
])
def test_an_executed_answer_is_neither_a_refusal_nor_unexecuted(response: httpx.Response) -> None:
    assert refusal_reason(response, "records") is None and not_executed(response) is None


def test_ids_and_payload_errors_are_found_in_any_shape() -> None:
    assert find_id({"record": {"id": "r1", "release": {"id": "x"}}, "errors": []}) == "r1"
    assert find_id({"friendRequest": {"id": "f", "requester": {"id": "u"}}}) == "f"
    assert find_id({"__typename": "NotFound", "message": "gone"}) is None
    assert payload_errors({"errors": ["Release not found"]}) == ["Release not found"]
    assert payload_errors({"errors": [{"field": "x", "message": "bad"}]}) == ["bad"]


def test_the_load_journeys_use_the_same_builder_with_and_without_a_schema() -> None:
    from vvgate.access.schema_source import NO_SCHEMA, TargetSchema
    from vvgate.load.operations import journey_operations
    from vvgate.load.steps import RECORD_ID, RELEASE_ID

    with_schema = journey_operations(TargetSchema(SCHEMA, "test"))
    create = with_schema["record.create"]
    _valid(create["query"])
    assert create["variables"]["input"]["releaseId"] == RELEASE_ID
    assert create["variables"]["input"]["condition"] == "MINT"  # required by this schema
    assert with_schema["records.list"]["variables"] == {"first": 20}
    fallback = journey_operations(NO_SCHEMA)
    assert fallback["record.read"]["variables"] == {}
    assert RECORD_ID in fallback["record.read"]["query"]
    for op in fallback.values():
        parse(op["query"])  # well-formed GraphQL, placeholders and all
