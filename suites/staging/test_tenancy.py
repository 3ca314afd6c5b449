"""No user reads, changes or gains a role in another user's tenant (contract §4, §5).

User A owns a record in A's personal tenant; user B holds no role there. Every
refusal below is paired with a control showing the same request works for
someone entitled to it, so a check cannot pass merely because a call is broken.
"""

from __future__ import annotations

import json
import random
import secrets as pysecrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from vvgate.access.graphql_client import Gql
from vvgate.access.graphql_ops import (
    error_messages,
    field_value,
    find_id,
    parse,
    payload_errors,
    refusal_reason,
)
from vvgate.gates.inconclusive import inconclusive
from vvgate.identity.session_forge import tenant_database_name
from vvgate.identity.synthetic_users import SyntheticUser, SyntheticWorld
from vvgate.mongo.access import MongoAccess

pytestmark = [pytest.mark.gate("tenancy"), pytest.mark.plan("8.5")]


@dataclass
class OwnedRecord:
    id: str
    notes: str
    token: str
    stored: dict[str, Any]  # the document as A's tenant database held it after creation

    def now(self, mongo: MongoAccess, database: str) -> dict[str, Any] | None:
        """The same document (by _id) as it is now, or None once it is gone."""
        doc: dict[str, Any] | None = mongo.tenant_db(database).records.find_one(
            {"_id": self.stored["_id"]})
        return doc

    def where_token_is(self) -> dict[str, Any]:
        """A query for this record by the field the application keeps its notes in: the
        contract names the input field, not the stored one."""
        for key, value in self.stored.items():
            if isinstance(value, str) and self.token in value:
                return {key: value}
        return {"_id": self.stored["_id"]}


def _records_text(response: Any) -> str:
    return str(field_value(response, "records") or "") + str(
        field_value(response, "searchRecords") or "")


def _holding(mongo: MongoAccess, database: str, token: str) -> dict[str, Any] | None:
    """The record of a (synthetic, small) tenant database whose content carries `token`."""
    for doc in mongo.tenant_db(database).records.find({}):
        if token in str(doc):
            found: dict[str, Any] = doc
            return found
    return None


def _create_record(gql: Gql, world: SyntheticWorld, owner: SyntheticUser,
                   mongo: MongoAccess) -> OwnedRecord:
    """A record created through the API by its owner, as the application stores it."""
    token = f"vvgate-{world.run_id}-{pysecrets.token_hex(4)}"
    notes = f"{token} private notes of A"
    release = world.seed_release(owner, f"{token} release")
    response = gql.call("createRecord", {"releaseId": str(release), "notes": notes},
                        cookie=owner.cookie)
    payload = field_value(response, "createRecord")
    record_id = find_id((payload or {}).get("record")) if isinstance(payload, dict) else None
    record_id = record_id or find_id(payload)
    if not record_id:
        inconclusive(f"set-up: A could not create a record in A's own tenant: "
                     f"{error_messages(response)[:2]} {payload_errors(payload)[:2]}")
    stored = _holding(mongo, owner.database, token)
    if stored is None:
        inconclusive(f"set-up: A's new record {record_id} is not in A's tenant database "
                     f"{owner.database}")
    return OwnedRecord(record_id, notes, token, stored)


def _reads(response: Any, record: OwnedRecord) -> bool:
    """Whether record(id) handed out this record (a "not found" result is not it)."""
    return record.id in _ids_in(field_value(response, "record"))


def _reports_success(payload: Any) -> bool:
    """Whether a record mutation's payload says it did something (contract §5's fields)."""
    return isinstance(payload, dict) and bool(payload.get("record")
                                              or payload.get("deletedRecordId"))


def _ids_in(value: Any) -> set[str]:
    """Every `id` and `tenantId` in a result, however deep (an error text is not one)."""
    if isinstance(value, list):
        return set().union(*map(_ids_in, value)) if value else set()
    if not isinstance(value, dict):
        return set()
    own = {str(v) for k, v in value.items() if k in {"id", "tenantId"} and v is not None}
    return own.union(*map(_ids_in, value.values()))


