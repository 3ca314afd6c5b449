"""The schema this target serves: schema.graphql with the active dialects applied.

Each schema dialect rewrites the SDL text in one place; the BFF and the backend build their
executable schemas from the result, and `vvgate local up` writes it where the generated
profile points, so the suite calls exactly what is served.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path

from graphql import GraphQLSchema, build_schema, get_named_type

from reference import dialects

BASE_SDL = (Path(__file__).parent / "schema.graphql").read_text(encoding="utf-8")

INPUT_RENAMES = {
    "CreateRecordInput": "NewRecordInput",
    "UpdateRecordInput": "RecordChangesInput",
    "DeleteRecordInput": "RecordRefInput",
    "UpsertUserInput": "UserUpsert",
    "UserSettingsInput": "SettingsPatch",
    "CreateTenantInput": "TenantCreateInput",
    "InstallationWebhookInput": "InstallationEventInput",
    "CompleteInstallationSetupInput": "InstallationSetupInput",
    "RecordFilter": "RecordsWhere",
}


def _replace(sdl: str, old: str, new: str) -> str:
    if old not in sdl:
        raise AssertionError(f"dialect edit: {old!r} is not in the schema")
    return sdl.replace(old, new)


def _block(sdl: str, head: str, body: str) -> str:
    """Replace the definition that starts with `head` (up to its closing brace)."""
    match = re.search(re.escape(head) + r"\s*\{[^}]*\}", sdl)
    if match is None:
        raise AssertionError(f"dialect edit: no definition {head!r}")
    return sdl[:match.start()] + f"{head} {{ {body} }}" + sdl[match.end():]


def _extra_required(sdl: str) -> str:
    sdl = _block(sdl, "input CreateRecordInput",
                 "releaseId: ID! purchaseDate: String! price: Float condition: RecordCondition! "
                 "location: String notes: String")
    sdl = _block(sdl, "input CreateTenantInput",
                 "tenantType: TenantType! name: String! githubOrgId: String "
                 "githubOrgName: String visibility: TenantVisibility!")
    return sdl + ("\nenum RecordCondition { MINT NEAR_MINT VERY_GOOD GOOD FAIR POOR }\n"
                  "enum TenantVisibility { PRIVATE MEMBERS }\n")


def _webhook_shape(sdl: str) -> str:
    sdl = _block(sdl, "input InstallationWebhookInput",
                 "action: String! installation: InstallationRef!")
    sdl = _block(sdl, "input CompleteInstallationSetupInput",
                 "userId: ID! installationId: ID! setupAction: SetupAction!")
    return sdl + ("\ninput InstallationRef { id: Int! account: AccountRef! }\n"
                  "input AccountRef { id: String! login: String! type: String! }\n"
                  "enum SetupAction { INSTALL UPDATE }\n")


def _extra_operations(sdl: str) -> str:
    sdl = _replace(sdl, "type Query {\n", "type Query {\n  exportRecords(format: ExportFormat!): "
                   "String!\n  recordStats: RecordStats!\n")
    sdl = _replace(sdl, "type Mutation {\n", "type Mutation {\n  archiveRecord(input: "
                   "ArchiveRecordInput!): RecordPayload!\n  deleteAccount(confirm: Boolean!): "
                   "Boolean!\n")
    return sdl + ("\nenum ExportFormat { CSV JSON }\n"
                  "type ConditionCount { condition: String count: Int! }\n"
                  "type RecordStats { total: Int! byCondition: [ConditionCount!]! }\n"
                  "input ArchiveRecordInput { id: ID! reason: String }\n")


def _string_enums(sdl: str) -> str:
    sdl = _replace(sdl, "role: TenantRole!): Tenant!", "role: String!): Tenant!")
    sdl = _replace(sdl, "tenantType: TenantType!", "tenantType: String!")
    return _replace(sdl, "type: TenantType! role: TenantRole }", "type: String! role: String }")


def _custom_scalars(sdl: str) -> str:
    for old, new in (("user(id: ID!)", "user(id: ObjectID!)"),
                     ("userTenants(userId: ID!)", "userTenants(userId: ObjectID!)"),
                     ("addUserToTenant(userId: ID!", "addUserToTenant(userId: ObjectID!"),
                     ("removeFriend(friendId: ID!)", "removeFriend(friendId: ObjectID!)")):
        sdl = _replace(sdl, old, new)
    sdl = re.sub(r"\b(createdAt|updatedAt|purchaseDate): String\b", r"\1: DateTime", sdl)
    return sdl + "\nscalar ObjectID\nscalar DateTime\n"


def _union_results(sdl: str) -> str:
    sdl = _replace(sdl, "record(id: ID!): Record\n", "record(id: ID!): RecordResult!\n")
    return sdl + ("\ntype NotFound { message: String! }\n"
                  "union RecordResult = Record | NotFound\n")


def _wrapped_friend_requests(sdl: str) -> str:
    sdl = _replace(sdl, "sendFriendRequest(githubLogin: String!): FriendRequest!",
                   "sendFriendRequest(githubLogin: String!): FriendRequestPayload!")
    sdl = _replace(sdl, "respondToFriendRequest(requestId: ID!, accept: Boolean!): FriendRequest!",
                   "respondToFriendRequest(requestId: ID!, accept: Boolean!): "
                   "FriendRequestPayload!")
    return sdl + ("\ntype FriendRequestPayload { friendRequest: FriendRequest "
                  "errors: [UserError!]! }\n")


def _renamed_inputs(sdl: str) -> str:
    for old, new in INPUT_RENAMES.items():
        sdl = re.sub(rf"\b{old}\b", new, sdl)
    return sdl


# In this order: shapes first, then what rewrites names and types across the whole text.
EDITS: tuple[tuple[str, Callable[[str], str]], ...] = (
    ("extra-required-inputs", _extra_required),
    ("webhook-input-shape", _webhook_shape),
    ("extra-operations", _extra_operations),
    ("payload-wrapped-friend-requests", _wrapped_friend_requests),
    ("union-results", _union_results),
    ("required-pagination", lambda s: _replace(
        _replace(s, "records(first: Int,", "records(first: Int!,"),
        "searchRecords(query: String!, first: Int,", "searchRecords(query: String!, first: Int!,")),
    ("string-enums", _string_enums),
    ("custom-scalars", _custom_scalars),
    ("errors-as-strings", lambda s: _replace(s, "errors: [UserError!]!", "errors: [String!]!")),
    ("renamed-input-types", _renamed_inputs),
)


def sdl_for(active: tuple[str, ...]) -> str:
    sdl = BASE_SDL
    for name, edit in EDITS:
        if name in active:
            sdl = edit(sdl)
    return sdl


@cache
def served_sdl() -> str:
    """The SDL of this process's dialects."""
    return sdl_for(dialects.active_set())


@cache
def served_schema() -> GraphQLSchema:
    return build_schema(served_sdl())


def arg_type(field: str, arg: str) -> str:
    """How this process's schema types an argument, for the documents the target sends itself."""
    schema = served_schema()
    for root in (schema.query_type, schema.mutation_type):
        if root is not None and field in root.fields:
            return str(root.fields[field].args[arg].type)
    raise KeyError(field)


def input_type(field: str) -> str:
    """The name of a mutation's `input` argument type in this process's schema."""
    mutation = served_schema().mutation_type
    assert mutation is not None
    named = get_named_type(mutation.fields[field].args["input"].type)
    assert named is not None
    return str(named.name)
