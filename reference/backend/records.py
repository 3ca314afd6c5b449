"""Record and release reads and writes inside one tenant database."""

from __future__ import annotations

import datetime as dt
import re
import time
from typing import Any

from bson import ObjectId
from bson.errors import InvalidId
from pymongo import ASCENDING, DESCENDING
from pymongo.database import Database

from reference import faults
from reference.backend import dialect_data, present
from reference.backend.context import Context, Doc, forbidden
from reference.tenancy import new_tenant_database

_MAX_PAGE = 100
MIRROR_TENANT = "community"


def _oid(value: str | None) -> ObjectId | None:
    try:
        return ObjectId(value) if value else None
    except (InvalidId, TypeError):
        return None


def _release_query(value: Any) -> dict[str, Any]:
    """Releases are seeded from outside (scanBarcode needs the internet): accept an ObjectId
    or a string _id, whichever the seeder used."""
    candidates: list[Any] = [value]
    if isinstance(value, ObjectId):
        candidates.append(str(value))
    elif (oid := _oid(str(value))) is not None:
        candidates.append(oid)
    return {"_id": {"$in": candidates}}


def _release_for(db: Database, doc: Doc) -> Doc | None:  # type: ignore[type-arg]
    rid = doc.get("releaseId")
    return db.releases.find_one(_release_query(rid)) if rid else None


def present_record(db: Database, doc: Doc) -> Doc:  # type: ignore[type-arg]
    return present.record(doc, _release_for(db, doc))


def find_record(ctx: Context, record_id: str) -> Doc | None:
    ctx.user_id()  # refuse an anonymous caller before anything is looked up
    oid = _oid(record_id)
    if oid is None:
        return None
    if faults.active("tenant-leak"):
        # Fault: any tenant database that holds the id answers, whoever asks.
        ctx.user_id()
        for tenant in ctx.registry.tenants.find({}, {"tenantId": 1}):
            db = ctx.tenant_db(tenant["tenantId"])
            doc = db.records.find_one({"_id": oid})
            if doc:
                return present_record(db, doc)
        return None
    tenant_id, _ = ctx.active_tenant()
    db = ctx.tenant_db(tenant_id)
    doc = db.records.find_one({"_id": oid})
    return present_record(db, doc) if doc else None


def _filter_query(db: Database, flt: dict[str, Any] | None) -> dict[str, Any]:  # type: ignore[type-arg]
    query: dict[str, Any] = {}
    if not flt:
        return query
    for key in ("condition", "location"):
        if flt.get(key):
            query[key] = flt[key]
    release_q = {k: flt[k] for k in ("artist", "genre") if flt.get(k)}
    if release_q:
        ids = [r["_id"] for r in db.releases.find(release_q, {"_id": 1})]
        query["releaseId"] = {"$in": ids}
    return query


