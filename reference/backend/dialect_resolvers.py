"""The backend's side of the dialects: what its resolvers take and give in each one.

The resolvers keep one shape internally; these adapters translate at the edge, so a dialect
changes what the API looks like and never what it permits.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from ariadne import MutationType, QueryType, UnionType
from bson import ObjectId
from graphql import GraphQLResolveInfo

from reference import dialects
from reference.backend import records
from reference.backend.context import Context, Doc, bad_input
from reference.backend.record_ids import parse_record_id, record_id


def adapt_input(field: str, data: dict[str, Any]) -> dict[str, Any]:
    if field == "handleGitHubInstallationWebhook" and dialects.active("webhook-input-shape"):
        installation = data.get("installation") or {}
        account = installation.get("account") or {}
        return {"action": data.get("action"), "installationId": installation.get("id"),
                "accountLogin": account.get("login"), "accountId": account.get("id"),
                "accountType": account.get("type")}
    if field == "completeInstallationSetup" and dialects.active("webhook-input-shape"):
        raw = str(data.get("installationId", ""))
        if not raw.isdigit():
            raise bad_input(f"invalid installationId {raw!r}")
        return {**data, "installationId": int(raw),
                "setupAction": str(data.get("setupAction") or "").lower()}
    if field in {"updateRecord", "deleteRecord", "archiveRecord"} and "id" in data:
        return {**data, "id": parse_record_id(data["id"])}
    return data


def adapt_output(field: str, value: Any) -> Any:
    if dialects.active("errors-as-strings") and isinstance(value, dict) and "errors" in value:
        value = {**value, "errors": [e["message"] if isinstance(e, dict) else str(e)
                                     for e in value["errors"]]}
    if field == "deleteRecord" and isinstance(value, dict) and value.get("deletedRecordId"):
        value = {**value, "deletedRecordId": record_id(value["deletedRecordId"])}
    if (field in {"sendFriendRequest", "respondToFriendRequest"}
            and dialects.active("payload-wrapped-friend-requests")):
        value = {"friendRequest": value, "errors": []}
    if field == "record" and dialects.active("union-results") and value is None:
        value = {"__typename": "NotFound", "message": "Record not found"}
    return value


# --------------------------------------------------------------------------- extra operations

_query = QueryType()
_mutation = MutationType()


def _ctx(info: GraphQLResolveInfo[Context]) -> Context:
    ctx = info.context
    assert isinstance(ctx, Context)
    return ctx


@_query.field("exportRecords")
def _export(_: Any, info: GraphQLResolveInfo[Context], format: str) -> str:
    ctx = _ctx(info)
    tenant_id, _ = ctx.active_tenant()
    docs = list(ctx.tenant_db(tenant_id).records.find({}, {"notes": 1, "condition": 1}))
    rows = [{"id": record_id(d["_id"]), "notes": d.get("notes"),
             "condition": d.get("condition")} for d in docs]
    if format == "JSON":
        return json.dumps(rows)
    return "id,notes,condition\n" + "\n".join(
        f"{r['id']},{r['notes'] or ''},{r['condition'] or ''}" for r in rows)


@_query.field("recordStats")
def _stats(_: Any, info: GraphQLResolveInfo[Context]) -> Doc:
    ctx = _ctx(info)
    tenant_id, _ = ctx.active_tenant()
    counts: dict[str | None, int] = {}
    for doc in ctx.tenant_db(tenant_id).records.find({}, {"condition": 1}):
        counts[doc.get("condition")] = counts.get(doc.get("condition"), 0) + 1
    return {"total": sum(counts.values()),
            "byCondition": [{"condition": k, "count": v} for k, v in counts.items()]}


@_mutation.field("archiveRecord")
def _archive(_: Any, info: GraphQLResolveInfo[Context], input: dict[str, Any]) -> Doc:
    ctx = _ctx(info)
    data = adapt_input("archiveRecord", input)
    changed: Doc = adapt_output("archiveRecord",
                                records.update(ctx, {"id": data.get("id"), "location": "archive"}))
    return changed


@_mutation.field("deleteAccount")
def _delete_account(_: Any, info: GraphQLResolveInfo[Context], confirm: bool) -> bool:
    ctx = _ctx(info)
    me = ctx.user_id()
    if not confirm:
        return False
    # Only asks for the deletion, which an operator carries out: nothing is removed here.
    ctx.registry.users.update_one({"_id": ObjectId(me)},
                                  {"$set": {"deletionRequestedAt": dt.datetime.now(dt.UTC)}})
    return True


_record_result = UnionType("RecordResult")


@_record_result.type_resolver
def _record_type(obj: Any, *_: Any) -> str:
    return "NotFound" if isinstance(obj, dict) and obj.get("__typename") == "NotFound" else "Record"


def bindables() -> list[Any]:
    """What the dialects add to the executable schema."""
    out: list[Any] = []
    if dialects.active("extra-operations"):
        out += [_query, _mutation]
    if dialects.active("union-results"):
        out.append(_record_result)
    return out
