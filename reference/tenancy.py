"""Registry layout and tenant naming, exactly as the contract (section 4) states them."""

from __future__ import annotations

import hashlib

from pymongo import ASCENDING
from pymongo.database import Database

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


def ensure_registry_indexes(db: Database) -> None:  # type: ignore[type-arg]
    db.users.create_index("githubLogin", unique=True)
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
    db.sessions.create_index("expires", expireAfterSeconds=0)