@pytest.fixture(scope="module")
def a_record(module_gql: Gql, world: SyntheticWorld, user_a: SyntheticUser,
             mongo: MongoAccess) -> OwnedRecord:
    """A's record that the read checks look for; no check writes to it."""
    return _create_record(module_gql, world, user_a, mongo)


@pytest.fixture
def a_target_record(gql: Gql, world: SyntheticWorld, user_a: SyntheticUser,
                    mongo: MongoAccess) -> OwnedRecord:
    """A fresh record of A's for one write attempt, so a write that gets through
    cannot spoil the other checks."""
    return _create_record(gql, world, user_a, mongo)


def test_owner_sees_own_record(gql: Gql, user_a: SyntheticUser, a_record: OwnedRecord) -> None:
    # Control for the visibility checks below.
    response = gql.call("record", {"id": a_record.id}, cookie=user_a.cookie)
    if not _reads(response, a_record):
        inconclusive(f"control: A cannot read A's own record, so B's not seeing it would prove "
                     f"nothing: {error_messages(response)[:2]}")
    listed = gql.call("records", {"first": 50}, cookie=user_a.cookie)
    if a_record.id not in _records_text(listed):
        inconclusive("control: A's own record is missing from A's records list")


@pytest.mark.smoke
@pytest.mark.parametrize("field", ["records", "record", "searchRecords"])
def test_record_of_a_is_invisible_to_b(gql: Gql, user_b: SyntheticUser, a_record: OwnedRecord,
                                       field: str) -> None:
    values = {"id": a_record.id, "query": a_record.token, "first": 50}
    response = gql.call(field, values, cookie=user_b.cookie)
    seen = str(parse(response).get("data"))
    assert a_record.id not in seen and a_record.token not in seen, (
        f"B sees A's record through {field}: {seen[:300]}")
    # A null or a "not found" result is fine; A's record, in any field of it, is not.
    assert a_record.id not in _ids_in(field_value(response, field)), (
        f"{field} answered B with A's record: {seen[:300]}")


@pytest.mark.parametrize("field", ["updateRecord", "deleteRecord"])
def test_b_cannot_change_a_record(gql: Gql, user_b: SyntheticUser, user_a: SyntheticUser,
                                  a_target_record: OwnedRecord, mongo: MongoAccess,
                                  field: str) -> None:
    record = a_target_record
    response = gql.call(field, {"id": record.id, "notes": "vvgate: changed by B"},
                        cookie=user_b.cookie)
    payload = field_value(response, field) or {}
    after = record.now(mongo, user_a.database)
    assert after is not None, f"B's {field} deleted A's record from the database"
    assert after == record.stored, f"B's {field} changed A's record in the database"
    assert not _reports_success(payload), f"B's {field} on A's record reported success: {payload}"


def test_b_cannot_switch_into_a_tenant(gql: Gql, user_a: SyntheticUser, user_b: SyntheticUser,
                                       a_record: OwnedRecord, mongo: MongoAccess) -> None:
    response = gql.call("switchTenant", {"tenantId": user_a.tenant_id}, cookie=user_b.cookie)
    stored = mongo.sessions.find_one({"_id": user_b.sid}) or {}
    active = json.loads(stored.get("session") or "{}").get("activeTenantId")
    assert active != user_a.tenant_id, "switchTenant moved B's session into A's tenant"
    # A refusal may come as an error or as a payload saying so; handing out A's tenant is not.
    answered = field_value(response, "switchTenant")
    assert user_a.tenant_id not in _ids_in(answered), (
        f"switchTenant into A's tenant answered for B with that tenant: {answered}")
    listed = gql.call("records", {"first": 50}, cookie=user_b.cookie)
    assert a_record.id not in _records_text(listed), "after switchTenant B lists A's records"


@dataclass
class OrgTenant:
    tenant_id: str
    github_org_id: int
    installation_id: int  # the GitHub App's installation on the organisation


@pytest.fixture(scope="module")
def a_org(world: SyntheticWorld, user_a: SyntheticUser) -> OrgTenant:
    github_org_id = random.randint(10**11, 10**12)
    installation_id = random.randint(10**8, 10**9)
    tenant_id = world.create_org_tenant(user_a, github_org_id, installation_id)
    return OrgTenant(tenant_id, github_org_id, installation_id)


