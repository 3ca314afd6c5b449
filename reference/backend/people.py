"""Users, tenants, roles, friends and installations in the registry."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument

from reference import faults
from reference.backend import dialect_data, present
from reference.backend.context import Context, Doc, bad_input, forbidden, object_id
from reference.tenancy import ROLES, new_tenant_database, org_tenant, personal_tenant


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def viewer(ctx: Context) -> Doc | None:
    if not ctx.claims or ctx.service:
        return None
    return present.user(ctx.registry.users.find_one({"_id": ctx.user_id()}))


def notification_count(ctx: Context) -> int:
    if not ctx.claims or ctx.service:
        return 0
    return ctx.registry.friend_requests.count_documents(
        {"recipientId": ctx.user_id(), "status": "PENDING"}
    )


def user(ctx: Context, user_id: str) -> Doc | None:
    oid = object_id(user_id)
    if faults.active("anonymous-user-read"):
        # Fault: a profile page's resolver without the auth check; email and all.
        return present.user(ctx.registry.users.find_one({"_id": oid}), private=True)
    me = ctx.user_id()
    return present.user(ctx.registry.users.find_one({"_id": oid}), private=oid == me)


def user_tenants(ctx: Context, user_id: str) -> list[Doc]:
    me = ctx.user_id()
    if object_id(user_id) != me:
        raise forbidden("You can only list your own tenants")
    roles = {r["tenantId"]: r["role"] for r in ctx.registry.user_tenant_roles.find({"userId": me})}
    tenants = ctx.registry.tenants.find({"tenantId": {"$in": list(roles)}})
    return [present.tenant(t, roles[t["tenantId"]]) for t in tenants]


def search_users(ctx: Context, query: str) -> list[Doc]:
    ctx.user_id()
    pattern = re.compile("^" + re.escape(query), re.IGNORECASE)
    docs = ctx.registry.users.find({"githubLogin": pattern}).limit(20)
    return [u for u in (present.user(d, private=False) for d in docs) if u]


def _ensure_tenant(ctx: Context, tenant_id: str, tenant_type: str, name: str) -> Doc:
    now = _now()
    doc = ctx.registry.tenants.find_one_and_update(
        {"tenantId": tenant_id},
        {"$setOnInsert": {"tenantId": tenant_id, "tenantType": tenant_type, "name": name,
                          "databaseName": new_tenant_database(tenant_id), "createdAt": now,
                          "updatedAt": now}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert doc is not None  # upsert=True with ReturnDocument.AFTER always yields a document
    return dict(doc)


def _grant(ctx: Context, user_id: ObjectId, tenant_id: str, role: str, replace: bool) -> None:
    now = _now()
    update: dict[str, Any] = {"$setOnInsert": {"createdAt": now}}
    if replace:
        update["$set"] = {"role": role, "updatedAt": now}
    else:
        update["$setOnInsert"].update({"role": role, "updatedAt": now})
    ctx.registry.user_tenant_roles.update_one(
        {"userId": user_id, "tenantId": tenant_id}, update, upsert=True
    )
    dialect_data.audit(ctx.registry, "role.grant", userId=user_id, tenantId=tenant_id, role=role)


def upsert_user(ctx: Context, data: dict[str, Any]) -> Doc:
    anonymous_ok = faults.active("anonymous-mutation")
    # The BFF signs a user in as itself (service token): nobody holds a session yet.
    if not ctx.service and not (anonymous_ok and not ctx.claims):
        ctx.user_id()
        if ctx.claims and data["githubLogin"] != ctx.claims.get("githubLogin"):
            raise forbidden("You can only update your own user")
    now = _now()
    fields = {k: data.get(k) for k in ("githubId", "displayName", "avatarUrl", "email")}
    doc = ctx.registry.users.find_one_and_update(
        {"githubLogin": data["githubLogin"]},
        {"$set": {**fields, "updatedAt": now},
         "$setOnInsert": {"createdAt": now,
                          "settings": {"spotifyPreview": False, "allowFriendInvites": True}}},
        upsert=True,
        return_document=ReturnDocument.AFTER,
    )
    assert doc is not None  # upserted
    tenant_id = personal_tenant(str(doc["_id"]))
    _ensure_tenant(ctx, tenant_id, "USER", f"{data['githubLogin']}'s collection")
    _grant(ctx, doc["_id"], tenant_id, "ADMIN", replace=False)
    out = present.user(doc)
    assert out is not None
    return out


def update_settings(ctx: Context, data: dict[str, Any]) -> Doc:
    me = ctx.user_id()
    changes: dict[str, Any] = {f"settings.{k}": bool(v) for k, v in data.items()
                               if v is not None}
    changes["updatedAt"] = _now()
    doc = ctx.registry.users.find_one_and_update(
        {"_id": me}, {"$set": changes}, return_document=ReturnDocument.AFTER
    )
    out = present.user(doc)
    if out is None:
        raise forbidden("Unknown user")
    return out


def create_tenant(ctx: Context, data: dict[str, Any]) -> Doc:
    me = ctx.user_id()
    if data["tenantType"] not in ("USER", "ORGANIZATION"):
        raise bad_input(f"unknown tenant type {data['tenantType']!r}")
    if data["tenantType"] == "USER":
        tenant_id = personal_tenant(str(me))
    else:
        if not data.get("githubOrgId"):
            raise bad_input("githubOrgId is required for an organisation tenant")
        tenant_id = org_tenant(data["githubOrgId"])
    existing = ctx.registry.tenants.find_one({"tenantId": tenant_id})
    if existing is not None:
        if faults.active("tenant-takeover"):
            # Fault: "creating" a tenant that exists hands it to whoever asks.
            _grant(ctx, me, tenant_id, "ADMIN", replace=True)
        if ctx.role_in(tenant_id) != "ADMIN":
            raise forbidden("Admin role required for this tenant")
        return present.tenant(existing, "ADMIN")
    doc = _ensure_tenant(ctx, tenant_id, data["tenantType"],
                         data.get("githubOrgName") or data["name"])
    _grant(ctx, me, tenant_id, "ADMIN", replace=True)
    return present.tenant(doc, "ADMIN")


def add_user_to_tenant(ctx: Context, user_id: str, tenant_id: str, role: str) -> Doc:
    ctx.user_id()
    if role not in ROLES:  # a plain string where the schema has no enum to refuse it
        raise bad_input(f"unknown role {role!r}")
    # Fault role-escalation: authorise against the caller's active tenant instead.
    checked = ctx.claims_tenant() if faults.active("role-escalation") else tenant_id
    if not checked or ctx.role_in(checked) != "ADMIN":
        raise forbidden("Admin role required to grant roles in this tenant")
    tenant = ctx.registry.tenants.find_one({"tenantId": tenant_id})
    target = ctx.registry.users.find_one({"_id": object_id(user_id)})
    if tenant is None or target is None:
        raise bad_input("Unknown tenant or user")
    _grant(ctx, target["_id"], tenant_id, role, replace=True)
    return present.tenant(tenant, role)


def _request(ctx: Context, doc: Doc) -> Doc:
    users = ctx.registry.users
    return {
        "id": str(doc["_id"]),
        "requester": present.user(users.find_one({"_id": doc["requesterId"]}), private=False),
        "recipient": present.user(users.find_one({"_id": doc["recipientId"]}), private=False),
        "status": doc["status"],
        "createdAt": present.iso(doc.get("createdAt")),
    }


def friend_requests(ctx: Context, side: str) -> list[Doc]:
    me = ctx.user_id()
    docs = ctx.registry.friend_requests.find({side: me, "status": "PENDING"})
    return [_request(ctx, d) for d in docs]


def friends(ctx: Context) -> list[Doc]:
    me = ctx.user_id()
    accepted = ctx.registry.friend_requests.find(
        {"status": "ACCEPTED", "$or": [{"requesterId": me}, {"recipientId": me}]}
    )
    ids = [d["recipientId"] if d["requesterId"] == me else d["requesterId"] for d in accepted]
    docs = ctx.registry.users.find({"_id": {"$in": ids}})
    return [u for u in (present.user(d, private=False) for d in docs) if u]


def send_friend_request(ctx: Context, github_login: str) -> Doc:
    me = ctx.user_id()
    target = ctx.registry.users.find_one({"githubLogin": github_login})
    if target is None or target["_id"] == me:
        raise bad_input("No such user")
    if (target.get("settings") or {}).get("allowFriendInvites") is False:
        raise forbidden("This user does not accept friend requests")
    existing = ctx.registry.friend_requests.find_one(
        {"$or": [{"requesterId": me, "recipientId": target["_id"]},
                 {"requesterId": target["_id"], "recipientId": me}]}
    )
    if existing is not None:
        return _request(ctx, existing)
    now = _now()
    doc: Doc = {"requesterId": me, "recipientId": target["_id"], "status": "PENDING",
                "createdAt": now, "updatedAt": now}
    doc["_id"] = ctx.registry.friend_requests.insert_one(doc).inserted_id
    return _request(ctx, doc)


def respond(ctx: Context, request_id: str, accept: bool) -> Doc:
    me = ctx.user_id()
    doc = ctx.registry.friend_requests.find_one({"_id": object_id(request_id)})
    if doc is None:
        raise forbidden("Not your friend request")
    answerers = {doc["recipientId"]}
    if faults.active("self-accept"):
        # Fault: the requester may answer its own request, and so befriend anyone.
        answerers.add(doc["requesterId"])
    if me not in answerers:
        raise forbidden("Not your friend request")
    if doc["status"] != "PENDING":
        raise bad_input("This request was already answered")
    status = "ACCEPTED" if accept else "DECLINED"
    ctx.registry.friend_requests.update_one(
        {"_id": doc["_id"]}, {"$set": {"status": status, "updatedAt": _now()}}
    )
    if accept:
        # Each side may view the other's personal collection; never downgrade a stronger role.
        recipient, requester = doc["recipientId"], doc["requesterId"]
        for viewer_id, owner_id in ((recipient, requester), (requester, recipient)):
            _grant(ctx, viewer_id, personal_tenant(str(owner_id)), "VIEWER", replace=False)
    doc["status"] = status
    return _request(ctx, doc)


def remove_friend(ctx: Context, friend_id: str) -> bool:
    me = ctx.user_id()
    friend = object_id(friend_id)
    ctx.registry.friend_requests.delete_many(
        {"$or": [{"requesterId": me, "recipientId": friend},
                 {"requesterId": friend, "recipientId": me}]}
    )
    for viewer_id, owner_id in ((me, friend), (friend, me)):
        ctx.registry.user_tenant_roles.delete_one(
            {"userId": viewer_id, "tenantId": personal_tenant(str(owner_id)), "role": "VIEWER"}
        )
    return True


def installation_webhook(ctx: Context, data: dict[str, Any]) -> Doc:
    caller = None
    if not ctx.service:
        caller = ctx.user_id()
        if not faults.active("webhook-grants-role"):
            raise forbidden("Only the BFF may report installation events")
    iid = int(data["installationId"])
    if data["action"] == "deleted":
        ctx.registry.installations.delete_one({"installation_id": iid})
        ctx.registry.user_installation_roles.delete_many({"installation_id": iid})
        return {"success": True, "installationId": iid, "message": "deleted"}
    now = _now()
    ctx.registry.installations.update_one(
        {"installation_id": iid},
        {"$set": {"account_login": data.get("accountLogin"), "account_id": data.get("accountId"),
                  "account_type": data.get("accountType"), "updatedAt": now},
         "$setOnInsert": {"createdAt": now}},
        upsert=True,
    )
    if caller is not None and data.get("accountId"):
        # Fault webhook-grants-role: the caller is taken for the installer of the account.
        tenant_id = org_tenant(data["accountId"])
        _ensure_tenant(ctx, tenant_id, "ORGANIZATION", str(data.get("accountLogin") or tenant_id))
        _grant(ctx, caller, tenant_id, "ADMIN", replace=True)
    return {"success": True, "installationId": iid, "message": data["action"]}


def complete_installation(ctx: Context, data: dict[str, Any]) -> Doc:
    me = ctx.user_id()
    if object_id(data["userId"]) != me:
        raise forbidden("You can only complete your own installation setup")
    iid = int(data["installationId"])
    now = _now()
    ctx.registry.user_installation_roles.update_one(
        {"user_id": me, "installation_id": iid},
        {"$setOnInsert": {"role": "ADMIN", "createdAt": now}, "$set": {"updatedAt": now}},
        upsert=True,
    )
    if faults.active("setup-grants-role"):
        # Fault: finishing a setup is taken as proof of administering the installation's
        # account, which only GitHub can vouch for.
        installation = ctx.registry.installations.find_one({"installation_id": iid})
        if installation is not None and installation.get("account_id"):
            _grant(ctx, me, org_tenant(installation["account_id"]), "ADMIN", replace=True)
    return {"success": True, "installationId": iid, "message": data.get("setupAction")}
