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
ROLES = ("ADMIN", "MEMBER", "VIEWER")
WRITER_ROLES = ("ADMIN", "MEMBER")


def tenant_database(tenant_id: str) -> str:
    return "vv_" + hashlib.sha256(tenant_id.encode()).hexdigest()[:12]


def personal_tenant(user_id_hex: str) -> str:
    return f"user_{user_id_hex}"


def org_tenant(github_org_id: str | int) -> str:
    return f"org_{github_org_id}"


def _ensure_index(collection: Collection, key: str, **options: Any) -> None:  # type: ignore[type-arg]
    """Create the single-field index on `key` with exactly `options`, dropping one that differs.

    A state directory outlives the processes, so an index made under another fault setting
    may already exist; create_index alone would refuse it (IndexOptionsConflict) or keep it.
    """
    for spec in collection.list_indexes():
        if list(spec["key"]) == [key]:
            # Compare the options that make the faults; expireAfterSeconds=0 is falsy but a TTL.
            if (bool(spec.get("unique")) == bool(options.get("unique"))
                    and spec.get("expireAfterSeconds") == options.get("expireAfterSeconds")):
                return
            collection.drop_index(spec["name"])
    collection.create_index(key, **options)


def ensure_registry_indexes(db: Database) -> None:  # type: ignore[type-arg]
    # Fault no-unique-index: nothing stops two users with the same GitHub login.
    unique_login = not faults.active("no-unique-index")
    _ensure_index(db.users, "githubLogin", **({"unique": True} if unique_login else {}))
    db.installations.create_index("installation_id", unique=True)
    db.user_installation_roles.create_index(
        [("user_id", ASCENDING), ("installation_id", ASCENDING)], unique=True
    )
    db.friend_requests.create_index(
        [("requesterId", ASCENDING), ("recipientId", ASCENDING)], unique=True
    )
    db.tenants.create_index("tenantId", unique=True)
    db.user_tenant_roles.create_index([("userId", ASCENDING), ("tenantId", ASCENDING)], unique=True)


def ensure_session_indexes(db: Database) -> None:  # type: ignore[type-arg]
    # connect-mongo's autoRemove 'native': MongoDB's TTL monitor deletes expired sessions.
    if faults.active("no-ttl-index"):
        _ensure_index(db.sessions, "expires")  # Fault: expired sessions pile up forever.
    else:
        _ensure_index(db.sessions, "expires", expireAfterSeconds=0)