def _friend_request_then_accept(gql: Gql, user_a: SyntheticUser,
                                user_b: SyntheticUser) -> None:
    """B asks A for friendship, then B (not A) accepts it."""
    sent = gql.call("sendFriendRequest", {"githubLogin": user_a.login}, cookie=user_b.cookie)
    request_id = find_id(field_value(sent, "sendFriendRequest"))
    if request_id is None:
        inconclusive(f"set-up: B could not send A a friend request: "
                     f"{error_messages(sent)[:2]} "
                     f"{payload_errors(field_value(sent, 'sendFriendRequest'))[:2]}")
    gql.call("respondToFriendRequest", {"requestId": request_id, "accept": True},
             cookie=user_b.cookie)


def _drop_roles(world: SyntheticWorld, who: SyntheticUser, tenant_ids: list[str]) -> None:
    """Undo whatever a successful escalation granted, so each attempt is judged alone."""
    for tenant_id in tenant_ids:
        world.revoke(who.user["_id"], tenant_id)


ESCALATIONS = ["addUserToTenant-personal", "addUserToTenant-org", "createTenant",
               "handleGitHubInstallationWebhook", "completeInstallationSetup",
               "respondToFriendRequest"]


@pytest.mark.parametrize("attempt", ESCALATIONS)
def test_no_mutation_gives_b_a_role_in_a_tenant(
    gql: Gql, world: SyntheticWorld, user_a: SyntheticUser, user_b: SyntheticUser,
    a_org: OrgTenant, attempt: str, request: pytest.FixtureRequest,
) -> None:
    org_tenant = a_org.tenant_id
    request.addfinalizer(lambda: _drop_roles(world, user_b, [user_a.tenant_id, org_tenant]))
    # The installation mutations name A's organisation's own installation: one that
    # names nothing of A's could not hand B a role in A's tenants even if it tried.
    name = f"vvgate-{world.run_id}-org-by-b"
    org, installation = str(a_org.github_org_id), a_org.installation_id
    values: dict[str, Any] = {
        "userId": user_b.id, "role": "ADMIN", "tenantType": "ORGANIZATION", "name": name,
        "githubOrgId": org, "githubOrgName": name, "action": "created",
        "setupAction": "install", "accountType": "Organization",
        "installationId": installation, "installation.id": installation,
        "accountId": org, "account.id": org, "accountLogin": user_b.login,
        "account.login": user_b.login, "account.type": "Organization",
    }
    if attempt == "addUserToTenant-personal":
        gql.call("addUserToTenant", {**values, "tenantId": user_a.tenant_id},
                 cookie=user_b.cookie)
    elif attempt == "addUserToTenant-org":
        gql.call("addUserToTenant", {**values, "tenantId": org_tenant}, cookie=user_b.cookie)
    elif attempt == "respondToFriendRequest":
        _friend_request_then_accept(gql, user_a, user_b)
    else:
        gql.call(attempt, values, cookie=user_b.cookie)
    gained = world.roles_of(user_b, [user_a.tenant_id, org_tenant])
    assert not gained, f"after {attempt} by B, B holds {gained} in A's tenants"


@pytest.fixture
def b_as_viewer(world: SyntheticWorld, user_a: SyntheticUser,
                user_b: SyntheticUser) -> Iterator[str]:
    """A session of B's with VIEWER in A's tenant active, as an accepted friendship gives."""
    world.grant(user_b.user["_id"], user_a.tenant_id, "VIEWER")
    try:
        yield world.cookie_for(world.new_session(user_b.user, user_a.tenant_id))
    finally:
        world.revoke(user_b.user["_id"], user_a.tenant_id)


