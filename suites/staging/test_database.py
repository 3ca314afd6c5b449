"""MongoDB refuses strangers and holds the layout the application relies on (contract §3, §4)."""

from __future__ import annotations

from typing import Any

import pytest
from pymongo.errors import OperationFailure, PyMongoError

from vvgate.gates.inconclusive import inconclusive
from vvgate.mongo.access import MongoAccess
from vvgate.targets.profile import Profile

pytestmark = [pytest.mark.gate("database"), pytest.mark.plan("3.1.2", "3.1.3")]

ROLES = ["bff", "backend"]
UNAUTHORIZED, AUTH_FAILED = 13, 18

REQUIRED_UNIQUE = [
    ("users", ("githubLogin",)),
    ("installations", ("installation_id",)),
    ("user_installation_roles", ("user_id", "installation_id")),
    ("friend_requests", ("requesterId", "recipientId")),
]
RECOMMENDED_UNIQUE = [
    ("tenants", ("tenantId",)),
    ("user_tenant_roles", ("userId", "tenantId")),
]


def _unique_keys(collection: Any) -> list[tuple[str, ...]]:
    return [tuple(spec["key"].keys()) for spec in collection.list_indexes() if spec.get("unique")]


@pytest.mark.smoke
@pytest.mark.parametrize("role", ROLES)
def test_unauthenticated_commands_are_refused(mongo: MongoAccess, role: str) -> None:
    anonymous = mongo.client(role, credentials=False)
    try:
        names = anonymous.list_database_names()
    except OperationFailure as exc:
        assert exc.code == UNAUTHORIZED, f"{role} MongoDB refused with code {exc.code}, not 13"
        return
    pytest.fail(f"{role} MongoDB lists its databases to an unauthenticated client: {names}")


@pytest.mark.parametrize("role", ROLES)
def test_a_wrong_password_is_refused(mongo: MongoAccess, role: str) -> None:
    wrong = mongo.client(role, password="vvgate-wrong-password")
    try:
        wrong.admin.command("listDatabases", nameOnly=True)
    except OperationFailure as exc:
        # A server that takes the wrong proof still fails the login, client-side: its reply
        # cannot prove the password the client holds, and pymongo refuses it without a code.
        assert exc.code == AUTH_FAILED, (
            f"{role} MongoDB did not refuse a wrong password with AuthenticationFailed (18): "
            f"code {exc.code}, {str(exc)[:120]}")
        return
    pytest.fail(f"{role} MongoDB accepted a wrong password")


@pytest.mark.parametrize(("role", "database"), [("bff", "session_database"),
                                                ("backend", "registry_database")])
def test_expected_database_exists(mongo: MongoAccess, role: str, database: str) -> None:
    name = getattr(mongo.layout, database)
    db = (mongo.bff if role == "bff" else mongo.backend)[name]
    # Asking the database itself needs no cluster-wide listDatabases privilege, which the
    # application's user rightly lacks. The suite's own sessions and registry entries create
    # the database too, so only what the application alone makes counts: its indexes.
    collections = sorted(db.list_collection_names())
    indexed = [c for c in collections
               if any(spec["name"] != "_id_" for spec in db[c].list_indexes())]
    assert indexed, (
        f"{role} MongoDB has no database {name} set up by the application: "
        f"collections {collections}, none with an index besides _id")


@pytest.mark.parametrize(("collection", "keys"), REQUIRED_UNIQUE,
                         ids=[f"{c}.{'+'.join(k)}" for c, k in REQUIRED_UNIQUE])
@pytest.mark.plan("8.5")
def test_registry_unique_index(mongo: MongoAccess, collection: str, keys: tuple[str, ...]) -> None:
    found = _unique_keys(mongo.registry[collection])
    assert keys in found, (
        f"registry {collection} has no unique index on {keys}; unique indexes: {found}")


@pytest.mark.parametrize(("collection", "keys"), RECOMMENDED_UNIQUE,
                         ids=[f"{c}.{'+'.join(k)}" for c, k in RECOMMENDED_UNIQUE])
@pytest.mark.plan("8.5")
def test_registry_recommended_unique_index(mongo: MongoAccess, collection: str,
                                           keys: tuple[str, ...]) -> None:
    # A SHOULD of the contract: reported as a skip with the reason, never a failure.
    if keys not in _unique_keys(mongo.registry[collection]):
        pytest.skip(f"recommended: registry {collection} has no unique index on {keys}")


@pytest.mark.plan("8.4")
def test_sessions_expire_through_a_ttl_index(mongo: MongoAccess) -> None:
    indexes = {tuple(spec["key"].keys()): spec for spec in mongo.sessions.list_indexes()}
    spec = indexes.get(("expires",))
    assert spec is not None, "sessions has no index on expires"
    assert spec.get("expireAfterSeconds") == 0, (
        f"sessions.expires index has expireAfterSeconds={spec.get('expireAfterSeconds')!r}, "
        "not 0")


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.plan("3.1.2", "3.1.3", "8.3")
def test_replica_set_membership(mongo: MongoAccess, profile: Profile, role: str) -> None:
    assert profile.mongodb is not None
    instance = profile.mongodb.bff if role == "bff" else profile.mongodb.backend
    if instance.replica_set is None:
        pytest.skip(f"the {profile.kind} target {profile.name!r} declares no replica set for "
                    f"{role} (profile mongodb.{role}.replica_set)")
    client = mongo.bff if role == "bff" else mongo.backend
    try:
        status = client.admin.command("replSetGetStatus")
    except PyMongoError as exc:
        inconclusive(f"{role}: replSetGetStatus could not be run: {exc}")
    members = status.get("members", [])
    primaries = [m.get("name") for m in members if m.get("stateStr") == "PRIMARY"]
    assert status.get("set") == instance.replica_set, (
        f"{role} replica set is {status.get('set')!r}, expected {instance.replica_set!r}")
    assert len(members) == instance.members, (
        f"{role} replica set has {len(members)} members, expected {instance.members}")
    assert len(primaries) == 1, f"{role} replica set has primaries {primaries}, expected one"
