"""Synthetic users with personal tenants and forged sessions, and the janitor that removes them.

Everything created carries a tag naming the run, the host and the process, so
a later run can tell an abandoned run's leftovers (its process is gone, or it
is hours old) from a run still in progress elsewhere.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
from dataclasses import dataclass, field
from typing import Any

from bson import ObjectId
from pymongo.collection import Collection

from vvgate.identity.session_forge import (
    anonymous_session_document,
    cookie_header,
    new_sid,
    session_document,
    tenant_database_name,
)
from vvgate.mongo import seeding
from vvgate.mongo.access import MongoAccess
from vvgate.report.redaction import REDACTOR

TAG_FIELD = "vvgateRun"
NAME_PREFIX = "vvgate-"
ABANDONED_AFTER_S = 6 * 3600
REGISTRY_COLLECTIONS = ("users", "tenants", "user_tenant_roles", "friend_requests",
                        "installations", "user_installation_roles")


def run_tag(run_id: str) -> str:
    return f"vvgate/{run_id}/{socket.gethostname()}/{os.getpid()}/{int(time.time())}"


def abandoned(tag: str, current_run: str) -> bool:
    try:
        _, run_id, host, pid, started = tag.split("/")
    except ValueError:
        return True
    if run_id == current_run:
        return False
    if host == socket.gethostname():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            pass
    return time.time() - int(started) > ABANDONED_AFTER_S


@dataclass
class SyntheticUser:
    label: str
    user: dict[str, Any]
    tenant_id: str
    database: str
    sid: str
    cookie: str
    extra_sids: list[str] = field(default_factory=list)

    @property
    def id(self) -> str:
        return str(self.user["_id"])

    @property
    def login(self) -> str:
        return str(self.user["githubLogin"])


class SyntheticWorld:
    """Creates and removes the run's synthetic users, tenants, roles, sessions and data."""

    def __init__(self, mongo: MongoAccess, session_secret: str, run_id: str) -> None:
        self.mongo = mongo
        self.secret = session_secret
        self.run_id = run_id
        self.tag = run_tag(run_id)
        self.users: list[SyntheticUser] = []
        # values the run puts into unique keys it does not know of
        self.token = f"{NAME_PREFIX}{run_id}"

    def _insert(self, collection: Collection[Any], doc: dict[str, Any], what: str) -> None:
        seeding.insert(collection, doc, self.token, what)

    def create_user(self, label: str) -> SyntheticUser:
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        oid = ObjectId()
        login = f"{NAME_PREFIX}{self.run_id}-{label}"
        user = {
            "_id": oid,
            "githubId": 900_000_000 + int(oid.binary[-3:].hex(), 16),
            "githubLogin": login,
            "displayName": f"Gate synthetic user {label}",
            "avatarUrl": None,
            "email": f"{login}@invalid.test",
            "settings": {"spotifyPreview": False, "allowFriendInvites": True},
            "createdAt": now,
            "updatedAt": now,
            TAG_FIELD: self.tag,
        }
        tenant_id = f"user_{oid}"
        database = tenant_database_name(tenant_id)
        registry = self.mongo.registry
        self._insert(registry.users, user, f"synthetic user {label}")
        self._insert(registry.tenants, {
            "tenantId": tenant_id, "tenantType": "USER", "name": login,
            "databaseName": database, "createdAt": now, "updatedAt": now, TAG_FIELD: self.tag,
        }, f"the personal tenant of synthetic user {label}")
        self.grant(oid, tenant_id, "ADMIN")
        sid = self.new_session(user, tenant_id)
        synthetic = SyntheticUser(label, user, tenant_id, database, sid,
                                  cookie_header(sid, self.secret))
        self.users.append(synthetic)
        return synthetic

    def create_org_tenant(self, admin: SyntheticUser, github_org_id: int,
                          installation_id: int) -> str:
        """An organisation tenant with `admin` as its ADMIN and the GitHub App installed on
        the organisation, as the App's installation webhook and setup leave it."""
        now = dt.datetime.now(dt.UTC)
        tenant_id = f"org_{github_org_id}"
        name = f"{NAME_PREFIX}{self.run_id}-org-{github_org_id}"
        registry = self.mongo.registry
        self._insert(registry.tenants, {
            "tenantId": tenant_id, "tenantType": "ORGANIZATION", "name": name,
            "databaseName": tenant_database_name(tenant_id), "createdAt": now, "updatedAt": now,
            TAG_FIELD: self.tag,
        }, f"organisation tenant {tenant_id}")
        self.grant(admin.user["_id"], tenant_id, "ADMIN")
        self._insert(registry.installations, {
            "installation_id": installation_id, "account_login": name,
            "account_id": str(github_org_id), "account_type": "Organization",
            "createdAt": now, "updatedAt": now, TAG_FIELD: self.tag,
        }, f"the GitHub App installation {installation_id}")
        self._insert(registry.user_installation_roles, {
            "user_id": admin.user["_id"], "installation_id": installation_id, "role": "ADMIN",
            "createdAt": now, "updatedAt": now, TAG_FIELD: self.tag,
        }, f"the installation role of {admin.label}")
        return tenant_id

    def roles_of(self, who: SyntheticUser, tenant_ids: list[str]) -> list[dict[str, Any]]:
        """Role documents `who` holds in any of `tenant_ids`, however the id was stored."""
        return list(self.mongo.registry.user_tenant_roles.find(
            {"userId": {"$in": [who.user["_id"], who.id]}, "tenantId": {"$in": tenant_ids}},
            {"_id": 0, "tenantId": 1, "role": 1}))

    def grant(self, user_id: ObjectId, tenant_id: str, role: str) -> None:
        now = dt.datetime.now(dt.UTC)
        seeding.upsert(
            self.mongo.registry.user_tenant_roles,
            {"userId": user_id, "tenantId": tenant_id},
            {"$set": {"role": role, "updatedAt": now, TAG_FIELD: self.tag},
             "$setOnInsert": {"createdAt": now}},
            self.token, f"role {role} in {tenant_id}",
        )

    def revoke(self, user_id: ObjectId, tenant_id: str) -> None:
        """Removes the role, whether the application stored the user id as ObjectId or text."""
        self.mongo.registry.user_tenant_roles.delete_many(
            {"userId": {"$in": [user_id, str(user_id)]}, "tenantId": tenant_id})

    def available_tenants(self, user_id: ObjectId) -> list[dict[str, str]]:
        registry = self.mongo.registry
        out = []
        for role in registry.user_tenant_roles.find({"userId": user_id}):
            tenant = registry.tenants.find_one({"tenantId": role["tenantId"]}) or {}
            out.append({"tenantId": role["tenantId"], "tenantType": tenant.get("tenantType", ""),
                        "name": tenant.get("name", ""), "role": role["role"]})
        return out

    def new_session(self, user: dict[str, Any], active_tenant: str,
                    ttl: dt.timedelta | None = None) -> str:
        """A fresh session for `user`, whose tenant list is what the registry says now."""
        sid = new_sid(f"{NAME_PREFIX}{self.run_id}")
        now = dt.datetime.now(dt.UTC)
        args: dict[str, Any] = {} if ttl is None else {"ttl": ttl}
        doc = session_document(sid, user, active_tenant, self.available_tenants(user["_id"]),
                               now, **args)
        doc[TAG_FIELD] = self.tag
        self._insert(self.mongo.sessions, doc, "a synthetic session")
        REDACTOR.register(cookie_header(sid, self.secret).partition("=")[2])
        REDACTOR.register(sid)
        return sid

    def new_anonymous_session(self) -> str:
        """A session with nobody signed in, as a first visit leaves one."""
        sid = new_sid(f"{NAME_PREFIX}{self.run_id}")
        doc = anonymous_session_document(sid, dt.datetime.now(dt.UTC))
        doc[TAG_FIELD] = self.tag
        self._insert(self.mongo.sessions, doc, "an anonymous synthetic session")
        REDACTOR.register(cookie_header(sid, self.secret).partition("=")[2])
        REDACTOR.register(sid)
        return sid

    def sign_in_login(self, label: str) -> str:
        """A GitHub login for an account the run signs in with at an OAuth stand-in; what the
        application makes for it is the run's to remove (see `adopt`)."""
        return f"{NAME_PREFIX}{self.run_id}-{label}"

    def adopt(self, login: str) -> None:
        """Tag the user (and personal tenant) the application made when `login` signed in,
        so this run removes them and a later run's janitor knows whose they were."""
        registry = self.mongo.registry
        user = registry.users.find_one({"githubLogin": login}, {"_id": 1})
        if user is None:
            return
        registry.users.update_one({"_id": user["_id"]}, {"$set": {TAG_FIELD: self.tag}})
        registry.tenants.update_many({"tenantId": f"user_{user['_id']}"},
                                     {"$set": {TAG_FIELD: self.tag}})

    def cookie_for(self, sid: str) -> str:
        return cookie_header(sid, self.secret)

    def seed_release(self, who: SyntheticUser, title: str,
                     tenant_id: str | None = None) -> ObjectId:
        """A release in `who`'s personal tenant, or in `tenant_id`'s database when given."""
        now = dt.datetime.now(dt.UTC)
        oid = ObjectId()
        database = tenant_database_name(tenant_id) if tenant_id else who.database
        self._insert(self.mongo.tenant_db(database).releases, {
            "_id": oid, "barcode": f"0{int(oid.binary[-4:].hex(), 16):011d}",
            "artist": "Gate Synthetic Artist", "title": title, "source": "MANUAL",
            "genre": "Test", "createdAt": now, "updatedAt": now,
        }, f"a release in {tenant_id}" if tenant_id else f"a release in {who.label}'s tenant")
        return oid

    def cleanup(self) -> dict[str, int]:
        return sweep(self.mongo, self.run_id, only_run=self.run_id)