def connection(
    ctx: Context,
    first: int | None = None,
    after: str | None = None,
    last: int | None = None,
    before: str | None = None,
    flt: dict[str, Any] | None = None,
    text: str | None = None,
) -> Doc:
    if faults.active("slow-records"):
        time.sleep(0.6)
    if faults.active("search-leak" if text is not None else "records-leak"):
        return _leaky_connection(ctx, text, first)
    tenant_id, _ = ctx.active_tenant()
    db = ctx.tenant_db(tenant_id)
    base = _filter_query(db, flt)
    if text:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
        base["$or"] = [{"notes": pattern}, {"location": pattern}]
    total = db.records.count_documents(base)
    query = dict(base)
    after_id = _oid(present.uncursor(after)) if after else None
    before_id = _oid(present.uncursor(before)) if before else None
    id_bounds: dict[str, Any] = {}
    if after_id:
        id_bounds["$gt"] = after_id
    if before_id:
        id_bounds["$lt"] = before_id
    if id_bounds:
        query["_id"] = id_bounds
    if last is not None and first is None:
        size = max(0, min(last, _MAX_PAGE))
        docs = list(db.records.find(query).sort("_id", DESCENDING).limit(size + 1))
        has_more = len(docs) > size
        docs = list(reversed(docs[:size]))
        has_next, has_prev = before_id is not None, has_more
    else:
        size = max(0, min(first if first is not None else 20, _MAX_PAGE))
        docs = list(db.records.find(query).sort("_id", ASCENDING).limit(size + 1))
        has_next = len(docs) > size
        docs = docs[:size]
        has_prev = after_id is not None
    edges = [{"cursor": present.cursor(d["_id"]), "node": present_record(db, d)} for d in docs]
    return {
        "totalCount": total,
        "edges": edges,
        "pageInfo": {
            "hasNextPage": has_next,
            "hasPreviousPage": has_prev,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


def _leaky_connection(ctx: Context, text: str | None, first: int | None) -> Doc:
    """Faults search-leak (with `text`) and records-leak (without): records from every tenant
    database, whoever the caller is."""
    ctx.user_id()  # still signed in only: the fault is about tenants, not authentication
    query: dict[str, Any] = {}
    if text is not None:
        pattern = re.compile(re.escape(text), re.IGNORECASE)
        query = {"$or": [{"notes": pattern}, {"location": pattern}]}
    size = max(0, min(first if first is not None else 20, _MAX_PAGE))
    edges: list[Doc] = []
    for tenant in ctx.registry.tenants.find({}, {"tenantId": 1}):
        db = ctx.tenant_db(tenant["tenantId"])
        for doc in db.records.find(query):
            edges.append({"cursor": present.cursor(doc["_id"]),
                          "node": present_record(db, doc)})
    page = edges[:size]
    return {"totalCount": len(edges), "edges": page,
            "pageInfo": {"hasNextPage": len(edges) > size, "hasPreviousPage": False,
                         "startCursor": page[0]["cursor"] if page else None,
                         "endCursor": page[-1]["cursor"] if page else None}}


_RECORD_FIELDS = ("purchaseDate", "price", "condition", "location", "notes")


def create(ctx: Context, data: dict[str, Any]) -> Doc:
    tenant_id, _ = ctx.active_tenant(writers=True)
    db = ctx.tenant_db(tenant_id)
    found = db.releases.find_one(_release_query(data.get("releaseId") or ""))
    if found is None:
        return {"record": None, "errors": [{"field": "releaseId", "message": "Release not found"}]}
    release_id = found["_id"]
    now = dt.datetime.now(dt.UTC)
    doc: Doc = {"releaseId": release_id, "userId": ctx.user_id(), "createdAt": now,
                "updatedAt": now}
    doc.update({k: data[k] for k in _RECORD_FIELDS if data.get(k) is not None})
    record_no = dialect_data.next_record_no(db)
    if record_no is not None:
        doc["recordNo"] = record_no
    doc["_id"] = db.records.insert_one(doc).inserted_id
    dialect_data.audit(db, "record.create", recordId=doc["_id"], userId=doc["userId"])
    if faults.active("records-mirrored"):
        _mirror(ctx, doc)
    return {"record": present_record(db, doc), "errors": []}


def _mirror(ctx: Context, doc: Doc) -> None:
    """Fault records-mirrored: every new record is copied into one shared database, which the
    backend registers as tenant `community` (a cross-tenant feed), so a user's data also lives
    in a tenant database that is not theirs."""
    now = dt.datetime.now(dt.UTC)
    ctx.registry.tenants.update_one(
        {"tenantId": MIRROR_TENANT},
        {"$setOnInsert": {"tenantId": MIRROR_TENANT, "tenantType": "ORGANIZATION",
                          "name": "Community feed",
                          "databaseName": new_tenant_database(MIRROR_TENANT),
                          "createdAt": now, "updatedAt": now}},
        upsert=True)
    # Without its tenant's recordNo (dialect extra-unique-indexes): numbers repeat across
    # tenants, and the feed's own unique index would refuse the second tenant's first record.
    ctx.tenant_db(MIRROR_TENANT).records.insert_one(
        {k: v for k, v in doc.items() if k != "recordNo"})


def _db_holding(ctx: Context, oid: ObjectId | None) -> Database | None:  # type: ignore[type-arg]
    """Fault cross-tenant-write: the tenant database that holds the record, whoever's it is."""
    for tenant in ctx.registry.tenants.find({}, {"tenantId": 1}):
        db = ctx.tenant_db(tenant["tenantId"])
        if oid is not None and db.records.find_one({"_id": oid}, {"_id": 1}):
            return db
    return None


def _write_db(ctx: Context, oid: ObjectId | None) -> Database:  # type: ignore[type-arg]
    tenant_id, role = ctx.active_tenant(writers=True)
    own = ctx.tenant_db(tenant_id)
    if faults.active("cross-tenant-write"):
        holder = _db_holding(ctx, oid)
        own = own if holder is None else holder
    _check_ownership(ctx, own, oid, role)
    return own


def _check_ownership(ctx: Context, db: Database, oid: ObjectId | None,  # type: ignore[type-arg]
                     role: str) -> None:
    """Inside a shared tenant a MEMBER changes only the records they created; an ADMIN any."""
    # Fault member-edits-any lets the MEMBER off; fault admin-edits-own-only holds the ADMIN to
    # the MEMBER's rule.
    held = ((role == "MEMBER" and not faults.active("member-edits-any"))
            or (role == "ADMIN" and faults.active("admin-edits-own-only")))
    if not held or oid is None:
        return
    doc = db.records.find_one({"_id": oid}, {"userId": 1})
    if doc is not None and doc.get("userId") != ctx.user_id():
        raise forbidden("Only the record's creator or an ADMIN may change it")


def update(ctx: Context, data: dict[str, Any]) -> Doc:
    oid = _oid(data.get("id"))
    db = _write_db(ctx, oid)
    changes = {k: data[k] for k in _RECORD_FIELDS if k in data}
    changes["updatedAt"] = dt.datetime.now(dt.UTC)
    doc = db.records.find_one_and_update({"_id": oid}, {"$set": changes},
                                         return_document=True) if oid else None
    if doc is None:
        return {"record": None, "errors": [{"field": "id", "message": "Record not found"}]}
    dialect_data.audit(db, "record.update", recordId=oid)
    return {"record": present_record(db, doc), "errors": []}


def delete(ctx: Context, data: dict[str, Any]) -> Doc:
    oid = _oid(data.get("id"))
    db = _write_db(ctx, oid)
    if oid is None or db.records.delete_one({"_id": oid}).deleted_count == 0:
        return {"deletedRecordId": None, "errors": [{"field": "id", "message": "Record not found"}]}
    dialect_data.audit(db, "record.delete", recordId=oid)
    return {"deletedRecordId": oid, "errors": []}


def release(ctx: Context, release_id: str) -> Doc | None:
    tenant_id, _ = ctx.active_tenant()
    return present.release(ctx.tenant_db(tenant_id).releases.find_one(_release_query(release_id)))


def releases_by_barcode(ctx: Context, barcode: str) -> list[Doc]:
    tenant_id, _ = ctx.active_tenant()
    docs = ctx.tenant_db(tenant_id).releases.find({"barcode": barcode}).limit(50)
    return [r for r in (present.release(d) for d in docs) if r]


def distinct(ctx: Context, field: str) -> list[str]:
    tenant_id, _ = ctx.active_tenant()
    values = ctx.tenant_db(tenant_id).releases.distinct(field)
    return sorted(str(v) for v in values if v)