@pytest.mark.parametrize("field", ["createRecord", "updateRecord", "deleteRecord"])
def test_viewer_cannot_write(gql: Gql, b_as_viewer: str, user_a: SyntheticUser,
                             a_target_record: OwnedRecord, mongo: MongoAccess,
                             world: SyntheticWorld, field: str) -> None:
    a_record = a_target_record
    control = gql.call("record", {"id": a_record.id}, cookie=b_as_viewer)
    if not _reads(control, a_record):
        inconclusive(f"control: a VIEWER cannot read the tenant's record, so the VIEWER session "
                     f"is not what the check needs: {error_messages(control)[:2]}")
    records = mongo.tenant_db(user_a.database).records
    before = sorted(map(str, records.find({})))
    release = world.seed_release(user_a, "vvgate viewer probe")
    response = gql.call(field, {"id": a_record.id, "releaseId": str(release),
                                "notes": "vvgate: written by a VIEWER"}, cookie=b_as_viewer)
    after = sorted(map(str, records.find({})))
    assert after == before, f"a VIEWER's {field} changed the tenant's records"
    payload = field_value(response, field) or {}
    assert not _reports_success(payload), f"a VIEWER's {field} reported success: {payload}"
    assert refusal_reason(response, field) or payload_errors(payload) or error_messages(
        response), f"a VIEWER's {field} was neither refused nor answered with errors"


def test_removed_role_stops_working_for_an_existing_session(
    gql: Gql, world: SyntheticWorld, user_a: SyntheticUser, user_b: SyntheticUser,
    a_record: OwnedRecord,
) -> None:
    world.grant(user_b.user["_id"], user_a.tenant_id, "VIEWER")
    cookie = world.cookie_for(world.new_session(user_b.user, user_a.tenant_id))
    try:
        control = gql.call("record", {"id": a_record.id}, cookie=cookie)
        if not _reads(control, a_record):
            inconclusive(f"control: the VIEWER session cannot read before revocation, so "
                         f"what it reads after proves nothing: {error_messages(control)[:2]}")
    finally:
        world.revoke(user_b.user["_id"], user_a.tenant_id)
    after = gql.call("record", {"id": a_record.id}, cookie=cookie)
    assert not _reads(after, a_record), (
        "after B's role was removed, B's existing session still reads A's record")
    listed = gql.call("records", {"first": 50}, cookie=cookie)
    assert a_record.id not in _records_text(listed), (
        "after B's role was removed, B's existing session still lists A's records")


def test_a_tenant_the_application_creates_follows_the_naming_rule(
    gql: Gql, world: SyntheticWorld, user_a: SyntheticUser, mongo: MongoAccess,
) -> None:
    # Every synthetic tenant is named by the suite itself; this one the application names.
    github_org_id = random.randint(10**11, 10**12)
    name = f"vvgate-{world.run_id}-org-by-a"  # the run's cleanup finds it by this name
    response = gql.call("createTenant", {"tenantType": "ORGANIZATION", "name": name,
                                         "githubOrgId": str(github_org_id),
                                         "githubOrgName": name}, cookie=user_a.cookie)
    tenant_id = f"org_{github_org_id}"
    made = mongo.registry.tenants.find_one({"tenantId": tenant_id})
    if made is None:
        inconclusive(f"set-up: A's createTenant made no tenant {tenant_id}, so there is no "
                     f"application-named database to check: {error_messages(response)[:2]} "
                     f"{field_value(response, 'createTenant')}")
    expected = tenant_database_name(tenant_id)
    assert made.get("databaseName") == expected, (
        f"the application named tenant {tenant_id}'s database {made.get('databaseName')!r}, "
        f"not vv_+sha256[:12] = {expected!r}")


def test_tenant_databases_follow_the_naming_rule(mongo: MongoAccess) -> None:
    wrong = [(t["tenantId"], t.get("databaseName"))
             for t in mongo.registry.tenants.find({}, {"tenantId": 1, "databaseName": 1})
             if t.get("databaseName") != tenant_database_name(t["tenantId"])]
    assert not wrong, f"tenants whose databaseName breaks vv_+sha256[:12]: {wrong[:5]}"


def test_a_data_lives_only_in_a_database(mongo: MongoAccess, user_a: SyntheticUser,
                                         a_record: OwnedRecord) -> None:
    names = {t["databaseName"] for t in mongo.registry.tenants.find({}, {"databaseName": 1})
             if t.get("databaseName")}
    query = {"$or": [{"_id": a_record.stored["_id"]}, a_record.where_token_is()]}
    holders = sorted(n for n in names if mongo.tenant_db(n).records.find_one(query))
    assert holders == [user_a.database], (
        f"A's record is stored in {holders}, expected only {user_a.database}")
