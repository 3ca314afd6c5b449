"""Registry layout and tenant naming, exactly as the contract (section 4) states them."""

from __future__ import annotations

import hashlib
from typing import Any

from pymongo import ASCENDING
from pymongo.collection import Collection
from pymongo.database import Database

from reference import faults

REGISTRY_DB = "vinylvault_registry"
SESSION_DB = "vinylvault_bff"
REGISTRY_COLLECTIONS = ("users", "tenants", "user_tenant_roles", "installations",
                        "user_installation_roles", "friend_requests")
ROLES = ("ADMIN", "MEMBER", "VIEWER")
WRITER_ROLES = ("ADMIN", "MEMBER")


def tenant_database(tenant_id: str) -> str:
    return "vv_" + hashlib.sha256(tenant_id.encode()).hexdigest()[:12]


def personal_tenant(user_id_hex: str) -> str:
    return f"user_{user_id_hex}"


def org_tenant(github_org_id: str | int) -> str:
    return f"org_{github_org_id}"


def new_tenant_database(tenant_id: str) -> str:
    """The databaseName the backend records for a tenant it creates."""
    if faults.active("tenant-db-name"):
        return f"vv_{tenant_id}"  # Fault: a readable name in place of the hash.
    return tenant_database(tenant_id)


def _ensure_index(collection: Collection, keys: tuple[str, ...],  # type: ignore[type-arg]
                  **options: Any) -> None:
    """Create the ascending index on `keys` with exactly `options`, dropping one that differs.

    A state directory outlives the processes, so an index made under another fault setting
    may already exist; create_index alone would refuse it (IndexOptionsConflict) or keep it.
    """
    for spec in collection.list_indexes():
        if tuple(spec["key"]) == keys:
            # Compare the options that make the faults; expireAfterSeconds=0 is falsy but a TTL.
            if (bool(spec.get("unique")) == bool(options.get("unique"))
                    and spec.get("expireAfterSeconds") == options.get("expireAfterSeconds")):
                return
            collection.drop_index(spec["name"])
    collection.create_index([(k, ASCENDING) for k in keys], **options)


def _unique_unless(fault: str) -> dict[str, Any]:
    return {} if faults.active(fault) else {"unique": True}


def _drop_indexes(collection: Collection) -> None:  # type: ignore[type-arg]
    for spec in collection.list_indexes():
        if spec["name"] != "_id_":
            collection.drop_index(spec["name"])


def ensure_registry_indexes(db: Database) -> None:  # type: ignore[type-arg]
    if faults.active("bare-registry"):
        # Fault: a registry the backend never set up; drop what a run without the fault made.
        for name in REGISTRY_COLLECTIONS:
            _drop_indexes(db[name])
        return
    # The no-unique-* faults: a plain index lets duplicates in where the contract has none.
    _ensure_index(db.users, ("githubLogin",), **_unique_unless("no-unique-index"))
    _ensure_index(db.installations, ("installation_id",),
                  **_unique_unless("no-unique-installation"))
    _ensure_index(db.user_installation_roles, ("user_id", "installation_id"),
                  **_unique_unless("no-unique-installation-role"))
    _ensure_index(db.friend_requests, ("requesterId", "recipientId"),
                  **_unique_unless("no-unique-friend-request"))
    _ensure_index(db.tenants, ("tenantId",), unique=True)
    _ensure_index(db.user_tenant_roles, ("userId", "tenantId"), unique=True)


def ensure_session_indexes(db: Database) -> None:  # type: ignore[type-arg]
    if faults.active("bare-session-store"):
        # Fault: a store the BFF never set up; drop what a run without the fault made.
        _drop_indexes(db.sessions)
    elif faults.active("no-ttl-index"):
        _ensure_index(db.sessions, ("expires",))  # Fault: expired sessions pile up forever.
    else:
        # connect-mongo's autoRemove 'native': MongoDB's TTL monitor deletes expired sessions.
        _ensure_index(db.sessions, ("expires",), expireAfterSeconds=0)