def sweep(mongo: MongoAccess, current_run: str, only_run: str | None = None) -> dict[str, int]:
    """Removes this run's objects (only_run) or abandoned runs' objects (janitor)."""
    def doomed(tag: str | None, name: str = "") -> bool:
        if only_run is not None:
            return bool(tag and tag.split("/")[1:2] == [only_run]) or (
                name.startswith(f"{NAME_PREFIX}{only_run}"))
        if tag is not None:
            return abandoned(tag, current_run)
        return False

    removed: dict[str, int] = {}
    registry = mongo.registry
    tenants = list(registry.tenants.find(
        {"$or": [{TAG_FIELD: {"$exists": True}}, {"name": {"$regex": f"^{NAME_PREFIX}"}}]}))
    # Users the application made when the run signed in at an OAuth stand-in carry its
    # name prefix, and its tag once adopted.
    users = list(registry.users.find({"$or": [{TAG_FIELD: {"$exists": True}},
                                              {"githubLogin": {"$regex": f"^{NAME_PREFIX}"}}]}))
    doomed_users = [u for u in users if doomed(u.get(TAG_FIELD), u.get("githubLogin", ""))]
    doomed_ids = {u["_id"] for u in doomed_users}
    doomed_tenants = [t for t in tenants
                      if doomed(t.get(TAG_FIELD), t.get("name", ""))
                      or t["tenantId"] in {f"user_{i}" for i in doomed_ids}]
    for tenant in doomed_tenants:
        # dropping each collection needs only readWrite; dropDatabase needs dbAdmin
        database = mongo.tenant_db(tenant["databaseName"])
        for collection in database.list_collection_names():
            database.drop_collection(collection)
    removed["tenant_databases"] = len(doomed_tenants)
    tenant_ids = [t["tenantId"] for t in doomed_tenants]
    ids = list(doomed_ids)
    installations = [i["installation_id"] for i in registry.installations.find(
        {TAG_FIELD: {"$exists": True}}, {TAG_FIELD: 1, "installation_id": 1})
        if doomed(i.get(TAG_FIELD))]
    # The application stores user ids as ObjectIds or as text; either way they are this run's.
    any_id = [*ids, *(str(i) for i in ids)]
    queries = {
        "users": {"_id": {"$in": ids}},
        "tenants": {"tenantId": {"$in": tenant_ids}},
        "user_tenant_roles": {"$or": [{"userId": {"$in": any_id}},
                                      {"tenantId": {"$in": tenant_ids}}]},
        "friend_requests": {"$or": [{"requesterId": {"$in": ids}},
                                    {"recipientId": {"$in": ids}}]},
        "installations": {"installation_id": {"$in": installations}},
        "user_installation_roles": {"$or": [{"user_id": {"$in": any_id}},
                                            {"installation_id": {"$in": installations}}]},
    }
    for name, query in queries.items():
        removed[name] = registry[name].delete_many(query).deleted_count
    sessions = [s for s in mongo.sessions.find({TAG_FIELD: {"$exists": True}}, {TAG_FIELD: 1})
                if doomed(s.get(TAG_FIELD))]
    # sessions the application itself wrote for a synthetic user carry no tag
    if ids:
        pattern = "|".join(str(i) for i in ids)
        sessions += list(mongo.sessions.find({"session": {"$regex": f'"id": ?"({pattern})"'}},
                                             {"_id": 1}))
    removed["sessions"] = mongo.sessions.delete_many(
        {"_id": {"$in": [s["_id"] for s in sessions]}}).deleted_count
    return removed
