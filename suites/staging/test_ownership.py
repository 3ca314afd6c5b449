"""Ownership inside a shared tenant (contract §6, a SHOULD): a MEMBER updates or deletes only
the records they created; an ADMIN may change any. The gate is advisory unless the profile's
`gates: {ownership: blocking}` makes it block.

An organisation tenant holds A (ADMIN), B and C (MEMBERs); C creates a record through the API.
Every refusal is paired with its control: the same mutation by C on a record of C's own works.
"""

from __future__ import annotations

import random
import secrets as pysecrets
from dataclasses import dataclass
from typing import Any

import pytest

from vvgate.access.graphql_client import Gql
from vvgate.access.graphql_ops import error_messages, field_value, find_id, payload_errors
from vvgate.gates.inconclusive import inconclusive
from vvgate.identity.session_forge import tenant_database_name
from vvgate.identity.synthetic_users import SyntheticUser, SyntheticWorld
from vvgate.mongo.access import MongoAccess

pytestmark = [pytest.mark.gate("ownership"), pytest.mark.plan("8.5")]


@dataclass
class SharedTenant:
    tenant_id: str
    creator: SyntheticUser  # C, the MEMBER whose records the others try to change
    cookies: dict[str, str]  # role holder ("admin", "member", "creator") -> session cookie

    @property
    def database(self) -> str:
        return tenant_database_name(self.tenant_id)


@dataclass
class Record:
    id: str
    stored: dict[str, Any]


@pytest.fixture(scope="module")
def shared(world: SyntheticWorld, user_a: SyntheticUser, user_b: SyntheticUser) -> SharedTenant:
    tenant_id = world.create_org_tenant(user_a, random.randint(10**11, 10**12),
                                        random.randint(10**8, 10**9))
    user_c = world.create_user("c")
    for member in (user_b, user_c):
        world.grant(member.user["_id"], tenant_id, "MEMBER")
    cookies = {role: world.cookie_for(world.new_session(who.user, tenant_id))
               for role, who in (("admin", user_a), ("member", user_b), ("creator", user_c))}
    return SharedTenant(tenant_id, user_c, cookies)


def _create(gql: Gql, world: SyntheticWorld, shared: SharedTenant, mongo: MongoAccess) -> Record:
    """A record C creates in the shared tenant through the API, as the application stores it."""
    token = f"vvgate-{world.run_id}-{pysecrets.token_hex(4)}"
    release = world.seed_release(shared.creator, f"{token} release", tenant_id=shared.tenant_id)
    response = gql.call("createRecord", {"releaseId": str(release), "notes": f"{token} of C"},
                        cookie=shared.cookies["creator"])
    payload = field_value(response, "createRecord")
    record_id = (find_id(payload.get("record")) if isinstance(payload, dict) else None) or (
        find_id(payload))
    stored = next((d for d in mongo.tenant_db(shared.database).records.find({})
                   if token in str(d)), None)
    if not record_id or stored is None:
        inconclusive(f"set-up: a MEMBER could not create a record in the shared tenant: "
                     f"{error_messages(response)[:2]} {payload_errors(payload)[:2]}")
    return Record(record_id, stored)


@pytest.fixture
def c_record(module_gql: Gql, world: SyntheticWorld, shared: SharedTenant,
             mongo: MongoAccess) -> Record:
    return _create(module_gql, world, shared, mongo)


def _change(gql: Gql, field: str, record: Record, cookie: str) -> Any:
    response = gql.call(field, {"id": record.id, "notes": "vvgate: changed"}, cookie=cookie)
    return field_value(response, field)


def _succeeded(payload: Any) -> bool:
    return isinstance(payload, dict) and bool(payload.get("record")
                                              or payload.get("deletedRecordId"))


def _now(mongo: MongoAccess, shared: SharedTenant, record: Record) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = mongo.tenant_db(shared.database).records.find_one(
        {"_id": record.stored["_id"]})
    return doc


@pytest.mark.parametrize("field", ["updateRecord", "deleteRecord"])
def test_a_member_cannot_change_another_members_record(
        gql: Gql, world: SyntheticWorld, shared: SharedTenant, mongo: MongoAccess,
        c_record: Record, field: str) -> None:
    payload = _change(gql, field, c_record, shared.cookies["member"])
    after = _now(mongo, shared, c_record)
    control = _create(gql, world, shared, mongo)
    own = _change(gql, field, control, shared.cookies["creator"])
    if not _succeeded(own):
        inconclusive(f"control: the creator's own {field} did not succeed either, so the "
                     f"MEMBER's failing proves nothing: {payload_errors(own)[:2]}")
    assert after is not None, f"a MEMBER's {field} deleted another member's record"
    assert after == c_record.stored, f"a MEMBER's {field} changed another member's record"
    assert not _succeeded(payload), (
        f"a MEMBER's {field} of another member's record reported success: {payload}")


@pytest.mark.parametrize("field", ["updateRecord", "deleteRecord"])
def test_an_admin_can_change_any_record(gql: Gql, shared: SharedTenant, mongo: MongoAccess,
                                        c_record: Record, field: str) -> None:
    payload = _change(gql, field, c_record, shared.cookies["admin"])
    after = _now(mongo, shared, c_record)
    assert _succeeded(payload) and after != c_record.stored, (
        f"the tenant's ADMIN could not {field} a member's record: "
        f"{payload_errors(payload)[:2] or payload}")
