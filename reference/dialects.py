"""The dialects: ways a real, correct deployment may differ from this one where the contract
leaves room. Every dialect keeps the target secure; the suite must pass with any of them on.

Like the fault table, this is the single source of truth: the lifecycle validates
`--dialect` names against it, components ask `active()`, the effective schema
(`reference/dialect_schema.py`) follows it, and selftests iterate it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

DIALECTS_ENV = "VV_DIALECTS"
ALL = "all"


@dataclass(frozen=True)
class Dialect:
    name: str
    varies: str
    # Components whose behaviour the dialect changes; only these restart when it is toggled.
    components: tuple[str, ...]


DIALECTS: dict[str, Dialect] = {
    d.name: d
    for d in (
        Dialect("errors-as-strings",
                "mutation payloads carry `errors: [String!]!`, not objects with a message",
                ("bff", "backend")),
        Dialect("renamed-input-types",
                "every input type has another name (NewRecordInput for CreateRecordInput, ...)",
                ("bff", "backend")),
        Dialect("extra-required-inputs",
                "createRecord requires a `condition` enum and a `purchaseDate`; createTenant a "
                "`visibility` enum, none of which the contract names", ("bff", "backend")),
        Dialect("oauth-state-cookie",
                "GET /auth/github keeps its OAuth state in a signed cookie of its own and "
                "creates no session", ("bff",)),
        Dialect("return-to-refused",
                "GET /auth/github answers 400 to a return_to that is not a path of this site, "
                "instead of dropping it", ("bff",)),
        Dialect("extra-unique-indexes",
                "tenant databases keep a unique index on releases.externalId and a sparse unique "
                "one on records.recordNo, made on first use; the registry a sparse unique index "
                "on users.email", ("backend",)),
        Dialect("webhook-input-shape",
                "handleGitHubInstallationWebhook takes a nested installation/account input; "
                "completeInstallationSetup an ID installationId and a SetupAction enum",
                ("bff", "backend")),
        Dialect("extra-operations",
                "the schema has operations the contract does not list (exportRecords, "
                "recordStats, archiveRecord, deleteAccount), all refused to anonymous callers",
                ("bff", "backend")),
        Dialect("auth-error-variants",
                "an UNAUTHENTICATED error carries its code only in the message (no extensions); "
                "a FORBIDDEN one only in extensions.code, with the message `Access denied`",
                ("bff", "backend")),
        Dialect("http-status-refusals",
                "answers whose errors are all UNAUTHENTICATED (FORBIDDEN) come with HTTP 401 "
                "(403), as Apollo does with an http extension", ("bff", "backend")),
        Dialect("global-ids",
                "record ids are opaque base64 global ids (`Record:<hex>`), not ObjectId hex",
                ("backend",)),
        Dialect("required-pagination",
                "records and searchRecords require `first`", ("bff", "backend")),
        Dialect("string-enums",
                "roles and tenant types are plain strings in arguments, inputs and results",
                ("bff", "backend")),
        Dialect("custom-scalars",
                "ids of users come as a custom scalar ObjectID, dates as DateTime",
                ("bff", "backend")),
        Dialect("union-results",
                "record(id) returns a union RecordResult = Record | NotFound, never null",
                ("bff", "backend")),
        Dialect("payload-wrapped-friend-requests",
                "sendFriendRequest and respondToFriendRequest return a payload "
                "{friendRequest, errors}", ("bff", "backend")),
        Dialect("rolling-sessions",
                "every answer to a signed-in caller sets the session cookie again and extends "
                "the session (express-session rolling)", ("bff",)),
        Dialect("health-details",
                "GET /health adds version, uptime and dependency checks to its answer",
                ("bff",)),
        Dialect("extra-collections",
                "the backend keeps an audit collection in each tenant database and audit_log "
                "and feature_flags in the registry", ("backend",)),
    )
}


class UnknownDialectError(ValueError):
    pass


def parse(spec: str | None) -> tuple[str, ...]:
    """`a,b` (or `all`) -> ('a', 'b') in table order; UnknownDialectError on another name."""
    if not spec:
        return ()
    names = {n.strip() for n in spec.split(",") if n.strip()}
    if ALL in names:
        return tuple(DIALECTS)
    unknown = sorted(names - DIALECTS.keys())
    if unknown:
        raise UnknownDialectError(
            f"unknown dialect {unknown[0]!r}; known: {', '.join(DIALECTS)} (or {ALL})")
    return tuple(n for n in DIALECTS if n in names)


def for_component(component: str, active_dialects: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(n for n in active_dialects if component in DIALECTS[n].components)


def active(name: str) -> bool:
    """Whether this process was started with dialect `name` (components read VV_DIALECTS)."""
    if name not in DIALECTS:
        raise KeyError(name)
    return name in os.environ.get(DIALECTS_ENV, "").split(",")


def active_set() -> tuple[str, ...]:
    names = set(os.environ.get(DIALECTS_ENV, "").split(","))
    return tuple(n for n in DIALECTS if n in names)
